"""Command name -> handler, and callback-data prefix -> button handler: the dispatcher looks here, and a
new command or button kind is one registered function (the lead wires /close, /cancel, /alerts and
/alert here once the command service exists).

A command handler gets a `CommandRequest` and returns the answer text, or a list of actions (a reply
with buttons, say). A button handler gets a `ButtonRequest` and returns a `ButtonResult`.
"""

from collections.abc import Callable
from dataclasses import dataclass

from telegram_bot.models import TelegramLink


@dataclass(frozen=True)
class CommandRequest:
    link: TelegramLink
    name: str
    args: str  # everything after the command, stripped
    chat_id: int
    message_id: int

    @property
    def user(self):
        return self.link.user


@dataclass(frozen=True)
class Command:
    name: str
    handler: Callable[[CommandRequest], "str | list"]
    help: str  # lazy translation
    usage: str = ""  # e.g. "NAME", "[days]"
    order: int = 100


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, usage: str = "", order: int = 100):
    """Register a /name command (lower case; Telegram allows a-z, 0-9 and _, 1 to 32 of them)."""
    def register(handler):
        COMMANDS[name] = Command(name, handler, help, usage, order)
        return handler
    return register


@dataclass(frozen=True)
class ButtonRequest:
    link: TelegramLink
    payload: str  # the callback data after "<prefix>:"
    chat_id: int
    message_id: int
    message_text: str

    @property
    def user(self):
        return self.link.user


@dataclass(frozen=True)
class ButtonResult:
    answer: str  # shown briefly by the Telegram app
    edit: str | None = None  # new text of the message the button was on (its buttons removed); None: unchanged
    buttons: tuple = ()  # with `edit`: the edited message's new buttons (rows of actions.Button)


BUTTONS: dict[str, Callable[[ButtonRequest], ButtonResult]] = {}


def button(prefix: str):
    """Register the handler of buttons whose callback data starts with "<prefix>:"."""
    def register(handler):
        BUTTONS[prefix] = handler
        return handler
    return register
