"""bots.scheduler: which bots are due, and a claim that only one caller can win."""

import os
import time
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from bots import scheduler
from bots.models import Bot
from bots.tests.factories import make_bot, make_user

pytestmark = pytest.mark.django_db


def test_migrate_sets_up_the_dispatcher_schedule():
    schedule = Schedule.objects.get(name="bots dispatcher")
    assert schedule.func == "bots.scheduler.dispatch"
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == (Schedule.MINUTES, 1, -1)


def test_only_active_bots_whose_candle_closed_are_due():
    alice = make_user()
    now = timezone.now()
    running = make_bot(alice, name="running", status=Bot.Status.RUNNING)
    halted = make_bot(alice, name="halted", status=Bot.Status.HALTED, next_tick_at=now - timedelta(seconds=1))
    make_bot(alice, name="later", status=Bot.Status.RUNNING, next_tick_at=now + timedelta(seconds=5))
    make_bot(alice, name="paused", status=Bot.Status.PAUSED)
    make_bot(alice, name="stopped")
    make_bot(alice, name="held", status=Bot.Status.RUNNING, lease_until=now + timedelta(seconds=30))
    assert set(scheduler.due(now).values_list("pk", flat=True)) == {running.pk, halted.pk}


def test_a_bot_is_claimed_once_until_released():
    bot = make_bot(make_user(), status=Bot.Status.RUNNING)
    now = timezone.now()
    token = scheduler.claim(bot.pk, now)
    assert token == now + scheduler.LEASE
    assert scheduler.claim(bot.pk, now) is None
    assert scheduler.claim_any(bot.pk, now) is None
    assert scheduler.claim_due_bots(now) == []
    assert not scheduler.release(bot.pk, token - timedelta(seconds=1), None), "a stale token releases nothing"
    assert scheduler.release(bot.pk, token, now + timedelta(minutes=5))
    assert scheduler.claim(bot.pk, now) is None, "not due before its next candle"
    assert scheduler.claim(bot.pk, now + timedelta(minutes=5)) is not None


def test_an_expired_lease_can_be_claimed_again():
    """A worker killed mid-tick holds the bot only until its lease ends."""
    now = timezone.now()
    bot = make_bot(make_user(), status=Bot.Status.RUNNING, lease_until=now - timedelta(seconds=1))
    assert scheduler.claim_due_bots(now) == [(bot.pk, now + scheduler.LEASE)]


def test_wall_time_of_a_replay_candle_follows_the_speed():
    start = datetime(2023, 1, 2, 16, 45, tzinfo=UTC)
    wall = datetime(2026, 11, 21, 6, 0, tzinfo=UTC)
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, replay_start=start, replay_speed=300, replay_started_at=wall,
                   replay_offset=timedelta(minutes=5))
    assert scheduler.wall_time_of(bot, start + timedelta(minutes=15)) == wall + timedelta(seconds=2)
    paper = make_bot(make_user("bob"), mode=Bot.Mode.PAPER)
    assert scheduler.wall_time_of(paper, wall) == wall + scheduler.EXCHANGE_PUBLISH_DELAY


@pytest.mark.django_db(transaction=True)
def test_dispatch_enqueues_ticks_on_django_q(monkeypatch):
    """The default path: one django-q2 task per claimed bot (run synchronously here; django-q2 closes the
    connection after a task, hence a transactional test)."""
    from django.conf import settings as django_settings
    from django_q.conf import Conf

    from exchanges.candles import read_candle_file, upsert_candles

    monkeypatch.setattr(Conf, "SYNC", True)
    candles = read_candle_file(django_settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:500]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    alice = make_user()
    bots = [make_bot(alice, name=f"b{k}", mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                     replay_start=candles.index[450].to_pydatetime(), replay_offset=timedelta(minutes=10))
            for k in range(3)]
    assert scheduler.dispatch(duration=0, inline=False) == 3
    for bot in bots:
        bot.refresh_from_db()
        assert bot.last_candle_at == candles.index[451] and bot.lease_until is None
        assert bot.next_tick_at is not None
    assert scheduler.dispatch(duration=0, inline=False) == 0, "the replay clock stands still: nothing is due"


# --- The dispatcher under faults: one bot at a time, database errors, stop requests, lease renewal ---

def due_replay_bots(count: int) -> list[Bot]:
    """`count` replay bots with stopped clocks, each due for one candle."""
    from django.conf import settings as django_settings

    from exchanges.candles import read_candle_file, upsert_candles

    candles = read_candle_file(django_settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:500]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    owner = make_user(f"owner{Bot.objects.count()}")
    return [make_bot(owner, name=f"b{k}", mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                     replay_start=candles.index[450].to_pydatetime(), replay_offset=timedelta(minutes=10))
            for k in range(count)]


