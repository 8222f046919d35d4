"""The dispatcher: finds bots whose next candle has closed, claims each with a conditional UPDATE, ticks it.

A django-q2 schedule (migration 0005) runs `dispatch` every minute; it loops for about 55 s. Any number
of dispatchers on any number of machines may run at once: a bot is claimed by setting its lease only
where the lease is free, and only the worker whose UPDATE changed the row ticks it (healthchecks'
sendalerts pattern). The tick renews the lease on the same condition, so a tick that waited in a queue
past its lease cannot run beside a newer one.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections
from django.db.models import Q
from django.utils import timezone

from bots.models import Bot

log = logging.getLogger(__name__)

ACTIVE = (Bot.Status.RUNNING, Bot.Status.HALTED)
# Longer than the django-q2 task timeout (120 s), so a live tick's lease never ends while it runs.
LEASE = timedelta(seconds=150)
# Paper and live candles appear on the exchange a moment after they close.
EXCHANGE_PUBLISH_DELAY = timedelta(seconds=2)


def due(now: datetime):
    """Active bots whose next candle has closed (by wall clock) and that nobody holds."""
    return (
        Bot.objects.filter(status__in=ACTIVE)
        .filter(Q(next_tick_at__isnull=True) | Q(next_tick_at__lte=now))
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
    )


def claim(bot_id: int, now: datetime | None = None) -> datetime | None:
    """Take the lease of one due bot: the lease's end (the tick's token) if this caller got it, else None."""
    now = now or timezone.now()
    lease_until = now + LEASE
    changed = due(now).filter(pk=bot_id).update(lease_until=lease_until)
    return lease_until if changed == 1 else None


def claim_any(bot_id: int, now: datetime | None = None) -> datetime | None:
    """Take the lease of a bot whatever its schedule (a tick asked for by hand), if nobody holds it."""
    now = now or timezone.now()
    lease_until = now + LEASE
    changed = (
        Bot.objects.filter(pk=bot_id).filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=lease_until)
    )
    return lease_until if changed == 1 else None


def claim_due_bots(now: datetime | None = None, limit: int = 1000) -> list[tuple[int, datetime]]:
    """Claim every due bot this caller can get: [(bot id, lease token)]."""
    now = now or timezone.now()
    claimed = []
    for bot_id in due(now).order_by("next_tick_at", "pk").values_list("pk", flat=True)[:limit]:
        token = claim(bot_id, now)
        if token is not None:
            claimed.append((bot_id, token))
    return claimed


def wall_time_of(bot: Bot, exchange_time: datetime) -> datetime:
    """When, by the wall clock, the bot's exchange clock shows `exchange_time`.

    A replay bot's next candle is the next stored one: when the candle closing at `exchange_time` is
    missing (a gap in the stored candles), the bot is next due when the following stored candle closes.
    """
    if bot.mode != Bot.Mode.REPLAY:
        return exchange_time + EXCHANGE_PUBLISH_DELAY
    if bot.replay_started_at is None or not bot.replay_speed:
        return timezone.now() + timedelta(days=3650)  # a frozen replay clock never reaches it
    from exchanges.clients.replay import first_close_at_or_after

    exchange_time = first_close_at_or_after(bot.exchange_account.exchange_id, bot.symbol, bot.timeframe,
                                            exchange_time)
    ahead = exchange_time - bot.replay_start - (bot.replay_offset or timedelta(0))
    return bot.replay_started_at + ahead / bot.replay_speed


def release(bot_id: int, token: datetime, next_tick_at: datetime | None) -> bool:
    """Give the lease back and say when the bot is next due; only the holder of `token` can."""
    return Bot.objects.filter(pk=bot_id, lease_until=token).update(lease_until=None, next_tick_at=next_tick_at) == 1


def tick_inline() -> bool:
    """Tick in the dispatcher's own process (BOTS_TICK_INLINE, default on) instead of enqueueing a task.

    Inline saves a queue round trip per tick and shares the candle cache among all bots of a symbol,
    which is what one worker serving many replay bots wants (see bench/bot_ticks_bench.py); the queue
    spreads live bots over all workers, so a slow exchange holds up only its own bots.
    """
    return bool(getattr(settings, "BOTS_TICK_INLINE", True))


def run_claimed(claimed: list[tuple[int, datetime]], inline: bool) -> None:
    from bots.tick import tick_bot

    if inline:
        for bot_id, token in claimed:
            tick_bot(bot_id, lease=token)
        return
    from django_q.tasks import async_task

    for bot_id, token in claimed:
        async_task("bots.tick.tick_bot", bot_id, lease=token, group="bot-ticks")


def dispatch(duration: float = 55.0, interval: float = 0.25, inline: bool | None = None) -> int:
    """Loop for `duration` seconds: claim due bots and tick them (inline or through the queue).

    Steps, every `interval` seconds:
    1. find active bots whose next candle has closed and whose lease is free;
    2. claim each with a conditional UPDATE (skip the ones another dispatcher got first);
    3. tick them inline, or enqueue one `bots.tick.tick_bot` task per bot.
    No signal handler of its own: inside django-q2 the cluster owns SIGTERM, and a tick killed anywhere
    is safe (tests/test_crash_safety.py); the loop is short. Returns how many bots were claimed.
    """
    inline = tick_inline() if inline is None else inline
    deadline = time.monotonic() + duration
    total = 0
    while True:
        close_old_connections()
        claimed = claim_due_bots()
        total += len(claimed)
        run_claimed(claimed, inline)
        if time.monotonic() + interval >= deadline:
            break
        if not claimed:  # bots catching up on missed candles are due again at once: no pause for them
            time.sleep(interval)
    return total
