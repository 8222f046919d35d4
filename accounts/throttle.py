"""Login throttling: too many failures for one username or one address are refused for a while.

Counts live in the default cache (a file cache shared by processes in the embedded default, Redis
otherwise). A window starts at the first failure; at LOGIN_FAILURE_LIMIT failures the username or
address is locked until the window ends. A successful login clears the username's count.
"""

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    digest = hashlib.sha256(value.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def _keys(username: str, address: str) -> list[str]:
    keys = [_key("ip", address or "unknown")]
    if username:
        keys.append(_key("user", username))
    return keys


def seconds_locked(username: str, address: str) -> int:
    """0 when a login may be tried, else the seconds until it may."""
    now = time.time()
    wait = 0.0
    for key in _keys(username, address):
        entry = cache.get(key)
        if entry and entry["count"] >= settings.LOGIN_FAILURE_LIMIT:
            wait = max(wait, entry["until"] - now)
    return int(wait) + 1 if wait > 0 else 0


def record_failure(username: str, address: str) -> None:
    now = time.time()
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key in _keys(username, address):
        entry = cache.get(key)
        if not entry or entry["until"] <= now:
            entry = {"count": 0, "until": now + window}
        entry["count"] += 1
        cache.set(key, entry, timeout=int(entry["until"] - now) + 1)


def clear_failures(username: str) -> None:
    if username:
        cache.delete(_key("user", username))
