"""Sending a user's pending notifications to their Telegram chat, within Telegram's limits (about 30
messages a second for the whole bot, one a second per chat), without ever holding a worker for long.

Steps of `deliver(user_id)`:
1. nothing while Telegram is paused for everyone (it timed out, or a 429 asked us to wait);
2. the user's active link (none: their pending rows are dropped: there is nowhere to send them);
3. the chat's send slot, taken with a conditional UPDATE of `next_send_at`, so however many workers
   send, a chat gets at most one message a second;
4. the due rows, claimed with a conditional UPDATE (a claim id), so no two workers send the same row;
   several become one message (in the user's language), silent only if every one of them is;
5. the global rate, then the send;
6. sent: done. 429: the rows wait `retry_after` (a short wait is slept here, a long one is left to the
   sweep) and so does everyone. 403 (the user blocked the bot): the link is marked inactive, the rows
   dropped. Network error or timeout: the rows are retried later with a growing delay, and Telegram is
   paused for everyone for a moment, so a dead Telegram costs one timeout, not one per message. 400: failed.
7. rows that arrived meanwhile go in another round (a few at most; the sweep sends the rest).
"""

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation

from notify.kinds import render
from notify.models import Notification
from telegram_bot import client
from telegram_bot.actions import Reply
from telegram_bot.models import TelegramLink

log = logging.getLogger(__name__)

PER_CHAT_INTERVAL = timedelta(seconds=1)
GLOBAL_PER_SECOND = 25  # Telegram allows about 30; some room for the replies to commands
MAX_BATCH = 20  # rows joined into one message
MAX_SLEEP = 2.0  # the longest a delivery task waits in place (a slot, a short retry_after)
ROUNDS = 5
MAX_ATTEMPTS = 8
BACKOFF = (30, 60, 120, 300, 600, 1200, 1800, 3600)  # seconds before the next attempt after a failure
DOWN_PAUSE = 30.0  # after a timeout or network error nobody tries Telegram for this long
STALE_CLAIM = timedelta(minutes=2)  # a row "sending" this long was held by a worker that died
PAUSE_KEY = "telegram:paused-until"


@dataclass
class Delivery:
    sent: int = 0  # rows delivered
    messages: int = 0  # Telegram messages sent
    outcome: str = "idle"  # idle | sent | paused | busy | rate_limited | blocked | unavailable | refused | unlinked


def paused_for() -> float:
    """Seconds left of a pause for everyone (0: go)."""
    until = cache.get(PAUSE_KEY)
    return max(0.0, until - time.time()) if until else 0.0


def pause_everyone(seconds: float) -> None:
    until = time.time() + seconds
    current = cache.get(PAUSE_KEY) or 0
    if until > current:
        cache.set(PAUSE_KEY, until, int(seconds) + 2)


def take_global_slot() -> None:
    """Wait until this second has room under GLOBAL_PER_SECOND (a counter per second in the shared cache;
    exact with Redis, close enough with the file cache)."""
    while True:
        second = int(time.time())
        key = f"telegram:sent:{second}"
        cache.add(key, 0, timeout=5)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            continue
        if count <= GLOBAL_PER_SECOND:
            return
        time.sleep(max(0.0, second + 1 - time.time()))


def _claim_chat(link: TelegramLink) -> bool:
    now = timezone.now()
    return TelegramLink.objects.filter(pk=link.pk, active=True).filter(
        Q(next_send_at__isnull=True) | Q(next_send_at__lte=now)).update(next_send_at=now + PER_CHAT_INTERVAL) == 1


def _due(user_id: int):
    now = timezone.now()
    return Notification.objects.filter(user_id=user_id, status=Notification.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))


def _claim_rows(user_id: int) -> list[Notification]:
    ids = list(_due(user_id).order_by("id").values_list("pk", flat=True)[:MAX_BATCH])
    if not ids:
        return []
    token = uuid.uuid4().hex
    Notification.objects.filter(pk__in=ids, status=Notification.Status.PENDING).update(
        status=Notification.Status.SENDING, claim=token, claimed_at=timezone.now())
    return list(Notification.objects.filter(claim=token, status=Notification.Status.SENDING).order_by("id"))


def _settle(rows, status: str, **fields) -> None:
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(status=status, claim="", **fields)


