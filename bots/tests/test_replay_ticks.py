"""A replay bot's clock, tick by tick: gaps in the stored candles, a late first tick, a start at the first candle.

Each test is the reproduction of a defect found against the backtester (issue 16, defects 3, 4 and 5): it
fails on the code before the fix. The clock is driven by hand (a stopped wall clock, the replay offset set
per step), except where the defect needs the running clock.
"""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from bots import scheduler, tick
from bots.models import Bot, BotEvent, PnLSnapshot
from bots.tests.factories import make_bot, make_user
from exchanges.candles import find_gaps, load_candles, read_candle_file, upsert_candles

pytestmark = pytest.mark.django_db
GAPS_FILE = settings.CANDLE_DATA_DIR / "binance_UNNAMED-BTC_1m_gaps.csv"
MINUTE = timedelta(minutes=1)


@pytest.fixture(autouse=True)
def fresh_candle_cache():
    tick.clear_candle_cache()
    yield
    tick.clear_candle_cache()


@pytest.fixture
def gap_candles():
    upsert_candles("binance", "GAP/BTC", "1m", read_candle_file(GAPS_FILE, "1m").iloc[:300])
    return load_candles("binance", "GAP/BTC", "1m")


def at(bot: Bot, replay_time) -> None:
    """Stop the bot's replay clock at `replay_time` (no wall start: it does not run)."""
    Bot.objects.filter(pk=bot.pk).update(replay_offset=replay_time - bot.replay_start, replay_started_at=None,
                                         next_tick_at=None)


def test_a_gap_in_the_stored_candles_is_skipped_not_the_end_of_the_replay(gap_candles):
    """The shipped 1m gaps file stopped after 6 candles: the clock inside the first gap found no candle
    closed since the last one and took that for the end of the data."""
    candles = gap_candles
    gaps = find_gaps(candles, "1m")
    assert len(gaps) >= 5 and gaps[0][0] < candles.index[10]
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, symbol="GAP/BTC", timeframe="1m",
                   replay_start=candles.index[0].to_pydatetime(), max_open_positions=0)
    processed = []
    for k, opened in enumerate(candles.index[:120]):
        if k and opened - candles.index[k - 1] > MINUTE:
            at(bot, candles.index[k - 1] + 2 * MINUTE)  # inside the gap: nothing new has closed
            assert tick.tick_bot(bot.pk).outcome == "waiting"
        at(bot, opened + MINUTE)
        result = tick.tick_bot(bot.pk)
        assert result.outcome == "ticked", (k, result, Bot.objects.get(pk=bot.pk).status_reason)
        processed.append(result.candle_at)
    assert processed == list(candles.index[:120])
    bot.refresh_from_db()
    assert bot.status == Bot.Status.RUNNING
    assert PnLSnapshot.objects.filter(bot=bot).count() == 120


def test_after_a_gap_the_bot_is_due_when_the_next_stored_candle_closes(gap_candles):
    candles = gap_candles
    before, after, missing = find_gaps(candles, "1m")[0]
    wall = timezone.now()
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, symbol="GAP/BTC", timeframe="1m", replay_speed=60,
                   replay_start=candles.index[0].to_pydatetime(), replay_started_at=wall)
    # The candle after `before` is missing: the next one that closes is `after`, `missing` minutes later.
    assert scheduler.wall_time_of(bot, before + 2 * MINUTE) == wall + (after + MINUTE - candles.index[0]) / 60
    last = candles.index[-1].to_pydatetime()
    assert scheduler.wall_time_of(bot, last + 2 * MINUTE) == wall + (last + 2 * MINUTE - candles.index[0]) / 60, \
        "past the data the plain clock decides (the tick then sees the end)"


def test_the_first_tick_of_a_fast_replay_starts_at_the_replay_start_however_late_it_runs():
    """The first tick used the running clock as it was: at 600x, 10 s after the start it took the candle
    20 candles in, and the 19 before it (and their signals) were never replayed."""
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:600])
    candles = load_candles("binance", "BTC/USDT", "5m")
    start = candles.index[500].to_pydatetime()
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, replay_start=start,
                   replay_speed=600, replay_started_at=timezone.now() - timedelta(seconds=10))
    for k in range(499, 510):
        result = tick.tick_bot(bot.pk)
        assert (result.outcome, result.candle_at) == ("ticked", candles.index[k]), k


def test_a_replay_from_the_first_stored_candle_trades_instead_of_failing():
    """With its start at the first stored candle, the first tick found no closed candle and put the bot in
    error ("no stored candles before the replay clock")."""
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:50])
    candles = load_candles("binance", "BTC/USDT", "5m")
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                   replay_start=candles.index[0].to_pydatetime())
    result = tick.tick_bot(bot.pk)
    bot.refresh_from_db()
    assert (result.outcome, result.candle_at, bot.status) == ("ticked", candles.index[0], Bot.Status.RUNNING)
    assert not BotEvent.objects.filter(bot=bot, kind="error").exists()
    at(bot, candles.index[1] + timedelta(minutes=5))
    assert tick.tick_bot(bot.pk).candle_at == candles.index[1]
