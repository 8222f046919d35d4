"""What the installation's Telegram bot is: on or off (a token or none), where its Bot API server is,
and its @username for deep links. Everything Telegram checks `enabled()` first."""

import logging

from django.conf import settings
from django.core.cache import cache

log = logging.getLogger(__name__)

USERNAME_CACHE_KEY = "telegram:bot-username"
USERNAME_TTL = 24 * 3600
USERNAME_RETRY_AFTER = 60  # a failed getMe is not asked again for this long (the Settings page stays fast)


def enabled() -> bool:
    return bool(settings.TELEGRAM_BOT_TOKEN)


def api_url() -> str:
    """The Bot API's method URL prefix; python-telegram-bot appends the token."""
    return f"{settings.TELEGRAM_API_BASE_URL}/bot"


def file_url() -> str:
    return f"{settings.TELEGRAM_API_BASE_URL}/file/bot"


def webhook_secret() -> str:
    return settings.TELEGRAM_WEBHOOK_SECRET


def bot_username() -> str:
    """The bot's @username (without @): TELEGRAM_BOT_USERNAME, else getMe, cached for a day; "" when
    Telegram cannot be asked right now (retried a minute later)."""
    if settings.TELEGRAM_BOT_USERNAME:
        return settings.TELEGRAM_BOT_USERNAME
    if not enabled():
        return ""
    known = cache.get(USERNAME_CACHE_KEY)
    if known is not None:
        return known
    from telegram_bot import client

    try:
        username = client.run(lambda bot: bot.get_me()).username or ""
    except client.TelegramFailure as exc:
        log.warning("Telegram getMe failed: %s", exc)
        cache.set(USERNAME_CACHE_KEY, "", USERNAME_RETRY_AFTER)
        return ""
    cache.set(USERNAME_CACHE_KEY, username, USERNAME_TTL)
    return username
