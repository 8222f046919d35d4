"""Confirm / Cancel buttons bound to a pending command's one-time id (issue 11's command service).

`confirmation(chat_id, pending_id, sentence)` is the message a door sends when a command needs
confirming; a press arrives as callback data "pc:c:<id>" (confirm) or "pc:x:<id>" (cancel) and goes to
`resolve_pending`, which runs the user's own pending command once through the command service (through
`assistant.conversation`, so an assistant request's audit follows it): a second press, a stale id or another
user's id does nothing.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from telegram_bot.actions import Button, Reply
from telegram_bot.registry import ButtonRequest, ButtonResult, button

PREFIX = "pc"
CONFIRM, CANCEL = "c", "x"
MAX_ID = 64 - len(f"{PREFIX}:{CONFIRM}:")  # callback data is at most 64 bytes


def confirmation(chat_id: int, pending_id: str, sentence: str) -> Reply:
    """A message with the command's sentence and its Confirm / Cancel buttons."""
    pending_id = str(pending_id)
    if not pending_id or len(pending_id.encode()) > MAX_ID or ":" in pending_id:
        raise ValueError(f"a pending command id must be 1 to {MAX_ID} bytes without ':'")
    return Reply(chat_id, sentence, buttons=((
        Button(_("Confirm"), f"{PREFIX}:{CONFIRM}:{pending_id}"),
        Button(_("Cancel"), f"{PREFIX}:{CANCEL}:{pending_id}"),
    ),))


@dataclass(frozen=True)
class Outcome:
    answer: str  # the short pop-up
    text: str = ""  # appended to the message (its buttons go); "" leaves the message as it is


def stale() -> Outcome:
    return Outcome(_("This button is no longer valid."))


def resolve_pending(user, pending_id: str, *, confirm: bool) -> Outcome:
    """Confirm or cancel `user`'s pending command `pending_id`, once (commands.service checks the owner, the
    expiry and that it still waits)."""
    from assistant import conversation

    if len(pending_id) > 32:
        return stale()
    reply = (conversation.confirm if confirm else conversation.cancel)(user, pending_id, door="telegram")
    if reply.kind == conversation.REFUSED and reply.activity_id is None:  # no such pending command of this user
        return stale()
    short = _("Done.") if reply.kind == conversation.DONE else _("Not done.")
    return Outcome(short if len(reply.text) > 180 else reply.text, reply.text)


@button(PREFIX)
def pending_button(request: ButtonRequest) -> ButtonResult:
    action, _sep, pending_id = request.payload.partition(":")
    if action not in (CONFIRM, CANCEL) or not pending_id:
        outcome = stale()
    else:
        outcome = resolve_pending(request.user, pending_id, confirm=action == CONFIRM)
    edit = f"{request.message_text}\n\n{outcome.text}" if outcome.text else None
    return ButtonResult(outcome.answer, edit)
