"""bots.scheduler: which bots are due, and a claim that only one caller can win."""

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
