"""Free text (anything that is not a /command) from a linked chat goes to the trading assistant
(`assistant.conversation.ask`, door "telegram"), the same function as the command box. A reply that needs
confirming comes back with the inline Confirm / Cancel buttons of telegram_bot.confirmations, bound to the
command service's pending id; everything else is a plain answer (a question, a price, a refusal)."""

from assistant.conversation import CONFIRM, ask
from telegram_bot.actions import Reply
from telegram_bot.confirmations import confirmation


def answer(link, text: str, chat_id: int | None = None) -> str | list:
    chat_id = chat_id if chat_id is not None else link.chat_id
    reply = ask(link.user, text, door="telegram")
    notes = "".join(f"\n({note})" for note in reply.notes)
    if reply.kind == CONFIRM:
        return [confirmation(chat_id, reply.pending_id, reply.sentence + notes)]
    return [Reply(chat_id, reply.text + notes)]
