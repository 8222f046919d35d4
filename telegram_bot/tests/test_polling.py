"""Long polling end to end: `manage.py telegram` in its own process against the fake Bot API server and the
test database; a chat links with the deep-link token, pauses a bot, presses a button; SIGTERM or SIGINT
stops it cleanly."""

import signal
import subprocess

import pytest

from bots.models import Bot
from bots.tests.factories import make_bot, make_user
from telegram_bot import linking
from telegram_bot.models import TelegramLink
from telegram_bot.tests.chats import ALICE_TG
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.mark.parametrize("stop_with", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_polling_links_answers_and_stops_cleanly(fake_telegram, stop_with):
    alice = make_user("alice")
    make_bot(alice, name="rsi bot", status=Bot.Status.RUNNING)
    token = linking.new_link(alice).token
    env = env_for_test_database(TELEGRAM_BOT_TOKEN=fake_telegram.token, TELEGRAM_API_BASE_URL=fake_telegram.url,
                                TELEGRAM_BOT_USERNAME="", LOG_LEVEL="DEBUG")
    proc = subprocess.Popen([PYTHON, "manage.py", "telegram", "--poll-timeout", "1"], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        fake_telegram.wait_for(lambda: fake_telegram.calls_of("getUpdates"), timeout=60)
        assert fake_telegram.calls_of("deleteWebhook"), "long polling starts by removing a webhook"

        fake_telegram.push_message(ALICE_TG, f"/start {token}", username="alice_tg")
        linked = fake_telegram.wait_for(lambda: fake_telegram.sent_to(ALICE_TG), timeout=30)
        assert linked[0]["text"].startswith("Linked to your account alice.")
        assert TelegramLink.objects.get(user=alice).telegram_user_id == ALICE_TG

        fake_telegram.push_message(ALICE_TG, "/pause rsi bot")
        fake_telegram.wait_for(lambda: len(fake_telegram.sent_to(ALICE_TG)) == 2, timeout=30)
        assert fake_telegram.sent_to(ALICE_TG)[1]["text"] == "rsi bot: Paused."
        assert Bot.objects.get(name="rsi bot").status == Bot.Status.PAUSED

        fake_telegram.push_callback(ALICE_TG, "pc:c:0123456789abcdef")
        answered = fake_telegram.wait_for(lambda: fake_telegram.answers, timeout=30)
        assert answered[0]["text"] == "This button is no longer valid."
        assert fake_telegram.edits == []
    finally:
        proc.send_signal(stop_with)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-3000:]
    assert "Telegram long polling as @tradingbot_test_bot" in out and "Telegram long polling stopped." in out
    # LOG_LEVEL=DEBUG: python-telegram-bot logs its URLs and httpx its requests; none shows the token.
    secret = fake_telegram.token.split(":", 1)[1]
    assert secret not in out and secret not in err
    assert "getUpdates" in err or "Application" in err  # the debug log was really there to be searched
