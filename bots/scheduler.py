"""The dispatcher: finds bots whose next candle has closed, claims each with a conditional UPDATE, ticks it.

Leases. A claim sets a bot's `lease_until` LEASE ahead, only where no live lease is set, and only the caller
whose UPDATE changed the row ticks it (healthchecks' sendalerts pattern), so any number of dispatchers on
any number of machines never tick one bot twice. The lease is short: while a tick runs, a thread of its
process renews it every RENEW_EVERY seconds on the same condition, so a slow tick keeps its bot while a
killed worker's bots are free again LEASE after it died.

The dispatcher claims one bot at a time, right before ticking it, never a whole round ahead: a worker killed
mid-round holds only the bot it was ticking. `manage.py worker` runs it continuously in its main process
(bots.worker); under a plain `manage.py qcluster` a django-q2 schedule (migration 0005) runs a 55 s round
every minute. A database error is one bot's problem, never the round's: that bot is due again DB_RETRY
later and the others go on.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection, connections
from django.db.models import Q
from django.utils import timezone

from bots import shutdown
from bots.models import Bot

log = logging.getLogger(__name__)

ACTIVE = (Bot.Status.RUNNING, Bot.Status.HALTED)
# Short, and renewed while the tick runs: a killed worker's bots wait at most this long for another worker.
LEASE = timedelta(seconds=20)
RENEW_EVERY = 5.0  # seconds; four renewals may fail (a busy database) before a lease can lapse
# A tick still running after this long is stuck (ccxt calls time out long before): its lease is let go.
MAX_HOLD = 300.0
# A bot whose claim, tick or release failed on a database error is due again this much later.
DB_RETRY = timedelta(seconds=10)
DB_ERRORS = (OperationalError, InterfaceError)
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
    """Claim every due bot this caller can get: [(bot id, lease token)] (`manage.py bot tick`, the bench).
    The dispatcher itself claims one bot at a time (`dispatch`)."""
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
    """Give the lease back and say when the bot is next due; only the holder of `token` can.

    A database error is retried once on a fresh connection; if that fails too the lease simply runs out
    (LEASE later) and the bot is ticked again then."""
    for attempt in (1, 2):
        try:
            return Bot.objects.filter(pk=bot_id, lease_until=token).update(
                lease_until=None, next_tick_at=next_tick_at) == 1
        except DB_ERRORS:
            if attempt == 2:
                log.exception("bot %s: database error releasing its lease; it ends by itself in %s s",
                              bot_id, LEASE.seconds)
                return False
            log.warning("bot %s: database error releasing its lease; retrying on a new connection", bot_id)
            reconnect()
    return False


def reconnect() -> None:
    """After a database error: drop this thread's connection if it is broken, so the next query opens a new
    one (inside a transaction there is nothing to do: the transaction is lost anyway)."""
    if not connection.in_atomic_block:
        close_old_connections()


class Lease:
    """A lease this process holds while it ticks a bot: renewed in the background (`_keeper`), given back by
    `release`. The token the database holds changes with each renewal; this object always knows it."""

    def __init__(self, bot_id: int, until: datetime, *, renew: bool = True):
        self.bot_id = bot_id
        self.until = until
        self.taken = self.renewed = time.monotonic()
        self.lost = False
        self.released = False
        self._lock = threading.Lock()
        if renew:
            _keeper.add(self)

    def renew(self) -> bool:
        """Push the lease LEASE ahead again, if this process still holds it (the keeper thread calls this)."""
        with self._lock:
            if self.released or self.lost:
                return False
            until = timezone.now() + LEASE
            changed = Bot.objects.filter(pk=self.bot_id, lease_until=self.until).update(lease_until=until)
            if changed == 1:
                self.until, self.renewed = until, time.monotonic()
                return True
            self.lost = True
        log.warning("bot %s: its lease was taken over while a tick ran (the tick took longer than %s s "
                    "without a renewal)", self.bot_id, LEASE.seconds)
        return False

    def release(self, next_tick_at: datetime | None) -> bool:
        """Stop renewing, give the lease back, and say when the bot is next due."""
        with self._lock:
            if self.released:
                return False
            self.released = True
            until = self.until
        _keeper.remove(self)
        return release(self.bot_id, until, next_tick_at)


def hold(bot_id: int, token: datetime | None = None, now: datetime | None = None) -> Lease | None:
    """The lease a tick runs under: the one the dispatcher claimed (`token`), renewed, or (no token) a free
    one taken now. None when another worker holds the bot, or the database could not be asked (the bot
    stays due and is tried again)."""
    now = now or timezone.now()
    try:
        if token is None:
            until = claim_any(bot_id, now)
        else:
            until = now + LEASE
            if Bot.objects.filter(pk=bot_id, lease_until=token).update(lease_until=until) != 1:
                until = None
    except DB_ERRORS:
        log.warning("bot %s: database error taking its lease; it is tried again", bot_id, exc_info=True)
        reconnect()
        return None
    if until is None:
        return None
    # Inside a transaction (a test, a shell) nobody else sees the lease before the commit: nothing to renew.
    return Lease(bot_id, until, renew=not connection.in_atomic_block)


class _LeaseKeeper:
    """One thread per process renews the leases its ticks hold (started with the first one)."""

    CHECK_EVERY = 1.0

    def __init__(self):
        self._leases: dict[int, Lease] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def add(self, lease: Lease) -> None:
        with self._lock:
            self._leases[lease.bot_id] = lease
            if self._thread is None or self._pid != os.getpid() or not self._thread.is_alive():
                self._pid = os.getpid()  # a forked child has the dict but not the thread
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()

    def remove(self, lease: Lease) -> None:
        with self._lock:
            if self._leases.get(lease.bot_id) is lease:
                del self._leases[lease.bot_id]

    def held(self, bot_id: int) -> Lease | None:
        with self._lock:
            return self._leases.get(bot_id)

    def _run(self) -> None:
        while True:
            time.sleep(self.CHECK_EVERY)
            with self._lock:
                leases = list(self._leases.values())
            now = time.monotonic()
            touched = False
            for lease in leases:
                if now - lease.taken > MAX_HOLD:
                    log.error("bot %s: a tick has run for over %s s; its lease is let go", lease.bot_id, MAX_HOLD)
                    self.remove(lease)
                    continue
                if now - lease.renewed < RENEW_EVERY:
                    continue
                touched = True
                try:
                    lease.renew()
                except DB_ERRORS:
                    log.warning("bot %s: database error renewing its lease; trying again", lease.bot_id,
                                exc_info=True)
                    close_old_connections()
                if lease.lost:
                    self.remove(lease)
            if touched:
                # No connection is kept open between renewals (a test database must be droppable).
                connections.close_all()


_keeper = _LeaseKeeper()


def tick_inline() -> bool:
    """Tick in the dispatcher's own process (BOTS_TICK_INLINE, default on) instead of enqueueing a task.

    Inline saves a queue round trip per tick and shares the candle cache among all bots of a symbol,
    which is what one worker serving many replay bots wants (see bench/bot_ticks_bench.py); the queue
    spreads live bots over all workers, so a slow exchange holds up only its own bots.
    """
    return bool(getattr(settings, "BOTS_TICK_INLINE", True))


def run_claimed(claimed: list[tuple[int, datetime]], inline: bool) -> None:
    for bot_id, token in claimed:
        run_one(bot_id, token, inline)


def run_one(bot_id: int, token: datetime, inline: bool) -> None:
    """Tick one claimed bot (or enqueue its tick). Whatever escapes the tick's own error handling (a
    database error loading or releasing the bot) is this bot's alone: it is due again DB_RETRY later."""
    if not inline:
        from django_q.tasks import async_task

        try:
            async_task("bots.tick.tick_bot", bot_id, lease=token, group="bot-ticks")
        except Exception:
            log.exception("bot %s: its tick could not be enqueued; it is tried again", bot_id)
            reconnect()
            release(bot_id, token, timezone.now() + DB_RETRY)
        return
    from bots.tick import tick_bot

    try:
        tick_bot(bot_id, lease=token)
    except Exception:
        log.exception("bot %s: the tick failed outside its own error handling; it is tried again", bot_id)
        reconnect()
        lease = _keeper.held(bot_id)
        if lease is not None:
            lease.release(timezone.now() + DB_RETRY)
        else:
            release(bot_id, token, timezone.now() + DB_RETRY)


