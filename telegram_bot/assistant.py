"""Free text (anything that is not a /command) from a linked chat goes to the trading assistant
(`assistant.conversation.ask`, door "telegram"), the same function as the command box. A reply that needs
confirming comes back with the inline Confirm / Cancel buttons of telegram_bot.confirmations, bound to the
command service's pending id; a question with a few choices (which account, which bot) gets one button per
choice ("ap:<request id>:<a|b>:<key>"), and a press asks again with the same text and that pick; everything
else is a plain answer (a price, a balance, a refusal)."""

from django.utils.translation import gettext as _

from assistant.conversation import CONFIRM, QUESTION, ask
from assistant.models import AssistantRequest
from telegram_bot.actions import Button, Reply
from telegram_bot.confirmations import confirmation
from telegram_bot.registry import ButtonRequest, ButtonResult, button

PICK_PREFIX = "ap"
PICKS = {"a": "account", "b": "bot"}
PICK_CODES = {name: code for code, name in PICKS.items()}
MAX_DATA = 64  # Telegram's limit for callback data, in bytes


def _notes(reply) -> str:
    return "".join(f"\n({note})" for note in reply.notes)


def _choice_buttons(reply) -> tuple:
    if reply.kind != QUESTION or not reply.asks or not reply.request_id:
        return ()
    rows = []
    for key, label in reply.choices[:8]:
        data = f"{PICK_PREFIX}:{reply.request_id}:{PICK_CODES[reply.asks]}:{key}"
        if len(data.encode()) <= MAX_DATA:
            rows.append((Button(label[:60], data),))
    return tuple(rows)


def answer(link, text: str, chat_id: int | None = None) -> list:
    chat_id = chat_id if chat_id is not None else link.chat_id
    reply = ask(link.user, text, door="telegram")
    if reply.kind == CONFIRM:
        return [confirmation(chat_id, reply.pending_id, reply.sentence + _notes(reply))]
    return [Reply(chat_id, reply.text + _notes(reply), buttons=_choice_buttons(reply))]


@button(PICK_PREFIX)
def pick_button(request: ButtonRequest) -> ButtonResult:
    """A choice pressed under a question: the same request's text, asked again with that account or bot (the
    resolution checks it is the user's own). A confirmation comes back on the same message with its buttons."""
    request_id, _sep, rest = request.payload.partition(":")
    code, _sep, key = rest.partition(":")
    earlier = (AssistantRequest.objects.for_user(request.user).filter(pk=int(request_id)).first()
               if request_id.isdigit() else None)
    if earlier is None or code not in PICKS or not key:
        return ButtonResult(_("This button is no longer valid."))
    reply = ask(request.user, earlier.text, door="telegram", **{f"{PICKS[code]}_id": key})
    if reply.kind == CONFIRM:
        keyboard = confirmation(request.chat_id, reply.pending_id, reply.sentence).buttons
        return ButtonResult(_("Confirm or cancel."), reply.sentence + _notes(reply), buttons=keyboard)
    return ButtonResult(reply.text[:180], reply.text + _notes(reply), buttons=_choice_buttons(reply))

