"""Keeps the Telegram bot token out of log lines and error texts: every Bot API URL contains it, and
httpx, python-telegram-bot and its exceptions (InvalidToken) all print URLs or the token itself."""

import logging
from urllib.parse import quote

from tradingbot.log_redaction import REDACTED
from tradingbot.log_redaction import redact as redact_registered

# The same mask as every other secret (tradingbot.log_redaction, whose filter also sits on the handlers): this
# filter is the second line of defence, for a token set after start-up (tests) or in a form it does not know.
MASK = REDACTED


def _secret_forms() -> list[str]:
    from django.conf import settings

    try:
        token = settings.TELEGRAM_BOT_TOKEN
    except Exception:  # settings not configured yet (a log line at start-up)
        return []
    if not token:
        return []
    secret = token.split(":", 1)[-1]  # the part after the bot id is what must never show
    forms = {token, quote(token, safe=""), secret}
    return sorted(forms, key=len, reverse=True)  # the whole token first, then its secret part alone


def redact(text: str) -> str:
    """`text` with the configured token (and its secret part, and its URL-encoded form) masked."""
    if not text:
        return text
    text = redact_registered(text)
    for form in _secret_forms():
        text = text.replace(form, MASK)
    return text


class RedactTelegramToken(logging.Filter):
    """A handler filter (settings.LOGGING): masks the token in the message, its arguments and the traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _secret_forms():
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the logging module's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
