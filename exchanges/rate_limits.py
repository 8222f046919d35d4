"""Rate-limit and ban answers (429, 418 with a retry time) pause every request to that exchange until then.

Binance escalates an IP ban for every request made during it, so after such an answer no process of this
installation sends anything to that exchange (same API host) until the time it gave: the pause is kept in
this process and in the shared cache (settings.CACHES, Redis or the file cache every process shares).
"""

import re
import time
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.utils import timezone

DEFAULT_WAIT = {429: 30.0, 418: 120.0}  # seconds, when the answer names no time
MAX_WAIT = 3 * 24 * 3600.0
CACHE_CHECK_INTERVAL = 1.0  # a process reads the shared pause at most this often per exchange

_local: dict[str, tuple[datetime, str]] = {}
_checked: dict[str, float] = {}


def key_for(exchange_id: str, api_host: str) -> str:
    """Pauses are per exchange and API host (live and testnet are limited separately)."""
    return f"{exchange_id}:{api_host}"


def _cache_key(key: str) -> str:
    return f"exchange-pause:{key}"


def retry_after(status: int, headers, body: str, now: datetime | None = None) -> datetime:
    """When the exchange lets us back in: the Retry-After header (seconds), or Binance's 'banned until <ms>'."""
    now = now or timezone.now()
    wait = None
    value = None
    if headers:
        value = headers.get("Retry-After") or headers.get("retry-after")
    if value is not None:
        try:
            wait = float(value)
        except (TypeError, ValueError):
            wait = None
    match = re.search(r"banned until (\d{12,})", body or "")
    if match:
        until = datetime.fromtimestamp(int(match.group(1)) / 1000, tz=UTC)
        if wait is None or until > now + timedelta(seconds=wait):
            wait = (until - now).total_seconds()
    if wait is None:
        wait = DEFAULT_WAIT.get(status, DEFAULT_WAIT[429])
    return now + timedelta(seconds=min(max(wait, 1.0), MAX_WAIT))


def pause(key: str, until: datetime, reason: str) -> None:
    current = paused_until(key)
    if current is not None and current[0] >= until:
        return
    _local[key] = (until, reason)
    seconds = max(1, int((until - timezone.now()).total_seconds()) + 1)
    cache.set(_cache_key(key), {"until": until.isoformat(), "reason": reason}, timeout=seconds)


def paused_until(key: str) -> tuple[datetime, str] | None:
    """(until, reason) while requests to this exchange are paused, else None."""
    now = timezone.now()
    local = _local.get(key)
    if local is not None and local[0] > now:
        return local
    if local is not None:
        _local.pop(key, None)
    if time.monotonic() - _checked.get(key, -CACHE_CHECK_INTERVAL) < CACHE_CHECK_INTERVAL:
        return None
    _checked[key] = time.monotonic()
    shared = cache.get(_cache_key(key))
    if shared:
        until = datetime.fromisoformat(shared["until"])
        if until > now:
            _local[key] = (until, shared.get("reason", ""))
            return _local[key]
    return None


def clear(key: str) -> None:
    _local.pop(key, None)
    _checked.pop(key, None)
    cache.delete(_cache_key(key))