def _retry_later(rows, error: str, delay: float | None = None) -> None:
    """Back to pending, due after `delay` (or the backoff of each row's attempts); given up at MAX_ATTEMPTS."""
    now = timezone.now()
    for row in rows:
        attempts = row.attempts + 1
        if attempts >= MAX_ATTEMPTS:
            _settle([row], Notification.Status.FAILED, attempts=attempts, error=error[:300])
            continue
        wait = delay if delay is not None else BACKOFF[min(attempts, len(BACKOFF)) - 1]
        _settle([row], Notification.Status.PENDING, attempts=attempts, error=error[:300],
                next_attempt_at=now + timedelta(seconds=wait))


def _message(link: TelegramLink, rows: list[Notification]) -> tuple[str, list[Notification]]:
    texts, good = [], []
    with translation.override(link.language()):
        for row in rows:
            try:
                texts.append(render(row.text_key, row.params))
                good.append(row)
            except Exception as exc:  # a text whose params do not fit: that row fails, the others go
                log.warning("notification %s cannot be rendered: %r", row.pk, exc)
                _settle([row], Notification.Status.FAILED, error=f"cannot render: {exc!r}"[:300])
    return "\n\n".join(texts), good


def deliver(user_id: int) -> Delivery:
    result = Delivery()
    for _round in range(ROUNDS):
        if paused_for() > 0:
            result.outcome = "paused"
            return result
        link = TelegramLink.objects.filter(user_id=user_id, active=True).first()
        if link is None:
            dropped = _due(user_id).update(status=Notification.Status.DROPPED, error="no linked Telegram chat")
            result.outcome = "unlinked" if dropped else result.outcome
            return result
        if not _due(user_id).exists():
            return result
        if not _claim_chat(link):
            link.refresh_from_db(fields=["next_send_at"])
            wait = (link.next_send_at - timezone.now()).total_seconds() if link.next_send_at else 0.0
            if wait > MAX_SLEEP:
                result.outcome = "busy"
                return result
            time.sleep(max(0.0, wait))
            if not _claim_chat(link):  # another worker has it: it takes our rows too
                result.outcome = "busy"
                return result
        rows = _claim_rows(user_id)
        if not rows:
            return result
        text, rows = _message(link, rows)
        if not rows:
            continue
        take_global_slot()
        reply = Reply(link.chat_id, text, silent=all(r.silent for r in rows))
        try:
            client.run(reply.perform)
        except client.RateLimited as exc:
            wait = max(exc.retry_after, 1.0)
            pause_everyone(wait)
            TelegramLink.objects.filter(pk=link.pk).update(next_send_at=timezone.now() + timedelta(seconds=wait))
            if wait > MAX_SLEEP:
                _retry_later(rows, str(exc), delay=wait)
                result.outcome = "rate_limited"
                return result
            _settle(rows, Notification.Status.PENDING, error=str(exc)[:300])  # not an attempt: Telegram's pace
            time.sleep(wait)
            continue
        except client.ChatBlocked as exc:
            from telegram_bot.linking import mark_blocked

            mark_blocked(link)
            _settle(rows, Notification.Status.DROPPED, error=str(exc)[:300])
            result.outcome = "blocked"
            return result
        except (client.MessageRefused, client.TokenRejected, client.NotConfigured) as exc:
            log.warning("Telegram refused the notifications of user %s: %s", user_id, exc)
            _settle(rows, Notification.Status.FAILED, error=str(exc)[:300])
            result.outcome = "refused"
            return result
        except client.TelegramFailure as exc:
            log.warning("Telegram unavailable, notifications of user %s retried later: %s", user_id, exc)
            pause_everyone(DOWN_PAUSE)
            _retry_later(rows, str(exc))
            result.outcome = "unavailable"
            return result
        _settle(rows, Notification.Status.SENT, sent_at=timezone.now(), error="")
        result.sent += len(rows)
        result.messages += 1
        result.outcome = "sent"
    return result


def release_stale_claims() -> int:
    """Rows left "sending" by a worker that died mid-send go back to pending (they may be sent twice:
    better than never)."""
    return Notification.objects.filter(status=Notification.Status.SENDING,
                                       claimed_at__lt=timezone.now() - STALE_CLAIM).update(
        status=Notification.Status.PENDING, claim="")


def users_with_due_rows(limit: int = 500) -> list[int]:
    now = timezone.now()
    return list(
        Notification.objects.filter(status=Notification.Status.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .order_by().values_list("user_id", flat=True).distinct()[:limit]
    )
