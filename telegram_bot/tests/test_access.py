"""Deny by default: an unlinked chat, a group, or a chat that is not the sender's own gets one refusal for
every command (and for free text and buttons), and nothing is read or changed."""

import pytest

from accounts.models import Profile
from bots.models import Bot, BotEvent
from bots.tests.factories import make_bot
from telegram_bot.dispatcher import link_first, private_only
from telegram_bot.models import TelegramLink
from telegram_bot.registry import COMMANDS
from telegram_bot.tests.chats import ALICE_TG, BOB_TG, linked_user, press, say

pytestmark = pytest.mark.django_db
GROUP_ID = -1001234567890

# Each registered command with arguments that would do something for the owner.
ARGUMENTS = {"start_bot": "secret bot", "stop_bot": "secret bot", "pause": "secret bot", "resume": "secret bot",
             "profit": "7", "daily": "3", "trades": "5"}


def state():
    return (list(Bot.objects.values_list("name", "status").order_by("pk")),
            list(Profile.objects.values_list("user_id", "entries_stopped_at")),
            list(TelegramLink.objects.values_list("telegram_user_id", "user_id", "chat_id")),
            BotEvent.objects.count())


@pytest.fixture
def alice(fake_telegram):
    user = linked_user("alice", ALICE_TG)
    make_bot(user, name="secret bot", status=Bot.Status.RUNNING)
    return user


def messages():
    texts = [f"/{name} {ARGUMENTS.get(name, '')}".strip() for name in COMMANDS]
    return [*texts, "/start", "/unlink", "/no_such_command", "what is my balance?"]


CHATS = {
    # who sends, from which chat, and the only answer they may get
    "unlinked stranger": lambda: ({"telegram_id": BOB_TG}, link_first()),
    "linked user in a group": lambda: ({"telegram_id": ALICE_TG, "chat_id": GROUP_ID, "chat_type": "group"},
                                       private_only()),
    "stranger in a group with the user": lambda: ({"telegram_id": BOB_TG, "chat_id": GROUP_ID,
                                                   "chat_type": "supergroup"}, private_only()),
    "a private chat that is not the sender's": lambda: ({"telegram_id": BOB_TG, "chat_id": ALICE_TG}, private_only()),
}


@pytest.mark.parametrize("chat", CHATS)
@pytest.mark.parametrize("message", messages())
def test_every_command_from_a_chat_without_rights_gets_one_refusal(alice, fake_telegram, chat, message):
    before = state()
    who, refusal = CHATS[chat]()
    telegram_id = who.pop("telegram_id")
    actions = say(fake_telegram, telegram_id, message, **who)
    assert [(a.chat_id, a.text, a.buttons) for a in actions] == [(who.get("chat_id", telegram_id), refusal, ())]
    assert "secret bot" not in refusal and "alice" not in refusal
    assert state() == before


def test_the_registry_is_covered(alice):
    """A command added later is in the table above by construction; this guards the table's arguments."""
    assert set(ARGUMENTS) <= set(COMMANDS)
    assert {"start_bot", "stop_bot", "pause", "stopentry", "resume_entries", "status", "balance"} <= set(COMMANDS)


def test_a_user_blocked_from_the_platform_is_a_stranger(alice, fake_telegram):
    alice.is_active = False
    alice.save()
    before = state()
    for message in messages():
        actions = say(fake_telegram, ALICE_TG, message)
        assert [a.text for a in actions] == [link_first()]
    assert state() == before


@pytest.mark.parametrize("data", ["pc:c:1", "pc:x:1", "anything", ""])
def test_a_button_from_a_stranger_or_another_chat_does_nothing(alice, fake_telegram, data):
    before = state()
    stranger = press(fake_telegram, BOB_TG, data)
    assert [(type(a).__name__, a.text) for a in stranger] == [("AnswerCallback", link_first())]
    elsewhere = press(fake_telegram, ALICE_TG, data, chat_id=GROUP_ID)
    assert [(type(a).__name__, a.text) for a in elsewhere] == [("AnswerCallback", "This button is not for this chat.")]
    assert state() == before


def test_edits_stickers_and_channel_posts_are_ignored(alice, fake_telegram):
    from telegram import Update

    from telegram_bot.dispatcher import dispatch

    update = fake_telegram.message_update(BOB_TG, "/status")
    edited = {"update_id": update["update_id"], "edited_message": update["message"]}
    sticker = fake_telegram.message_update(ALICE_TG, "x")
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {"file_id": "f", "file_unique_id": "u", "width": 1, "height": 1,
                                     "is_animated": False, "is_video": False, "type": "regular"}
    channel = {"update_id": 5, "channel_post": {"message_id": 1, "date": 0, "chat": {"id": -100, "type": "channel"},
                                                 "text": "/status"}}
    for raw in (edited, sticker, channel):
        assert dispatch(Update.de_json(raw, None)) == []
