"""Per-user limits on assistant requests and LLM calls, and the daily LLM token budget.

Counters live in the default cache (the file cache shared by processes in the embedded default, Redis
otherwise), in fixed windows: the current minute for rates, the current UTC day for tokens. A refused
request still counts, so hammering does not open the window sooner. A setting of 0 turns its limit off.

    ASSISTANT_REQUESTS_PER_MINUTE         requests per user per minute (then: "try again in N s")
    ASSISTANT_LLM_CALLS_PER_MINUTE        LLM calls per user per minute (then: offline, with a note)
    ASSISTANT_LLM_DAILY_TOKENS_PER_USER   LLM tokens per user per UTC day (then: offline, with a note)
    ASSISTANT_LLM_DAILY_TOKENS_TOTAL      LLM tokens for everyone per UTC day

A call is allowed while the day's count is under the budget; its tokens are added after it answers, so
one call can overrun the budget by its own size.
"""

import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache


def _user_key(user) -> str:
    return str(user.pk) if user is not None and getattr(user, "pk", None) is not None else "anonymous"


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=timeout)
        return 1


def _take(kind: str, user, limit: int) -> int:
    """0 when allowed (and counted), else the seconds until the minute's window ends."""
    if not limit:
        return 0
    now = time.time()
    window = int(now // 60)
    used = _count(f"assistant:{kind}:{_user_key(user)}:{window}", timeout=120)
    if used <= limit:
        return 0
    return max(1, int((window + 1) * 60 - now) + 1)


def take_request(user) -> int:
    """Count one assistant request: 0 if allowed, else how many seconds until the user may ask again."""
    return _take("req", user, settings.ASSISTANT_REQUESTS_PER_MINUTE)


def take_llm_call(user) -> bool:
    """Count one LLM call for the user: False when over ASSISTANT_LLM_CALLS_PER_MINUTE."""
    return _take("llm", user, settings.ASSISTANT_LLM_CALLS_PER_MINUTE) == 0


def _day() -> str:
    return datetime.now(UTC).strftime("%Y%m%d")


def tokens_used_today(user=None) -> int:
    """Tokens used today by the user, or by everyone when user is None."""
    who = "all" if user is None else _user_key(user)
    return int(cache.get(f"assistant:tokens:{who}:{_day()}", 0))


def within_token_budget(user) -> bool:
    per_user, total = settings.ASSISTANT_LLM_DAILY_TOKENS_PER_USER, settings.ASSISTANT_LLM_DAILY_TOKENS_TOTAL
    if per_user and tokens_used_today(user) >= per_user:
        return False
    if total and tokens_used_today(None) >= total:
        return False
    return True


def spend_tokens(user, tokens: int) -> None:
    if tokens <= 0:
        return
    day = _day()
    for who in (_user_key(user), "all"):
        key = f"assistant:tokens:{who}:{day}"
        cache.add(key, 0, timeout=2 * 86400)
        try:
            cache.incr(key, tokens)
        except ValueError:
            cache.set(key, tokens, timeout=2 * 86400)


def reset(user) -> None:
    """Forget the user's counters for this minute and day (and today's site-wide tokens)."""
    window, day, who = int(time.time() // 60), _day(), _user_key(user)
    cache.delete_many([f"assistant:req:{who}:{window}", f"assistant:llm:{who}:{window}",
                       f"assistant:tokens:{who}:{day}", f"assistant:tokens:all:{day}"])
