"""The one function every Telegram update goes through, from the webhook and from long polling alike.

Deny by default: only a private chat whose numeric Telegram user id is linked to an active platform user
reaches a command; anything else gets one refusal and nothing else.
"""

import logging
import re

from django.utils import timezone, translation
from django.utils.translation import gettext as _
from telegram import Update

from telegram_bot import assistant, linking
from telegram_bot.actions import AnswerCallback, EditMessage, Reply
from telegram_bot.models import TelegramLink, supported_language
from telegram_bot.registry import BUTTONS, COMMANDS, ButtonRequest, CommandRequest

log = logging.getLogger(__name__)

COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]{1,64})?(?:\s+(.*))?$", re.DOTALL)


def parse_command(text: str) -> tuple[str | None, str]:
    """"/Stop_Bot@tradingbot rsi bot" -> ("stop_bot", "rsi bot"); free text -> (None, text)."""
    match = COMMAND.match(text.strip())
    if match is None:
        return None, text.strip()
    return match.group(1).lower(), (match.group(2) or "").strip()


def link_first() -> str:
    return _("Link your account first: on the platform open Settings, choose “Link Telegram” and open the "
             "link it gives you.")


def private_only() -> str:
    return _("This bot works only in a private chat with it.")


def dispatch(update: Update) -> list:
    """Steps:
    1. a button press goes to `_button`; anything but a text message (edits, channel posts, stickers) is
       ignored;
    2. a chat that is not the sender's own private chat (a group) is refused;
    3. `/start <token>` links this chat (whoever sends it; the token decides);
    4. the sender's numeric id must be linked to an active user, else "link your account first";
    5. in the user's language and time zone: a registered command, or free text for the assistant.
    """
    if update.callback_query is not None:
        return _button(update)
    message = update.message
    if message is None or message.from_user is None or message.text is None:
        return []
    sender, chat = message.from_user, message.chat
    name, args = parse_command(message.text)
    if chat.type != "private" or chat.id != sender.id:
        with translation.override(supported_language(sender.language_code)):
            return [Reply(chat.id, private_only())]
    if name == "start" and args:
        with translation.override(supported_language(sender.language_code)):
            return [Reply(chat.id, _start_with_token(args, sender, chat.id))]
    link = linking.linked_chat(sender.id)
    if link is None:
        with translation.override(supported_language(sender.language_code)):
            return [Reply(chat.id, link_first())]
    linking.seen(link, chat_id=chat.id, username=sender.username or "", language_code=sender.language_code or "")
    with translation.override(link.language()), timezone.override(_zone_of(link.user)):
        return _run(link, name, args, chat.id, message.message_id, message.text)


def _zone_of(user):
    from accounts.models import Profile

    profile = Profile.objects.filter(user=user).first()
    return profile.zone if profile is not None else timezone.get_default_timezone()


def _start_with_token(token: str, sender, chat_id: int) -> str:
    try:
        link = linking.link_chat(token, telegram_user_id=sender.id, chat_id=chat_id, username=sender.username or "",
                                 language_code=sender.language_code or "")
    except linking.LinkRefused as refused:
        return str(refused)
    from telegram_bot.commands import help_text

    with translation.override(link.language()):
        return _("Linked to your account %(name)s. You will get your notifications here.") % {
            "name": link.user.get_username()} + "\n\n" + help_text()


def _run(link: TelegramLink, name: str | None, args: str, chat_id: int, message_id: int, text: str) -> list:
    try:
        if name is None:
            answer = assistant.answer(link, text, chat_id)
        elif name in COMMANDS:
            answer = COMMANDS[name].handler(CommandRequest(link, name, args, chat_id, message_id))
        else:
            answer = _("Unknown command /%(name)s. /help lists the commands.") % {"name": name}
    except Exception:
        log.exception("Telegram command /%s of user %s failed", name, link.user_id)
        answer = _("Sorry, that went wrong on our side; it was logged. Try again later.")
    return [Reply(chat_id, answer)] if isinstance(answer, str) else list(answer)


def _button(update: Update) -> list:
    """A press on an inline button: only the linked user, in their own chat, on a registered kind."""
    query = update.callback_query
    sender = query.from_user
    link = linking.linked_chat(sender.id)
    if link is None:
        with translation.override(supported_language(sender.language_code)):
            return [AnswerCallback(query.id, link_first())]
    message = query.message
    with translation.override(link.language()), timezone.override(_zone_of(link.user)):
        if message is None or message.chat.id != link.chat_id:
            return [AnswerCallback(query.id, _("This button is not for this chat."))]
        prefix, _sep, payload = (query.data or "").partition(":")
        handler = BUTTONS.get(prefix)
        if handler is None:
            return [AnswerCallback(query.id, _("This button is no longer valid."))]
        try:
            result = handler(ButtonRequest(link, payload, message.chat.id, message.message_id,
                                           getattr(message, "text", "") or ""))
        except Exception:
            log.exception("Telegram button %s of user %s failed", prefix, link.user_id)
            return [AnswerCallback(query.id, _("Sorry, that went wrong on our side; it was logged."))]
    actions = [AnswerCallback(query.id, result.answer)]
    if result.edit is not None:
        actions.append(EditMessage(message.chat.id, message.message_id, result.edit, buttons=result.buttons))
    return actions
