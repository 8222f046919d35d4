"""Chart data: epoch-aligned buckets keep each bucket's true OHLC and volume, coarser levels built from a
stored level equal those built from the candles, the equity rebuilt from the trades is the backtester's,
and every trade marker lands in the bucket holding its candle."""

import numpy as np
import pytest

from strategies.backtest import BacktestSettings, run_backtest
from strategies.charts import (
    Bars,
    bucket_candles,
    build_level,
    equity_from_trades,
    iso_seconds,
    trade_markers,
    window_bounds,
)
from strategies.registry import build_strategy
from strategies.tests.test_strategies import load_real

FIVE_MINUTES = 300


@pytest.fixture(scope="module")
def candles():
    return load_real()  # 10,999 real BTC/USDT 5m candles


@pytest.fixture(scope="module")
def result(candles):
    settings = BacktestSettings(stop_loss=0.01, take_profit=0.02, trailing_stop=0.015, slippage=0.0005, stake=0.6)
    return run_backtest(candles, build_strategy("rsi_cross", {}).signals(candles), settings), settings


def test_each_bucket_holds_the_open_high_low_close_and_volume_of_its_candles(candles):
    bars = Bars.from_candles(candles).aggregate(16 * FIVE_MINUTES)
    seconds = candles.index.asi8 // 1_000_000_000
    assert np.all(bars.time % (16 * FIVE_MINUTES) == 0) and np.all(np.diff(bars.time) > 0)
    assert bars.count.sum() == len(candles)
    for k in (0, 1, 100, len(bars) - 1):
        inside = candles[(seconds >= bars.time[k]) & (seconds < bars.time[k] + 16 * FIVE_MINUTES)]
        assert len(inside) == bars.count[k] > 0
        assert bars.open[k] == inside["open"].iloc[0] and bars.close[k] == inside["close"].iloc[-1]
        assert bars.high[k] == inside["high"].max() and bars.low[k] == inside["low"].min()
        assert bars.volume[k] == pytest.approx(inside["volume"].sum(), rel=1e-12)
        assert bars.last[k] == inside.index[-1].value // 1_000_000_000
    # The first candle (16:45) is not on a 80-minute boundary: its bucket starts before it.
    assert bars.time[0] < seconds[0] and bars.count[0] < 16


def test_a_coarse_level_built_from_a_stored_level_equals_one_built_from_the_candles(candles, result):
    equity = result[0].equity
    size, level = build_level(candles, equity, FIVE_MINUTES, rows=1000)
    assert size == 16 and len(level) <= 1000  # 10,999 candles in at most 1,000 rows: 16 per row
    stored = Bars.from_bytes(level.to_bytes())
    direct = Bars.from_candles(candles, equity).aggregate(128 * FIVE_MINUTES)
    via_level = stored.aggregate(128 * FIVE_MINUTES)
    for column in ("time", "open", "high", "low", "close", "count", "last", "equity"):
        assert np.array_equal(getattr(direct, column), getattr(via_level, column)), column
    assert np.allclose(direct.volume, via_level.volume, rtol=1e-12, atol=0)
    # The equity of a bucket is the equity at the close of its last candle.
    closes = equity.to_numpy()
    ends = np.cumsum(direct.count) - 1
    assert np.array_equal(direct.equity, closes[ends])


def test_bucket_size_is_the_smallest_power_of_two_that_fits():
    assert bucket_candles(0, 1999 * 60, 60, 2000) == 1
    assert bucket_candles(0, 2000 * 60, 60, 2000) == 2
    size = bucket_candles(17, 17 + 999_999 * 60, 60, 2000)
    assert size == 512 and (17 + 999_999 * 60) // (512 * 60) - 17 // (512 * 60) + 1 <= 2000
    assert bucket_candles(17, 17 + 999_999 * 60, 60, 2000) > 256


