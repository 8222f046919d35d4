"""The Confirm / Cancel buttons a pending command gets, and that a press on an unknown or malformed id answers
"no longer valid" and changes nothing (presses on real pending commands: test_free_text.py)."""

import pytest

from telegram_bot import client, confirmations
from telegram_bot.actions import AnswerCallback, EditMessage, perform_all
from telegram_bot.registry import BUTTONS, ButtonResult, button
from telegram_bot.tests.chats import ALICE_TG, linked_user, press

pytestmark = pytest.mark.django_db


def test_confirmation_buttons_carry_the_pending_id(fake_telegram):
    reply = confirmations.confirmation(ALICE_TG, "7f3a9c", "Sell 0.05991 BTC at market on Binance (live)?")
    assert reply.text == "Sell 0.05991 BTC at market on Binance (live)?"
    assert [[(b.label, b.data) for b in row] for row in reply.buttons] == [[("Confirm", "pc:c:7f3a9c"),
                                                                           ("Cancel", "pc:x:7f3a9c")]]
    # Sent with the real client: Telegram gets an inline keyboard.
    client.run(lambda bot: reply.perform(bot))
    markup = fake_telegram.sent[-1]["reply_markup"]
    assert markup == {"inline_keyboard": [[{"text": "Confirm", "callback_data": "pc:c:7f3a9c"},
                                           {"text": "Cancel", "callback_data": "pc:x:7f3a9c"}]]}


@pytest.mark.parametrize("pending_id", ["", "a:b", "x" * 60])
def test_a_pending_id_that_does_not_fit_a_button_is_refused(pending_id):
    with pytest.raises(ValueError):
        confirmations.confirmation(ALICE_TG, pending_id, "Sell?")


@pytest.mark.parametrize("data", ["pc:c:7f3a9c", "pc:x:7f3a9c", "pc:c:", "pc:zz:1", "unknown:1", ""])
def test_a_stale_press_answers_and_changes_nothing(fake_telegram, data):
    linked_user("alice", ALICE_TG)
    actions = press(fake_telegram, ALICE_TG, data, message_id=9)
    assert [(type(a), a.text) for a in actions] == [(AnswerCallback, "This button is no longer valid.")]


def test_a_button_kind_registered_later_answers_and_edits_its_message(fake_telegram):
    """How the lead's confirm handler will work: registered by prefix, the press is answered and the
    message edited (its buttons removed), through the real client."""
    alice = linked_user("alice", ALICE_TG)
    seen = []

    @button("demo")
    def demo(request):
        seen.append((request.user, request.payload, request.message_id, request.message_text))
        return ButtonResult("Done.", edit=f"{request.message_text}\n\nConfirmed.")

    try:
        actions = press(fake_telegram, ALICE_TG, "demo:42", message_id=9, message_text="Sell 0.05 BTC?")
    finally:
        BUTTONS.pop("demo")
    assert seen == [(alice, "42", 9, "Sell 0.05 BTC?")]
    assert actions[0] == AnswerCallback(actions[0].callback_query_id, "Done.")
    assert actions[1] == EditMessage(ALICE_TG, 9, "Sell 0.05 BTC?\n\nConfirmed.")

    async def send(bot):
        return await perform_all(bot, actions)

    assert client.run(send) == 0
    assert fake_telegram.answers[-1]["text"] == "Done."
    assert fake_telegram.edits[-1]["text"] == "Sell 0.05 BTC?\n\nConfirmed."
    assert fake_telegram.edits[-1]["message_id"] == 9
