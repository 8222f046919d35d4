"""The bot token never reaches a log line (any level), a page, the admin or an error report."""

import io
import logging

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from telegram_bot import client
from telegram_bot.redaction import MASK, RedactTelegramToken
from telegram_bot.tests.chats import ALICE_TG, linked_user, say

pytestmark = pytest.mark.django_db


@pytest.fixture
def console():
    """The console handler settings.LOGGING installs, writing into a buffer for the test."""
    handler = next(h for h in logging.getLogger().handlers
                   if any(isinstance(f, RedactTelegramToken) for f in h.filters))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


@pytest.fixture
def debug_everywhere():
    """As if someone lifted the caps: httpx, httpcore and python-telegram-bot at DEBUG."""
    names = ("httpx", "httpcore", "telegram", "")
    before = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


def secret_forms(token: str) -> list[str]:
    from urllib.parse import quote

    return [token, token.split(":", 1)[1], quote(token, safe="")]


def test_the_loggers_that_print_urls_are_capped():
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING
    assert logging.getLogger("telegram").level == logging.INFO


def test_the_console_handler_redacts_messages_arguments_and_tracebacks(fake_telegram, console):
    token = fake_telegram.token
    log = logging.getLogger("tradingbot.test")
    log.warning("calling %s/bot%s/getMe", fake_telegram.url, token)
    log.warning(f"an f-string with {token.split(':')[1]} inside")
    try:
        raise RuntimeError(f"The token `{token}` was rejected by the server.")
    except RuntimeError:
        log.exception("it failed")
    written = console.getvalue()
    assert written.count(MASK) == 3 and "getMe" in written and "was rejected" in written
    for form in secret_forms(token):
        assert form not in written


def test_real_clients_at_debug_level_print_no_token(fake_telegram, console, debug_everywhere):
    """python-telegram-bot logs its base URL and httpx every request URL at DEBUG/INFO: all of it masked."""
    client.run(lambda bot: bot.get_me())
    client.run(lambda bot: bot.send_message(chat_id=1, text="hello"))
    fake_telegram.inject("403")
    with pytest.raises(client.ChatBlocked):
        client.run(lambda bot: bot.send_message(chat_id=1, text="hello"))
    written = console.getvalue()
    assert "HTTP Request: POST" in written and "sendMessage" in written  # the debug lines were there
    for form in secret_forms(fake_telegram.token):
        assert form not in written


def test_a_rejected_token_error_does_not_carry_it(fake_telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = wrong = "987654321:AAanotherTokenThatTheServerRejects-xyz"

    async def initialize(bot):  # python-telegram-bot's own initialize() puts the token in its message
        await bot.initialize()

    with pytest.raises(client.TokenRejected) as raised:
        client.run(initialize)
    assert wrong.split(":")[1] not in str(raised.value) and raised.value.__cause__ is None
    assert raised.value.__suppress_context__  # the chain with python-telegram-bot's frames is cut


def test_the_client_repr_hides_the_token(fake_telegram):
    for cls in (client.PlatformBot, client.PlatformExtBot):
        shown = repr(client.build_bot(cls))
        assert fake_telegram.token.split(":")[1] not in shown and "token=" in shown


def test_error_reports_hide_the_telegram_settings(rf, fake_telegram):
    from django.views.debug import get_default_exception_reporter_filter

    safe = get_default_exception_reporter_filter().get_safe_settings()
    assert fake_telegram.token not in str(safe)
    assert set(safe["TELEGRAM_BOT_TOKEN"]) == {"*"} and set(safe["TELEGRAM_WEBHOOK_SECRET"]) == {"*"}


def test_pages_and_admin_never_show_the_token(client, fake_telegram):
    alice = linked_user("alice", ALICE_TG)
    say(fake_telegram, ALICE_TG, "/status")
    root = get_user_model().objects.create_superuser("root", password="correct-horse-battery-2")
    pages = []
    client.force_login(alice)
    pages += [client.get(reverse("accounts:settings")), client.post(reverse("telegram_bot:link"))]
    client.force_login(root)
    for model in ("telegramlink", "linktoken"):
        pages.append(client.get(reverse(f"admin:telegram_bot_{model}_changelist")))
    link_id = alice.telegram_link.pk
    pages.append(client.get(reverse("admin:telegram_bot_telegramlink_change", args=[link_id])))
    for page in pages:
        assert page.status_code == 200
        body = page.content.decode()
        for form in secret_forms(fake_telegram.token):
            assert form not in body
