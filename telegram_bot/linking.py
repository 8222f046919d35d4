"""Linking a Telegram chat to a platform user with a one-time deep link, and unlinking from either side.

The Settings page makes a token (random, 10 minutes, single use, stored only hashed) and shows
t.me/<bot>?start=<token>; Telegram opens the chat and sends `/start <token>`; `link_chat` ties that
numeric Telegram user id and its private chat to the token's user.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telegram_bot import config
from telegram_bot.models import LinkToken, TelegramLink, hash_token

TOKEN_TTL = timedelta(minutes=10)


class LinkRefused(Exception):
    """The chat is not linked; the message (translated) says why, fit to send to the chat."""


@dataclass(frozen=True)
class NewLink:
    token: str
    url: str  # "" when the bot's username is unknown right now (Telegram unreachable)
    expires_at: datetime


def new_link(user) -> NewLink:
    """A fresh deep link for `user`; their earlier unused tokens stop working."""
    token = secrets.token_urlsafe(24)  # 32 of A-Z a-z 0-9 _ -, as Telegram's start parameter allows
    expires_at = timezone.now() + TOKEN_TTL
    with transaction.atomic():
        LinkToken.objects.filter(user=user, used_at__isnull=True).delete()
        LinkToken.objects.create(user=user, token_hash=hash_token(token), expires_at=expires_at)
    username = config.bot_username()
    return NewLink(token, f"https://t.me/{username}?start={token}" if username else "", expires_at)


def _not_valid() -> LinkRefused:
    return LinkRefused(_("This link is not valid any more: it was used already, or more than 10 minutes have "
                         "passed. Make a new one on the Settings page."))


def _taken() -> LinkRefused:
    return LinkRefused(_("This Telegram account is already linked to another user of the platform. "
                         "Send /unlink there first."))


def link_chat(token: str, *, telegram_user_id: int, chat_id: int, username: str = "",
              language_code: str = "") -> TelegramLink:
    """Steps:
    1. the token exists, is unused and unexpired, and its user is active (else refused);
    2. this Telegram user is not linked to another platform user (refused; the token stays unused);
    3. the token is consumed with a conditional UPDATE, so a second use, even at the same moment, fails;
    4. the chat is linked, replacing the platform user's earlier link if they had one.
    """
    now = timezone.now()
    if not token or len(token) > 64:
        raise _not_valid()
    try:
        with transaction.atomic():
            row = LinkToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
            if row is None or row.used_at is not None or row.expires_at <= now or not row.user.is_active:
                raise _not_valid()
            existing = TelegramLink.objects.filter(telegram_user_id=telegram_user_id).first()
            if existing is not None and existing.user_id != row.user_id:
                raise _taken()
            consumed = LinkToken.objects.filter(pk=row.pk, used_at__isnull=True, expires_at__gt=now).update(
                used_at=now, used_by_telegram_user_id=telegram_user_id)
            if consumed != 1:
                raise _not_valid()
            TelegramLink.objects.filter(user_id=row.user_id).exclude(telegram_user_id=telegram_user_id).delete()
            link, _created = TelegramLink.objects.update_or_create(
                telegram_user_id=telegram_user_id,
                defaults={"user_id": row.user_id, "chat_id": chat_id, "username": (username or "")[:64],
                          "language_code": (language_code or "")[:16], "active": True, "blocked_at": None,
                          "linked_at": now, "last_seen_at": now, "next_send_at": None},
            )
    except IntegrityError:  # the same Telegram user linked to another account at this very moment
        raise _taken()
    return link


def linked_chat(telegram_user_id: int) -> TelegramLink | None:
    """The link of this Telegram user, if their platform account is active."""
    link = TelegramLink.objects.select_related("user").filter(telegram_user_id=telegram_user_id).first()
    if link is None or not link.user.is_active:
        return None
    return link


def unlink_user(user) -> bool:
    """From the Settings page: the user's chat is unlinked (and their open link tokens dropped)."""
    LinkToken.objects.filter(user=user, used_at__isnull=True).delete()
    return TelegramLink.objects.filter(user=user).delete()[0] > 0


def unlink_chat(telegram_user_id: int) -> bool:
    """From Telegram (/unlink)."""
    return TelegramLink.objects.filter(telegram_user_id=telegram_user_id).delete()[0] > 0


def mark_blocked(link: TelegramLink) -> None:
    """403 from Telegram: the user blocked the bot. Nothing is sent there until they write again."""
    TelegramLink.objects.filter(pk=link.pk).update(active=False, blocked_at=timezone.now())
    link.active = False


def seen(link: TelegramLink, *, chat_id: int, username: str, language_code: str) -> None:
    """A message from the linked user: their chat is reachable again (after a block) and current."""
    fields = {"last_seen_at": timezone.now(), "chat_id": chat_id, "username": (username or "")[:64]}
    if language_code:
        fields["language_code"] = language_code[:16]
    if not link.active:
        fields.update(active=True, blocked_at=None)
    TelegramLink.objects.filter(pk=link.pk).update(**fields)
    for name, value in fields.items():
        setattr(link, name, value)
