"""The Telegram edge: python-telegram-bot clients pointed at the configured Bot API server, and every
python-telegram-bot error mapped once, here, to what a caller does about it (retry later, wait, stop
writing to that chat, give up on the message). Nothing above this module sees a telegram.error class,
and no text that leaves it holds the token.
"""

import asyncio
import contextlib
import datetime as dt
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from telegram import Bot
from telegram import error as tg_error
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from telegram_bot import config
from telegram_bot.redaction import redact

# Sending: a dead Telegram costs a worker at most this long per attempt.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 5.0


class TelegramFailure(Exception):
    """A Bot API call that did not work; the text never holds the token."""

    temporary = False


class TelegramUnavailable(TelegramFailure):
    """Network error, timeout or a 5xx: try again later."""

    temporary = True


class RateLimited(TelegramFailure):
    """429: wait `retry_after` seconds before the next message."""

    temporary = True

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


class ChatBlocked(TelegramFailure):
    """403: the user blocked the bot (or deleted the chat); nothing more can be sent there."""


class MessageRefused(TelegramFailure):
    """400: Telegram refuses this message (bad chat id, text too long); retrying will not help."""


class TokenRejected(TelegramFailure):
    """401/404 on every call: TELEGRAM_BOT_TOKEN is wrong or revoked."""


class NotConfigured(TelegramFailure):
    """No TELEGRAM_BOT_TOKEN: Telegram is off."""


def retry_seconds(exc: tg_error.RetryAfter) -> float:
    with warnings.catch_warnings():  # an int today, a timedelta from the next major version
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, dt.timedelta) else float(value)


def map_error(exc: Exception) -> TelegramFailure:
    """One python-telegram-bot exception -> ours (BadRequest is a NetworkError subclass: order matters)."""
    text = redact(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, tg_error.RetryAfter):
        return RateLimited(text, retry_seconds(exc))
    if isinstance(exc, tg_error.Forbidden):
        return ChatBlocked(text)
    if isinstance(exc, tg_error.InvalidToken):
        return TokenRejected(text)
    if isinstance(exc, tg_error.BadRequest):
        return MessageRefused(text)
    if isinstance(exc, (tg_error.TimedOut, tg_error.NetworkError)):
        return TelegramUnavailable(text)
    return TelegramFailure(text)


class _MaskedRepr:
    def __repr__(self) -> str:  # python-telegram-bot's own repr prints the token
        return f"{type(self).__name__}[token={'<telegram-token>' if self.token else ''}]"


class PlatformBot(_MaskedRepr, Bot):
    """A Bot whose repr (debug pages, tracebacks with locals) does not show the token."""


class PlatformExtBot(_MaskedRepr, ExtBot):
    """The same for the polling Application (python-telegram-bot's ext wants an ExtBot)."""


def http_request(*, connect_timeout: float = CONNECT_TIMEOUT, read_timeout: float = READ_TIMEOUT) -> HTTPXRequest:
    return HTTPXRequest(connection_pool_size=8, connect_timeout=connect_timeout, read_timeout=read_timeout,
                        write_timeout=read_timeout, pool_timeout=connect_timeout)


def build_bot(cls=PlatformBot, *, request: HTTPXRequest | None = None, get_updates_request: HTTPXRequest | None = None):
    """A bot client for the configured token and Bot API server (not yet connected)."""
    if not config.enabled():
        raise NotConfigured("Telegram is off: TELEGRAM_BOT_TOKEN is not set.")
    return cls(settings.TELEGRAM_BOT_TOKEN, base_url=config.api_url(), base_file_url=config.file_url(),
               request=request or http_request(), get_updates_request=get_updates_request or http_request())


@contextlib.asynccontextmanager
async def open_bot(**timeouts):
    """A connected client (its HTTP connections opened without the getMe of Bot.initialize), closed after."""
    requests = (http_request(**timeouts), http_request(**timeouts))
    bot = build_bot(request=requests[0], get_updates_request=requests[1])
    await asyncio.gather(*(r.initialize() for r in requests))
    try:
        yield bot
    finally:
        await asyncio.gather(*(r.shutdown() for r in requests), return_exceptions=True)


async def call(fn: Callable[[Bot], Awaitable[Any]], **timeouts) -> Any:
    """`await fn(bot)` on a fresh client; python-telegram-bot errors come out mapped (their chain cut, so a
    traceback never shows the frames that held the URL)."""
    async with open_bot(**timeouts) as bot:
        try:
            with warnings.catch_warnings():
                # python-telegram-bot 22 warns, as it builds a RetryAfter, that retry_after becomes a timedelta
                # in its next major version; retry_seconds reads both.
                warnings.filterwarnings("ignore", message=".*`retry_after`.*", category=PTBDeprecationWarning)
                return await fn(bot)
        except tg_error.TelegramError as exc:
            raise map_error(exc) from None


def run(fn: Callable[[Bot], Awaitable[Any]], **timeouts) -> Any:
    """`call` from synchronous code (a worker task, a management command, a sync view)."""
    return asyncio.run(call(fn, **timeouts))
