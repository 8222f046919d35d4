"""bots.control: allowed transitions, refusals with reasons, the audit trail and the replay clock."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bots import control
from bots.models import Bot, BotEvent, LiveMessage
from bots.tests.factories import make_account, make_bot, make_user

pytestmark = pytest.mark.django_db


def test_start_pause_resume_stop_records_who_and_publishes():
    alice = make_user()
    bot = make_bot(alice)
    control.start_bot(bot, actor=alice, source="web")
    assert bot.status == Bot.Status.RUNNING and bot.started_at is not None and bot.needs_reconcile
    assert bot.status_reason == "Started by web (alice)."
    control.pause_bot(bot, actor=alice)
    assert bot.status == Bot.Status.PAUSED
    control.resume_bot(bot, actor=alice)
    assert bot.status == Bot.Status.RUNNING
    control.stop_bot(bot, source="command")
    assert bot.status == Bot.Status.STOPPED and bot.stopped_at is not None
    events = list(bot.events.values_list("kind", "source", "actor__username"))
    assert events == [("start", "web", "alice"), ("pause", "web", "alice"), ("resume", "web", "alice"),
                      ("stop", "command", None)]
    assert LiveMessage.objects.filter(group=f"bot-{bot.pk}").count() == 4


def test_a_change_not_allowed_from_the_current_state_says_why_and_changes_nothing():
    bot = make_bot(make_user())
    with pytest.raises(control.BotControlError, match="it is stopped"):
        control.stop_bot(bot)
    with pytest.raises(control.BotControlError, match="Cannot resume"):
        control.resume_bot(bot)
    bot.refresh_from_db()
    assert bot.status == Bot.Status.STOPPED and not BotEvent.objects.exists()


def test_cannot_start_with_rejected_keys_or_a_live_bot_on_a_paper_account():
    alice = make_user()
    bot = make_bot(alice, mode=Bot.Mode.LIVE)
    with pytest.raises(control.BotControlError, match="paper account"):
        control.start_bot(bot)
    bad = make_account(alice, label="bad keys", mode="live", status="invalid")
    bot2 = make_bot(alice, name="b2", account=bad, mode=Bot.Mode.LIVE)
    with pytest.raises(control.BotControlError, match="rejected keys"):
        control.start_bot(bot2)
    replay = make_bot(alice, name="r", mode=Bot.Mode.REPLAY)
    with pytest.raises(control.BotControlError, match="replay start"):
        control.start_bot(replay)
    assert set(Bot.objects.values_list("status", flat=True)) == {"stopped"}


def test_resuming_a_halted_bot_resets_the_drawdown_peak_but_resuming_a_paused_one_does_not():
    bot = make_bot(make_user(), status=Bot.Status.HALTED, equity_peak=20000, halted_until=None)
    control.resume_bot(bot)
    assert bot.equity_peak is None
    Bot.objects.filter(pk=bot.pk).update(equity_peak=20000)
    bot.refresh_from_db()
    control.pause_bot(bot)
    control.resume_bot(bot)
    assert bot.equity_peak == 20000


def test_replay_clock_runs_at_speed_and_stands_still_while_paused():
    start = datetime(2023, 1, 2, 16, 45, tzinfo=UTC)
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, replay_start=start, replay_speed=300)
    assert control.replay_now(bot) == start
    control.start_bot(bot)
    wall = bot.replay_started_at
    assert control.replay_now(bot, wall + timedelta(seconds=2)) == start + timedelta(minutes=10)
    control.pause_bot(bot)
    frozen = control.replay_now(bot)
    assert frozen >= start and control.replay_now(bot, timezone.now() + timedelta(hours=1)) == frozen
    control.resume_bot(bot)
    assert control.replay_now(bot, bot.replay_started_at) == frozen


def test_a_replay_starting_before_the_strategys_history_starts_at_the_first_candle_with_it_and_says_so():
    from django.conf import settings

    from bots import tick
    from exchanges.candles import load_candles, read_candle_file, upsert_candles
    from strategies.registry import build_strategy

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:600])
    candles = load_candles("binance", "BTC/USDT", "5m")
    warmup = build_strategy("rsi_cross").warmup
    alice = make_user()
    bot = make_bot(alice, mode=Bot.Mode.REPLAY, replay_start=candles.index[0] - timedelta(days=3))
    control.start_bot(bot, actor=alice)
    earliest = candles.index[warmup - 1] + timedelta(minutes=5)
    assert bot.status == Bot.Status.RUNNING and bot.replay_start == earliest and bot.replay_offset is None
    assert f"replay starts at {earliest:%Y-%m-%d %H:%M} UTC" in bot.status_reason
    assert f"needs {warmup} candles of history" in BotEvent.objects.get(bot=bot, kind="start").message
    Bot.objects.filter(pk=bot.pk).update(replay_started_at=None)  # the clock stands at the start
    result = tick.tick_bot(bot.pk)
    assert (result.outcome, result.candle_at) == ("ticked", candles.index[warmup - 1])
    assert "warming up" not in BotEvent.objects.filter(bot=bot).values_list("message", flat=True)

    # A start with enough history before it stays where it was asked for.
    later = make_bot(alice, name="later", mode=Bot.Mode.REPLAY, replay_start=candles.index[500].to_pydatetime())
    control.start_bot(later, actor=alice)
    assert later.replay_start == candles.index[500] and later.status_reason == "Started by web (alice)."