def test_window_bounds_cover_whole_overview_buckets_and_stay_near_the_run():
    lo, hi = window_bounds(1000, 100_000, 5_000, 7_000, 4_096, 512)
    assert lo == 4_096 and hi == 8_192 and lo % 4096 == 0 and hi % 4096 == 0
    lo, hi = window_bounds(1000, 100_000, None, None, None, 300)
    assert lo == 900 and hi == 100_200
    lo, hi = window_bounds(1000, 100_000, -50, 10**12, None, 300)
    assert lo == 900 and hi == 100_200  # clamped to the run first


def test_equity_rebuilt_from_trades_equals_the_backtesters(candles, result):
    run, settings = result
    assert {t["exit_reason"] for t in run.trades} >= {"stop_loss", "take_profit", "signal"}
    time = candles.index.asi8 // 1_000_000_000
    rebuilt = equity_from_trades(time, candles["close"].to_numpy(), run.trades, settings.cash, settings.stake)
    assert np.allclose(rebuilt, run.equity.to_numpy(), rtol=1e-9, atol=0)
    # Any slice of candles gives the same values: the state comes from the trades, not from candle 0.
    part = slice(5000, 5300)
    sliced = equity_from_trades(time[part], candles["close"].to_numpy()[part], run.trades, settings.cash,
                                settings.stake)
    assert np.allclose(sliced, run.equity.to_numpy()[part], rtol=1e-9, atol=0)
    # A run whose last trade is still open at the end (valued at the last close, no exit fee).
    short = candles.iloc[:3000]
    open_end = run_backtest(short, build_strategy("rsi_cross", {}).signals(short), BacktestSettings())
    if open_end.trades and open_end.trades[-1]["exit_reason"] == "end":
        t = short.index.asi8 // 1_000_000_000
        assert np.allclose(equity_from_trades(t, short["close"].to_numpy(), open_end.trades, 10_000.0, 1.0),
                           open_end.equity.to_numpy(), rtol=1e-9, atol=0)


def test_markers_land_in_the_bucket_of_their_candle_and_count_every_trade(candles, result):
    run, _ = result
    bars = Bars.from_candles(candles).aggregate(64 * FIVE_MINUTES)
    markers = trade_markers(run.trades, bars.time, 0, 2**40)
    assert sum(m[2] for m in markers if m[1] == "entry") == len(run.trades)
    assert sum(m[2] for m in markers if m[1] == "exit") == len(run.trades)
    by_bar = {(m[0], m[1]): m for m in markers}
    for trade in run.trades[:40]:
        for kind in ("entry", "exit"):
            t = int(iso_seconds([trade[f"{kind}_time"]])[0])
            marker = by_bar[(t // (64 * FIVE_MINUTES) * (64 * FIVE_MINUTES), kind)]
            assert marker[0] <= t < marker[0] + 64 * FIVE_MINUTES
            assert marker[3] == next(x for x in run.trades if iso_seconds([x[f"{kind}_time"]])[0] // (64 * 300)
                                     == t // (64 * 300))[f"{kind}_price"]  # the first trade's price
    reasons = " ".join(m[4] for m in markers if m[1] == "exit")
    assert "stop_loss" in reasons and "take_profit" in reasons and "×" in reasons
    assert all(m[4] == "" for m in markers if m[1] == "entry")
    # A window keeps only the trades whose candle opens inside it.
    lo, hi = int(bars.time[10]), int(bars.time[20])
    inside = trade_markers(run.trades, bars.time, lo, hi)
    assert all(lo <= m[0] < hi for m in inside)
    entries_inside = sum(1 for t in run.trades if lo <= iso_seconds([t["entry_time"]])[0] < hi)
    assert sum(m[2] for m in inside if m[1] == "entry") == entries_inside


def test_empty_inputs():
    assert len(Bars.empty().aggregate(60)) == 0
    assert trade_markers([], np.arange(3), 0, 10) == []
    assert np.array_equal(equity_from_trades(np.arange(3), np.ones(3), [], 100.0, 1.0), [100.0] * 3)
