"""The webhook: Telegram's secret header or nothing; a good call is dispatched and answered through the
fake Bot API server; setting and deleting the webhook with the management command."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from bots.models import Bot
from bots.tests.factories import make_bot
from telegram_bot.tests.chats import ALICE_TG, linked_user

pytestmark = pytest.mark.django_db
URL = "/telegram/webhook"
HEADER = "HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN"


def post(client, update, **headers):
    return client.post(URL, data=json.dumps(update), content_type="application/json", **headers)


@pytest.fixture
def alice(fake_telegram):
    user = linked_user("alice", ALICE_TG)
    make_bot(user, name="rsi bot", status=Bot.Status.RUNNING)
    fake_telegram.calls.clear()  # the deep link asked for the bot's name
    return user


def test_the_url(fake_telegram):
    assert reverse("telegram_bot:webhook") == URL


@pytest.mark.parametrize("headers", [
    {},
    {HEADER: ""},
    {HEADER: "wrong"},
    {HEADER: "webhook-secret-for-tests_012345678"},  # one character short
    {HEADER: "webhook-secret-for-tests_0123456789x"},
    {"HTTP_X_TELEGRAM_BOT_API_SECRET": "webhook-secret-for-tests_0123456789"},  # the wrong header
])
def test_a_wrong_or_missing_secret_header_is_refused_and_nothing_happens(client, alice, fake_telegram, headers):
    response = post(client, fake_telegram.message_update(ALICE_TG, "/pause rsi bot"), **headers)
    assert response.status_code == 403
    assert Bot.objects.get(name="rsi bot").status == Bot.Status.RUNNING
    assert fake_telegram.calls == []


def test_the_right_secret_dispatches_and_answers_through_the_bot_api(client, alice, fake_telegram, settings):
    update = fake_telegram.message_update(ALICE_TG, "/pause rsi bot")
    response = post(client, update, **{HEADER: settings.TELEGRAM_WEBHOOK_SECRET})
    assert response.status_code == 200
    assert Bot.objects.get(name="rsi bot").status == Bot.Status.PAUSED
    assert [(m["chat_id"], m["text"]) for m in fake_telegram.sent] == [(ALICE_TG, "rsi bot: Paused.")]


def test_a_stranger_through_the_webhook_gets_only_the_refusal(client, alice, fake_telegram, settings):
    response = post(client, fake_telegram.message_update(999, "/status"), **{HEADER: settings.TELEGRAM_WEBHOOK_SECRET})
    assert response.status_code == 200
    assert len(fake_telegram.sent) == 1 and fake_telegram.sent[0]["text"].startswith("Link your account first")


def test_the_webhook_is_off_without_a_secret_or_a_token(client, alice, fake_telegram, settings):
    update = fake_telegram.message_update(ALICE_TG, "/pause rsi bot")
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    assert post(client, update, **{HEADER: ""}).status_code == 404
    settings.TELEGRAM_WEBHOOK_SECRET = "s3cret"
    settings.TELEGRAM_BOT_TOKEN = ""
    assert post(client, update, **{HEADER: "s3cret"}).status_code == 404
    assert Bot.objects.get(name="rsi bot").status == Bot.Status.RUNNING


@pytest.mark.parametrize("body", ["not json", "[1, 2]", json.dumps({"update_id": "x", "message": 5})])
def test_a_body_that_is_not_an_update_is_a_400(client, alice, fake_telegram, settings, body):
    response = client.post(URL, data=body, content_type="application/json",
                           **{HEADER: settings.TELEGRAM_WEBHOOK_SECRET})
    assert response.status_code == 400
    assert fake_telegram.sent == []


def test_get_is_not_allowed(client, fake_telegram, settings):
    assert client.get(URL, **{HEADER: settings.TELEGRAM_WEBHOOK_SECRET}).status_code == 405


def test_set_and_delete_the_webhook(fake_telegram, settings, capsys):
    call_command("telegram", "--set-webhook", "https://trade.example.org/telegram/webhook")
    assert fake_telegram.webhook["url"] == "https://trade.example.org/telegram/webhook"
    assert fake_telegram.webhook["secret_token"] == settings.TELEGRAM_WEBHOOK_SECRET
    assert fake_telegram.webhook["allowed_updates"] == ["message", "callback_query"]
    call_command("telegram", "--info")
    assert "Webhook: https://trade.example.org/telegram/webhook" in capsys.readouterr().out
    call_command("telegram", "--delete-webhook")
    assert fake_telegram.webhook is None


def test_setting_a_webhook_without_a_secret_is_refused(fake_telegram, settings):
    settings.TELEGRAM_WEBHOOK_SECRET = ""
    with pytest.raises(CommandError, match="TELEGRAM_WEBHOOK_SECRET"):
        call_command("telegram", "--set-webhook", "https://trade.example.org/telegram/webhook")
    assert fake_telegram.calls == []


def test_a_rejected_token_is_a_clear_error_without_the_token(fake_telegram, settings):
    settings.TELEGRAM_BOT_TOKEN = "123456789:AAsomeOtherTokenThatIsWrong-abcdefghijk"
    with pytest.raises(CommandError) as raised:
        call_command("telegram", "--info")
    assert "InvalidToken" in str(raised.value) and "AAsomeOtherToken" not in str(raised.value)