class BeforeQuery:
    """A connection.execute_wrapper: runs `action(sql, params)` before each query `matches`, at most `times`
    times (None: always); the action may raise, as a database in trouble does."""

    def __init__(self, matches, action, times: int | None = 1):
        self.matches, self.action, self.times, self.busy = matches, action, times, False

    def __call__(self, execute, sql, params, many, context):
        if not self.busy and self.times != 0 and self.matches(sql, params):
            if self.times is not None:
                self.times -= 1
            self.busy = True  # the action's own queries pass straight through
            try:
                self.action(sql, params)
            finally:
                self.busy = False
        return execute(sql, params, many, context)


def is_snapshot(sql, params) -> bool:
    return sql.startswith('INSERT INTO "bots_pnlsnapshot"')


def releases(bot_id: int):
    return lambda sql, params: sql.startswith('UPDATE "bots_bot" SET "lease_until" = %s, "next_tick_at" = %s') \
        and params[0] is None and bot_id in params


def fail(sql, params):
    from django.db import OperationalError

    raise OperationalError("database is locked")


@pytest.fixture
def no_stop_request():
    from bots import shutdown

    shutdown.reset()
    yield
    shutdown.reset()


@pytest.mark.django_db(transaction=True)
def test_the_dispatcher_holds_only_the_bot_it_is_ticking():
    """A worker killed mid-round must hold one bot, not every bot due at the start of the round."""
    from django.db import connection

    due_replay_bots(4)
    leased_while_booking = []
    count = BeforeQuery(is_snapshot, lambda *a: leased_while_booking.append(
        Bot.objects.filter(lease_until__isnull=False).count()), times=None)
    with connection.execute_wrapper(count):
        assert scheduler.dispatch(duration=0, inline=True) == 4
    assert leased_while_booking == [1, 1, 1, 1]


@pytest.mark.django_db(transaction=True)
def test_a_database_error_releasing_a_bot_is_retried_and_the_others_go_on(caplog):
    from django.db import connection

    bots = due_replay_bots(3)
    with connection.execute_wrapper(BeforeQuery(releases(bots[0].pk), fail)):
        assert scheduler.dispatch(duration=0, inline=True) == 3
    assert "retrying on a new connection" in caplog.text
    for bot in bots:
        bot.refresh_from_db()
        assert bot.last_candle_at is not None and bot.lease_until is None

    # If the retry fails too, that bot's lease simply runs out: it is ticked again LEASE later.
    bots = due_replay_bots(3)
    with connection.execute_wrapper(BeforeQuery(releases(bots[1].pk), fail, times=2)):
        assert scheduler.dispatch(duration=0, inline=True) == 3
    stuck = Bot.objects.get(pk=bots[1].pk)
    assert stuck.lease_until is not None and stuck.lease_until <= timezone.now() + scheduler.LEASE
    assert all(Bot.objects.get(pk=b.pk).lease_until is None for b in (bots[0], bots[2]))


@pytest.mark.django_db(transaction=True)
def test_a_database_error_claiming_or_loading_a_bot_skips_only_that_bot():
    from django.db import connection

    bots = due_replay_bots(3)
    claim_of_first = lambda sql, params: (sql.startswith('UPDATE "bots_bot" SET "lease_until" = %s WHERE '  # noqa: E731
                                                         '("bots_bot"."status" IN') and bots[0].pk in params)
    with connection.execute_wrapper(BeforeQuery(claim_of_first, fail)):
        assert scheduler.dispatch(duration=0, inline=True) == 2
    assert Bot.objects.get(pk=bots[0].pk).last_candle_at is None
    assert scheduler.dispatch(duration=0, inline=True) == 1, "tried again in the next round"

    # A database error where the tick cannot handle it (loading the bot): due again DB_RETRY later.
    bots = due_replay_bots(2)
    loading_second = lambda sql, params: (sql.startswith("SELECT") and 'INNER JOIN "exchanges_exchangeaccount"'  # noqa: E731
                                          in sql and bots[1].pk in params)
    before = timezone.now()
    with connection.execute_wrapper(BeforeQuery(loading_second, fail)):
        assert scheduler.dispatch(duration=0, inline=True) == 2
    second = Bot.objects.get(pk=bots[1].pk)
    assert second.lease_until is None and second.last_candle_at is None
    assert before + scheduler.DB_RETRY <= second.next_tick_at <= timezone.now() + scheduler.DB_RETRY
    assert Bot.objects.get(pk=bots[0].pk).last_candle_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_stop_request_ends_the_round_after_the_bot_being_ticked(no_stop_request):
    from django.db import connection

    from bots import shutdown

    bots = due_replay_bots(3)
    with connection.execute_wrapper(BeforeQuery(is_snapshot, lambda *a: shutdown.request("SIGTERM (test)"))):
        assert scheduler.dispatch(duration=30, inline=True) == 1
    first, *others = (Bot.objects.get(pk=b.pk) for b in bots)
    assert first.last_candle_at is not None and first.lease_until is None, "finished and released"
    assert all(b.last_candle_at is None and b.lease_until is None for b in others), "not touched"


