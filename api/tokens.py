"""API tokens: made (shown once), checked, revoked. A token is `tbk_` + 32 random bytes (url-safe base64);
only its sha256 is stored, so a database dump does not hold a usable token."""

import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import ApiToken, sha256_hex
from tradingbot.log_redaction import register_secret

PREFIX = "tbk_"
SHOWN_PREFIX_LENGTH = len(PREFIX) + 6


class TokenError(ValueError):
    """A bad name, scope or expiry, with a message fit to show."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # shown once, never stored


def parse_expiry(text: str | None) -> timedelta | None:
    """'90d', '12h', '30m', '2w' -> a duration; '' / 'never' / None -> no expiry."""
    text = (text or "").strip().lower()
    if text in ("", "never", "none", "0"):
        return None
    match = re.fullmatch(r"(\d{1,5})\s*([mhdw])", text)
    if not match:
        raise TokenError(_("The expiry must look like 90d, 12h, 30m or 2w (or 'never'), not %(value)s.")
                         % {"value": text})
    number, unit = int(match[1]), match[2]
    if number <= 0:
        raise TokenError(_("The expiry must be in the future."))
    delta = {"m": timedelta(minutes=number), "h": timedelta(hours=number), "d": timedelta(days=number),
             "w": timedelta(weeks=number)}[unit]
    if delta > timedelta(days=3650):
        raise TokenError(_("An expiry is at most ten years."))
    return delta


def create_token(user, *, name: str, scope: str, expires_in: timedelta | None = None) -> NewToken:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise TokenError(_("Give the token a name of 1 to 100 characters (what will use it)."))
    if scope not in ApiToken.Scope.values:
        raise TokenError(_("The scope must be read or trade, not %(value)s.") % {"value": scope})
    active = ApiToken.objects.for_user(user).filter(revoked_at__isnull=True).count()
    if active >= settings.API_MAX_TOKENS_PER_USER:
        raise TokenError(_("You have %(count)s tokens already: revoke one first.") % {"count": active})
    raw = PREFIX + secrets.token_urlsafe(32)
    register_secret(raw)
    token = ApiToken.objects.create(
        owner=user, name=name, scope=scope, prefix=raw[:SHOWN_PREFIX_LENGTH], token_hash=sha256_hex(raw),
        expires_at=timezone.now() + expires_in if expires_in else None)
    return NewToken(token, raw)


def find_token(raw: str) -> ApiToken | None:
    """The active token with this raw value (hash lookup: the comparison is of hashes, not of secrets)."""
    if not raw or not raw.startswith(PREFIX) or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("owner").filter(token_hash=sha256_hex(raw)).first()
    if token is None or not token.active or not token.owner.is_active:
        return None
    return token


def mark_used(token: ApiToken, address: str | None) -> None:
    """Last used time and address, written at most once a minute per token (a busy script is not a write each
    request)."""
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < timedelta(minutes=1) and token.last_used_ip == address:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now, last_used_ip=address)
    token.last_used_at, token.last_used_ip = now, address


def revoke(user, token_id: int) -> bool:
    return bool(ApiToken.objects.for_user(user).filter(pk=token_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()))