# Set in `manage.py worker`'s main process, which dispatches continuously, before it forks its cluster: the
# scheduled dispatcher task, when one of that cluster's workers runs it, has nothing to do.
_dispatcher_pid: int | None = None


def dispatch_in_this_process() -> None:
    global _dispatcher_pid
    _dispatcher_pid = os.getpid()


def dispatch(duration: float | None = 55.0, interval: float = 0.25, inline: bool | None = None,
             keep_going: Callable[[], bool] | None = None) -> int:
    """Claim due bots one at a time and tick them (inline, or through the queue), for `duration` seconds
    (None: until asked to stop). Steps, every `interval` seconds (at once while bots are catching up):
    1. list the active bots whose next candle has closed and whose lease is free;
    2. for each in turn: claim it with a conditional UPDATE (skip it if another dispatcher got it first)
       and tick it, or enqueue its tick;
    3. after each bot: stop if this process was asked to (SIGTERM/SIGINT, its parent died; see
       bots.shutdown) or `keep_going()` says no. The bot being ticked is always finished first.
    A database error skips one bot or one listing, never ends the loop. Returns how many bots were claimed.
    """
    if _dispatcher_pid is not None and _dispatcher_pid != os.getpid():
        return 0
    inline = tick_inline() if inline is None else inline
    deadline = None if duration is None else time.monotonic() + duration

    def stopping() -> bool:
        return shutdown.requested() or (keep_going is not None and not keep_going())

    from bots import live

    with live.coalescing():  # a user's dashboard totals at most once a second, however many of the bots tick
        total = _dispatch_rounds(inline, deadline, interval, stopping, live.flush_dashboards)
    if shutdown.requested():
        log.info("dispatcher stopped (%s)", shutdown.reason or "the parent process is gone")
    return total


def _dispatch_rounds(inline, deadline, interval, stopping, after_each) -> int:
    total = 0
    while not stopping():
        try:
            close_old_connections()
            now = timezone.now()
            bot_ids = list(due(now).order_by("next_tick_at", "pk").values_list("pk", flat=True)[:1000])
        except DB_ERRORS:
            log.warning("dispatcher: database error listing the due bots; trying again", exc_info=True)
            reconnect()
            bot_ids = []
        claimed = 0
        for bot_id in bot_ids:
            if stopping():
                break
            try:
                token = claim(bot_id)
            except DB_ERRORS:
                log.warning("bot %s: database error claiming it; it is tried again", bot_id, exc_info=True)
                reconnect()
                continue
            if token is None:
                continue  # another dispatcher got it first
            claimed += 1
            run_one(bot_id, token, inline)
            after_each()
        total += claimed
        if deadline is not None and time.monotonic() + interval >= deadline:
            break
        after_each()
        if not claimed and not stopping():  # bots catching up on missed candles are due again at once
            time.sleep(interval)
    return total