@pytest.mark.django_db(transaction=True)
def test_the_scheduled_round_has_nothing_to_do_where_a_worker_dispatches_continuously(monkeypatch):
    due_replay_bots(1)
    monkeypatch.setattr(scheduler, "_dispatcher_pid", os.getpid() + 1)  # this process is that worker's child
    assert scheduler.dispatch(duration=0, inline=True) == 0
    monkeypatch.setattr(scheduler, "_dispatcher_pid", os.getpid())  # this process is that worker
    assert scheduler.dispatch(duration=0, inline=True) == 1


@pytest.fixture
def quick_renewals(monkeypatch):
    monkeypatch.setattr(scheduler, "RENEW_EVERY", 0.2)
    monkeypatch.setattr(scheduler._keeper, "CHECK_EVERY", 0.05)


def lease_in_db(bot_id: int):
    return Bot.objects.filter(pk=bot_id).values_list("lease_until", flat=True).first()


@pytest.mark.django_db(transaction=True)
def test_a_lease_is_renewed_while_held_and_not_after_its_release(quick_renewals):
    bot = make_bot(make_user(), status=Bot.Status.RUNNING)
    lease = scheduler.hold(bot.pk)
    taken = lease.until
    assert lease_in_db(bot.pk) == taken
    assert wait_for(lambda: lease_in_db(bot.pk) > taken + timedelta(seconds=0.3))
    assert scheduler.claim_any(bot.pk) is None, "still held"
    assert lease.release(None) and lease_in_db(bot.pk) is None
    time.sleep(0.5)
    assert lease_in_db(bot.pk) is None, "no renewal after the release"


@contextmanager
def row_locked_by_another_connection(bot_id: int):
    """Another client holds the bot's row (SQLite: the whole database) locked for a while."""
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        db = connection.settings_dict
        other = psycopg.connect(dbname=db["NAME"], user=db["USER"] or "postgres", password=db["PASSWORD"] or None,
                                host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
        other.execute("SELECT id FROM bots_bot WHERE id = %s FOR UPDATE", [bot_id])
    try:
        yield
    finally:
        other.rollback() if hasattr(other, "rollback") else None
        other.close()


@pytest.mark.django_db(transaction=True)
def test_a_database_error_renewing_a_lease_is_retried_and_the_lease_kept(quick_renewals, monkeypatch, caplog):
    from django.db import connection, connections

    # Give up waiting for a lock after 0.3 s instead of 30 s (only the connections opened from now on).
    options = connections.settings["default"].setdefault("OPTIONS", {})
    if connection.vendor == "sqlite":
        monkeypatch.setitem(options, "timeout", 0.3)
    else:
        monkeypatch.setitem(options, "options", "-c lock_timeout=300")
    bot = make_bot(make_user(), status=Bot.Status.RUNNING)
    lease = scheduler.hold(bot.pk)
    with row_locked_by_another_connection(bot.pk):
        assert wait_for(lambda: "database error renewing its lease" in caplog.text, timeout=10)
    assert wait_for(lambda: lease_in_db(bot.pk) == lease.until and lease.renewed > time.monotonic() - 0.5)
    assert not lease.lost
    assert lease.release(None)


def wait_for(condition, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


@pytest.mark.django_db(transaction=True)
def test_postgresql_a_lost_connection_releasing_a_bot_is_survived(caplog):
    """The server ends the dispatcher's connection (a restart, a failover) just before it releases a bot."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (set DATABASE_URL)")
    import psycopg

    bots = due_replay_bots(3)
    db = connection.settings_dict

    def server_ends_our_connection(sql, params):
        with psycopg.connect(dbname=db["NAME"], user=db["USER"] or "postgres", host=db["HOST"] or "127.0.0.1",
                             port=db["PORT"] or 5432, password=db["PASSWORD"] or None, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [connection.connection.info.backend_pid])

    with connection.execute_wrapper(BeforeQuery(releases(bots[0].pk), server_ends_our_connection)):
        assert scheduler.dispatch(duration=0, inline=True) == 3
    assert "releasing its lease" in caplog.text
    for bot in bots:
        bot.refresh_from_db()
        assert bot.last_candle_at is not None and bot.lease_until is None
