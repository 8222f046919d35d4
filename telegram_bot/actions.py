"""What the dispatcher asks the door to do: send a reply, answer a button press, edit a message.

Plain data, so `dispatch` stays a synchronous function of the update (tests read its answer directly),
and the door that received the update performs them with its client.
"""

import logging
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram import error as tg_error

from telegram_bot.client import map_error

log = logging.getLogger(__name__)

MAX_TEXT = 4096  # Telegram's limit for one message


@dataclass(frozen=True)
class Button:
    label: str
    data: str  # callback data, at most 64 bytes


def _markup(rows: tuple[tuple[Button, ...], ...]):
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows])


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Pieces of at most `limit` characters, cut at line ends where possible."""
    pieces, current = [], ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


@dataclass(frozen=True)
class Reply:
    chat_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    silent: bool = False

    async def perform(self, bot) -> None:
        pieces = split_text(self.text)
        for k, piece in enumerate(pieces):
            last = k == len(pieces) - 1
            await bot.send_message(chat_id=self.chat_id, text=piece, disable_notification=self.silent,
                                   reply_markup=_markup(self.buttons) if last else None)


@dataclass(frozen=True)
class AnswerCallback:
    callback_query_id: str
    text: str = ""

    async def perform(self, bot) -> None:
        await bot.answer_callback_query(self.callback_query_id, text=self.text[:200] or None)


@dataclass(frozen=True)
class EditMessage:
    chat_id: int
    message_id: int
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()

    async def perform(self, bot) -> None:
        await bot.edit_message_text(self.text[:MAX_TEXT], chat_id=self.chat_id, message_id=self.message_id,
                                    reply_markup=_markup(self.buttons))


async def perform_all(bot, actions) -> int:
    """Perform each action in order; a failed one is logged (token-free) and the rest still go.
    Returns how many failed."""
    failed = 0
    for action in actions:
        try:
            await action.perform(bot)
        except tg_error.TelegramError as exc:
            failed += 1
            log.warning("Telegram %s to chat %s failed: %s", type(action).__name__,
                        getattr(action, "chat_id", "-"), map_error(exc))
    return failed
