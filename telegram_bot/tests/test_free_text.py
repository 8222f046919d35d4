"""Free text from a linked chat goes to the trading assistant (door "telegram"): a command comes back with
Confirm / Cancel buttons bound to the command service's pending id; a press places exactly one order, a second
press nothing more; a press from another user's chat, or on another user's id, does nothing. The real
python-telegram-bot client sends the answers to the fake Bot API server."""

from decimal import Decimal as D

import pytest

from assistant.models import AssistantRequest
from bots.models import Order
from bots.tests.factories import make_account
from commands.models import Activity
from exchanges.models import ExchangeAccount
from telegram_bot import client
from telegram_bot.actions import AnswerCallback, EditMessage, Reply, perform_all
from telegram_bot.tests.chats import ALICE_TG, BOB_TG, linked_user, press, say

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offline_assistant(settings):
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.ASSISTANT_REQUESTS_PER_MINUTE = 0


@pytest.fixture
def alice(fake_telegram, fake_exchange):
    user = linked_user("alice", ALICE_TG)
    make_account(user, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    return user


def buttons_of(reply: Reply) -> dict:
    return {b.label: b.data for row in reply.buttons for b in row}


def test_free_text_confirm_button_places_exactly_one_order(fake_telegram, alice):
    (reply,) = say(fake_telegram, ALICE_TG, "buy 100 USDT of BTC")
    assert isinstance(reply, Reply) and reply.chat_id == ALICE_TG
    assert reply.text.startswith("Buy 0.00499 BTC at market on Paper")
    activity = Activity.objects.get()
    assert (activity.status, activity.door) == ("pending", "telegram")
    assert buttons_of(reply) == {"Confirm": f"pc:c:{activity.pending_id}", "Cancel": f"pc:x:{activity.pending_id}"}
    assert not Order.objects.exists()
    client.run(lambda bot: reply.perform(bot))  # the real client sends the keyboard
    assert fake_telegram.sent[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("pc:c:")

    actions = press(fake_telegram, ALICE_TG, buttons_of(reply)["Confirm"], message_id=5, message_text=reply.text)
    assert isinstance(actions[0], AnswerCallback) and actions[0].text.startswith("Bought 0.00499 BTC")
    assert isinstance(actions[1], EditMessage) and actions[1].text.startswith(reply.text + "\n\nBought 0.00499 BTC")
    assert Order.objects.get().filled == D("0.00499")

    async def send(bot):
        return await perform_all(bot, actions)

    assert client.run(send) == 0
    assert fake_telegram.edits[-1]["message_id"] == 5

    again = press(fake_telegram, ALICE_TG, buttons_of(reply)["Confirm"], message_id=5)
    assert "already done" in again[0].text and Order.objects.count() == 1
    cancel_late = press(fake_telegram, ALICE_TG, buttons_of(reply)["Cancel"], message_id=5)
    assert "already done" in cancel_late[0].text and Order.objects.count() == 1
    request = AssistantRequest.objects.get()
    assert (request.door, request.outcome) == ("telegram", "executed")


def test_cancel_button_does_nothing(fake_telegram, alice):
    (reply,) = say(fake_telegram, ALICE_TG, "buy 0.001 btc")
    actions = press(fake_telegram, ALICE_TG, buttons_of(reply)["Cancel"])
    assert actions[0].text.startswith("Canceled")
    assert press(fake_telegram, ALICE_TG, buttons_of(reply)["Confirm"])[0].text.startswith("This command is already")
    assert not Order.objects.exists() and Activity.objects.get().status == "canceled"


def test_another_users_press_on_the_button_does_nothing(fake_telegram, alice):
    (reply,) = say(fake_telegram, ALICE_TG, "buy 0.001 btc")
    linked_user("bob", BOB_TG)
    confirm_data = buttons_of(reply)["Confirm"]
    # Bob presses alice's id in his own chat (a forwarded or forged button), then in alice's chat.
    assert press(fake_telegram, BOB_TG, confirm_data)[0].text == "This button is no longer valid."
    assert press(fake_telegram, BOB_TG, confirm_data, chat_id=ALICE_TG)[0].text == "This button is not for this chat."
    assert not Order.objects.exists() and Activity.objects.get().status == "pending"


def test_questions_and_answers_come_back_as_plain_messages(fake_telegram, alice):
    (question,) = say(fake_telegram, ALICE_TG, "buy BTC")
    assert question.text.startswith("How much BTC") and question.buttons == ()
    (price,) = say(fake_telegram, ALICE_TG, "ราคา BTC")
    assert "BTC/USDT on binance: 20,000.00 USDT" in price.text, price.text
    assert not Activity.objects.exists()


def test_an_unlinked_chat_never_reaches_the_assistant(fake_telegram, alice):
    (reply,) = say(fake_telegram, 333_000_333, "buy 100 USDT of BTC")
    assert reply.text.startswith("Link your account first")
    assert not AssistantRequest.objects.exists() and not Activity.objects.exists()


def test_a_question_with_choices_gets_a_button_per_choice_and_a_pick_proposes(fake_telegram, alice, fake_exchange):
    live = make_account(alice, label="Binance", mode=ExchangeAccount.Mode.LIVE)
    live.api_key, live.api_secret = fake_exchange.api_key, fake_exchange.api_secret
    live.save()
    (question,) = say(fake_telegram, ALICE_TG, "buy 0.001 BTC")
    assert "Which one?" in question.text
    request = AssistantRequest.objects.get()
    choices = {b.label: b.data for row in question.buttons for b in row}
    assert choices["Binance (binance, live)"] == f"ap:{request.pk}:a:{live.pk}"
    assert all(len(data.encode()) <= 64 for data in choices.values())
    client.run(lambda bot: question.perform(bot))

    actions = press(fake_telegram, ALICE_TG, choices["Binance (binance, live)"], message_id=7,
                    message_text=question.text)
    edit = actions[1]
    assert isinstance(edit, EditMessage) and edit.text.startswith("Buy 0.001 BTC at market on Binance")
    activity = Activity.objects.get()
    assert [b.data for b in edit.buttons[0]] == [f"pc:c:{activity.pending_id}", f"pc:x:{activity.pending_id}"]
    assert fake_exchange.orders == []

    async def send(bot):
        return await perform_all(bot, actions)

    assert client.run(send) == 0
    assert fake_telegram.edits[-1]["reply_markup"]["inline_keyboard"][0][0]["callback_data"].startswith("pc:c:")
    press(fake_telegram, ALICE_TG, f"pc:c:{activity.pending_id}", message_id=7, message_text=edit.text)
    assert len(fake_exchange.orders) == 1


def test_a_pick_on_someone_elses_request_does_nothing(fake_telegram, alice):
    say(fake_telegram, ALICE_TG, "buy BTC")
    request = AssistantRequest.objects.get()
    linked_user("bob", BOB_TG)
    (answer,) = press(fake_telegram, BOB_TG, f"ap:{request.pk}:a:1")
    assert answer.text == "This button is no longer valid."
    assert AssistantRequest.objects.count() == 1 and not Activity.objects.exists()
