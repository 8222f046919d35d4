"""Throttling of logins and password-reset requests, counted in the database so every process shares it.

An attempt is *reserved* before the password is checked: one conditional UPDATE per bucket
(`count < limit` -> `count + 1`), so fifty concurrent guesses at a limit of five get five password checks,
not fifty. A failed login keeps its reservation (it is the failure count); a successful one clears the
account's buckets. A window starts with the first attempt and the bucket empties when it ends.

Login buckets (settings, see README): per (account, address) LOGIN_FAILURE_LIMIT, per account over every
address LOGIN_ACCOUNT_FAILURE_LIMIT, per address over every account LOGIN_ADDRESS_FAILURE_LIMIT (high, since
many users may share one address behind a proxy). The client address is REMOTE_ADDR, or the address the
proxy appended to X-Forwarded-For when BEHIND_PROXY is set; the header is ignored otherwise.
"""

import hashlib
import random
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import ThrottleCounter


class _Refused(Exception):
    def __init__(self, seconds: int):
        self.seconds = seconds


def client_address(request) -> str:
    """The client's address: REMOTE_ADDR, or behind the documented proxy the last X-Forwarded-For hop (the
    one the proxy itself appended; anything before it was sent by the client and proves nothing)."""
    if request is None:
        return "unknown"
    if settings.BEHIND_PROXY:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def bucket_key(kind: str, *values: str) -> str:
    text = "\x00".join(value.strip().casefold() for value in values)
    return f"{kind}:{hashlib.sha256(text.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def reserve(buckets: list[tuple[str, int]], window_seconds: int) -> int:
    """Count one attempt in every (key, limit) bucket; 0 when allowed, else the seconds until it may be tried.

    All or nothing: an attempt refused by one bucket is counted in none.
    """
    now = timezone.now()
    try:
        with transaction.atomic():
            for key, limit in buckets:
                rows = ThrottleCounter.objects.filter(key=key)
                ThrottleCounter.objects.bulk_create(
                    [ThrottleCounter(key=key, count=0, window_ends=now + timedelta(seconds=window_seconds))],
                    ignore_conflicts=True,
                )
                rows.filter(window_ends__lte=now).update(count=0, window_ends=now + timedelta(seconds=window_seconds))
                if not rows.filter(count__lt=limit).update(count=F("count") + 1):
                    ends = rows.values_list("window_ends", flat=True).first() or now
                    raise _Refused(max(1, int((ends - now).total_seconds()) + 1))
    except _Refused as refused:
        return refused.seconds
    if random.random() < 0.02:  # now and then, drop buckets whose window ended long ago
        ThrottleCounter.objects.filter(window_ends__lt=now - timedelta(days=1)).delete()
    return 0


def clear(keys: list[str]) -> None:
    ThrottleCounter.objects.filter(key__in=keys).delete()


# --- logins ---

def _login_buckets(username: str, address: str) -> list[tuple[str, int]]:
    return [
        (bucket_key("login-account-address", username, address), settings.LOGIN_FAILURE_LIMIT),
        (bucket_key("login-account", username), settings.LOGIN_ACCOUNT_FAILURE_LIMIT),
        (bucket_key("login-address", address), settings.LOGIN_ADDRESS_FAILURE_LIMIT),
    ]


def reserve_login(username: str, address: str) -> int:
    """Reserve a login attempt before its password is checked; 0 to go ahead, else seconds to wait."""
    return reserve(_login_buckets(username, address), settings.LOGIN_FAILURE_WINDOW_SECONDS)


def login_succeeded(username: str, address: str) -> None:
    """The account's own buckets start again (the address bucket keeps counting others' failures)."""
    clear([key for key, _ in _login_buckets(username, address)[:2]])


# --- password reset requests ---

def reserve_password_reset(email: str, address: str) -> int:
    return reserve([
        (bucket_key("reset-email", email), settings.PASSWORD_RESET_LIMIT),
        (bucket_key("reset-address", address), settings.PASSWORD_RESET_ADDRESS_LIMIT),
    ], settings.PASSWORD_RESET_WINDOW_SECONDS)
