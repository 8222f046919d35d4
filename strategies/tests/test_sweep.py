"""Parameter sweeps: sampled combinations equal single backtests, and bad grids are refused before running."""

import math
import random

import numpy as np
import pytest

from strategies import sweep
from strategies.backtest import BacktestSettings, run_backtest
from strategies.registry import build_strategy
from strategies.tests.test_strategies import load_real

RELATIVE = 1e-9


def single(strategy, candles, params, settings):
    values, exits = sweep.split_params(strategy, params)
    built = build_strategy(strategy, values)
    return run_backtest(candles, built.signals(candles), BacktestSettings(**{**settings.as_dict(), **exits}))


def assert_same(got: dict, expected: dict, trades: list[dict]):
    assert got["trades"] == expected["trades"] == len(trades)
    for key in ("end_equity", "total_return", "max_drawdown", "win_rate", "profit_factor", "exposure",
                "buy_and_hold_return"):
        if expected[key] is None:
            assert got[key] is None, key
        else:
            assert math.isclose(got[key], expected[key], rel_tol=RELATIVE, abs_tol=1e-12), key
    assert abs(got["total_return"] - expected["total_return"]) <= 1e-9
    for key in ("sharpe", "sortino"):
        # Sums in the loop versus numpy's pairwise sums: equal to far better than the ratio is meaningful.
        assert (got[key] is None) == (expected[key] is None), key
        if expected[key] is not None:
            assert math.isclose(got[key], expected[key], rel_tol=1e-7), key


@pytest.fixture(scope="module")
def candles():
    return load_real().iloc[:6000]


def test_sampled_rsi_combinations_equal_single_backtests(candles):
    grid = ("rsi_period=5:25:5,oversold=20:40:10,overbought=60:80:10,stop_loss=0|0.01,take_profit=0|0.02,"
            "trailing_stop=0|0.005")
    dimensions = sweep.parse_grid(grid, "rsi_cross")
    settings = BacktestSettings(fee=0.001, slippage=0.0005, stake=0.5)
    result = sweep.run_grid("rsi_cross", candles, dimensions, settings)
    assert result.evaluated == sweep.count_combinations(dimensions) == 5 * 3 * 3 * 8
    assert result.skipped == 0
    sample = random.Random(7).sample(result.results, 25) + [result.best]
    reasons = set()
    for entry in sample:
        expected = single("rsi_cross", candles, entry["params"], settings)
        reasons |= {t["exit_reason"] for t in expected.trades}
        assert_same(entry["metrics"], expected.metrics, expected.trades)
    assert {"signal", "stop_loss", "take_profit", "trailing_stop"} <= reasons
    assert any(r["metrics"]["trades"] > 10 for r in sample)


def test_other_strategies_share_the_signals_of_one_parameter_set(candles):
    dimensions = sweep.parse_grid("fast=5|8,slow=20:30:10,stop_loss=0|0.02", "ema_cross")
    settings = BacktestSettings(fee=0.001)
    result = sweep.run_grid("ema_cross", candles, dimensions, settings, objective="sharpe")
    assert result.evaluated == 8
    for entry in result.results:
        expected = single("ema_cross", candles, entry["params"], settings)
        assert_same(entry["metrics"], expected.metrics, expected.trades)
    scores = [sweep.score(r["metrics"], "sharpe", 1) for r in result.results]
    assert scores == sorted(scores, reverse=True)


def test_combinations_the_strategy_refuses_are_skipped_and_counted(candles):
    dimensions = sweep.parse_grid("oversold=30|50|70,overbought=60|70", "rsi_cross")
    result = sweep.run_grid("rsi_cross", candles, dimensions, BacktestSettings())
    # oversold must stay below overbought: (30,60), (30,70), (50,60), (50,70) run; (70,60), (70,70) do not.
    assert result.evaluated == 4 and result.skipped == 2
    assert all(r["params"]["oversold"] < r["params"]["overbought"] for r in result.results)


def test_ranking_puts_runs_with_too_few_trades_last(candles):
    dimensions = sweep.parse_grid("rsi_period=5|40,oversold=10|30", "rsi_cross")
    result = sweep.run_grid("rsi_cross", candles, dimensions, BacktestSettings(), min_trades=20)
    counts = [r["metrics"]["trades"] for r in result.results]
    enough = [c >= 20 for c in counts]
    assert enough == sorted(enough, reverse=True) and any(enough) and not all(enough)


def test_the_objectives_are_computed_and_named(candles):
    result = sweep.run_grid("rsi_cross", candles, sweep.parse_grid("rsi_period=14", "rsi_cross"), BacktestSettings(),
                            objective="calmar")
    metrics = result.best["metrics"]
    years = metrics["candles"] / (365.25 * 288)
    assert math.isclose(metrics["calmar"], ((1 + metrics["total_return"]) ** (1 / years) - 1) / metrics["max_drawdown"])
    assert math.isclose(metrics["profit_drawdown"], metrics["total_return"] / metrics["max_drawdown"])
    with pytest.raises(sweep.GridError, match="unknown objective 'profit'"):
        sweep.run_grid("rsi_cross", candles, sweep.parse_grid("rsi_period=14", "rsi_cross"), BacktestSettings(),
                       objective="profit")


def test_progress_reaches_the_total_and_a_stop_request_cancels(candles):
    dimensions = sweep.parse_grid("rsi_period=5:12:1,oversold=10:40:1", "rsi_cross")
    seen = []
    sweep.run_grid("rsi_cross", candles, dimensions, BacktestSettings(),
                   progress=lambda done, total, best: seen.append((done, total, best is not None)))
    assert seen[-1] == (248, 248, True) and [s[0] for s in seen] == sorted(s[0] for s in seen)
    calls = []
    stopped = sweep.run_grid("rsi_cross", candles, dimensions, BacktestSettings(),
                             should_stop=lambda: calls.append(1) or len(calls) > 2)
    assert stopped.cancelled and stopped.results == [] and len(calls) == 3


