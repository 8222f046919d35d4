"""Test conversations: a linked user, and messages through the real dispatcher (as python-telegram-bot
parses them from the fake server's JSON)."""

from telegram import Update

from bots.tests.factories import make_user
from telegram_bot import linking
from telegram_bot.dispatcher import dispatch

ALICE_TG = 111_000_111
BOB_TG = 222_000_222


def linked_user(username="alice", telegram_id=ALICE_TG, language_code="en"):
    user = make_user(username)
    token = linking.new_link(user).token
    linking.link_chat(token, telegram_user_id=telegram_id, chat_id=telegram_id, username=username,
                      language_code=language_code)
    return user


def say(fake, telegram_id: int, text: str, **kwargs) -> list:
    """The actions the dispatcher answers a message with."""
    return dispatch(Update.de_json(fake.message_update(telegram_id, text, **kwargs), None))


def press(fake, telegram_id: int, data: str, **kwargs) -> list:
    return dispatch(Update.de_json(fake.callback_update(telegram_id, data, **kwargs), None))


def texts(actions) -> list[str]:
    return [a.text for a in actions]


def text(actions) -> str:
    (only,) = actions
    return only.text