class TestGridParsing:
    def test_ranges_lists_and_single_values(self):
        dims = {d.name: d.values for d in sweep.parse_grid(
            "rsi_period=5:30:5, oversold=20|25, overbought=70, stop_loss=0.01:0.03:0.01", "rsi_cross")}
        assert dims == {"rsi_period": (5, 10, 15, 20, 25, 30), "oversold": (20.0, 25.0), "overbought": (70.0,),
                        "stop_loss": (0.01, 0.02, 0.03)}

    @pytest.mark.parametrize("grid,message", [
        ("", "the grid is empty"),
        ("  , ", "the grid is empty"),
        ("rsi_period=a:10:1", "rsi_period: 'a' is not a number"),
        ("oversold=20:forty:5", "oversold: 'forty' is not a number"),
        ("rsi_period=5:30:0", "the step must be above 0"),
        ("rsi_period=30:5:1", "runs backwards"),
        ("rsi_period=5.5:10:1", "rsi_period takes whole numbers"),
        ("rsi_period=1:10:1", "values must be from 2 to 200"),
        ("stop_loss=0:2:0.5", "values must be from 0 to 0.99"),
        ("period=5:10", "'period' is not a parameter of rsi_cross"),
        ("rsi_period", "must look like NAME=LOW:HIGH:STEP"),
        ("rsi_period=5,rsi_period=6", "rsi_period is given twice"),
        ("oversold=nan", "not a finite number"),
    ])
    def test_bad_grids_say_what_is_wrong(self, grid, message):
        with pytest.raises(sweep.GridError, match=message.replace("(", r"\(")):
            sweep.parse_grid(grid, "rsi_cross")

    def test_ten_million_combinations_are_refused_with_the_count_and_the_limit(self):
        grid = "rsi_period=2:101:1,stop_loss=0:0.0999:0.0001,take_profit=0:0.099:0.001"
        with pytest.raises(sweep.GridError) as caught:
            sweep.parse_grid(grid, "rsi_cross")
        assert str(caught.value).startswith("the grid has 10,000,000 combinations; the limit is 100,000")

    def test_a_billion_values_in_one_range_are_counted_not_listed(self):
        with pytest.raises(sweep.GridError, match="1,000,000,001 combinations"):
            sweep.parse_grid("take_profit=0:1:0.000000001", "rsi_cross")

    def test_candles_too_few_for_the_longest_warmup(self, candles):
        dims = sweep.parse_grid("rsi_period=5|50", "rsi_cross")
        with pytest.raises(sweep.GridError, match="1,000 candles are too few: the grid's longest warm-up needs 1,502"):
            sweep.run_grid("rsi_cross", candles.iloc[:1000], dims, BacktestSettings())


def test_metrics_are_plain_floats(candles):
    result = sweep.run_grid("rsi_cross", candles, sweep.parse_grid("rsi_period=14", "rsi_cross"), BacktestSettings())
    assert all(type(v) in (float, int) or v is None for v in result.best["metrics"].values())
    assert not isinstance(result.best["metrics"]["sharpe"], np.floating)


def test_each_indicator_is_computed_once_per_distinct_period(candles):
    dimensions = sweep.parse_grid("fast=5:10:1,slow=20:30:5,stop_loss=0|0.01", "ema_cross")
    market = sweep.Market(candles)
    results, skipped = sweep.evaluate("ema_cross", market, sweep.grid_combinations(dimensions), BacktestSettings())
    assert len(results) == 36 and skipped == 0
    # 18 parameter sets, but only 6 fast and 3 slow EMAs.
    assert market.indicators.misses == 9 and market.indicators.hits == 27


@pytest.mark.parametrize("strategy,grid", [
    ("breakout", "lookback=10:30:10,volume_factor=0|1|1.5"),
    ("vwap_deviation", "window=10|20,threshold=0.002:0.006:0.002"),
    ("mean_reversion", "window=10|20,std=1.5|2|2.5,exit_z=0|0.5"),
    ("macd_cross", "fast=6|12,slow=26,signal=5|9"),
])
def test_shared_indicators_give_every_strategy_the_single_backtests_figures(candles, strategy, grid):
    settings = BacktestSettings(fee=0.001, stop_loss=0.01)
    result = sweep.run_grid(strategy, candles, sweep.parse_grid(grid, strategy), settings)
    assert result.evaluated >= 4 and any(r["metrics"]["trades"] > 3 for r in result.results)
    for entry in result.results:
        expected = single(strategy, candles, entry["params"], settings)
        assert_same(entry["metrics"], expected.metrics, expected.trades)


def test_indicators_outside_a_sweep_are_not_kept_and_inside_are_read_only(candles):
    from strategies import indicators
    from strategies.shared_indicators import sharing

    first = indicators.ema(candles["close"], 10)
    assert indicators.ema(candles["close"], 10) is not first
    with sharing() as store:
        shared = indicators.ema(candles["close"], 10)
        assert indicators.ema(candles["close"], 10) is shared and not shared.flags.writeable
        assert indicators.ema(candles["close"], 11) is not shared
        other = candles["close"] * 1.0  # the same values in another array: computed again
        assert indicators.ema(other, 10) is not shared
    assert store.misses == 3 and store.hits == 1
    np.testing.assert_array_equal(shared, first)
