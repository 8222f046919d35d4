"""Optuna search (seeded, reproducible) and walk-forward validation (past data only, overfitting flagged)."""

import numpy as np
import pandas as pd
import pytest

from strategies import optimize, sweep
from strategies.backtest import BacktestSettings
from strategies.tests.test_strategies import load_real

SPACE = "rsi_period=5:40:1,oversold=10:45:1,overbought=55:90:1,stop_loss=0:0.05:0.005"


@pytest.fixture(scope="module")
def candles():
    return load_real().iloc[:5000]


def params_of(result):
    return [r["params"] for r in result.results]


def test_a_search_with_a_seed_is_reproducible(candles):
    dims = sweep.parse_grid(SPACE, "rsi_cross", limit=None)
    settings = BacktestSettings(fee=0.001)
    first = optimize.search("rsi_cross", candles, dims, settings, trials=25, objective="sharpe", seed=3)
    again = optimize.search("rsi_cross", candles, dims, settings, trials=25, objective="sharpe", seed=3)
    other = optimize.search("rsi_cross", candles, dims, settings, trials=25, objective="sharpe", seed=4)
    assert params_of(first) == params_of(again) and len(first.results) >= 10
    assert [r["metrics"] for r in first.results] == [r["metrics"] for r in again.results]
    assert params_of(first) != params_of(other)
    assert first.best["metrics"]["sharpe"] == max(r["metrics"]["sharpe"] or -1e9 for r in first.results)
    # Every trial's values come from the space.
    for entry in first.results:
        p = entry["params"]
        assert 5 <= p["rsi_period"] <= 40 and 10 <= p["oversold"] <= 45 and 0 <= p["stop_loss"] <= 0.05


def test_search_progress_counts_trials_and_stops_when_asked(candles):
    dims = sweep.parse_grid(SPACE, "rsi_cross", limit=None)
    seen = []
    optimize.search("rsi_cross", candles, dims, BacktestSettings(), trials=12,
                    progress=lambda done, total, best: seen.append((done, total)))
    assert seen == [(k, 12) for k in range(1, 13)]
    stopped = optimize.search("rsi_cross", candles, dims, BacktestSettings(), trials=500,
                              should_stop=lambda: True)
    assert stopped.cancelled and len(stopped.results) <= 1


def test_windows_do_not_overlap_and_each_tests_after_it_trains():
    windows = optimize.walk_forward_windows(10_003, 4)
    assert len(windows) == 4
    for w in windows:
        assert w.train_start < w.train_end == w.test_start < w.test_end
        assert w.train_end - w.train_start == 3 * (w.test_end - w.test_start) or w.number == 4
    for a, b in zip(windows, windows[1:], strict=False):
        assert a.test_end == b.test_start  # out-of-sample parts back to back, never overlapping
        assert b.train_end <= b.test_start
    assert windows[-1].test_end == 10_003
    single = optimize.walk_forward_windows(1000, 1)
    assert (single[0].train_start, single[0].train_end, single[0].test_end) == (0, 750, 1000)
    with pytest.raises(sweep.GridError, match="too few for 4 walk-forward windows"):
        optimize.walk_forward_windows(10, 4)


def reversed_second_half(candles: pd.DataFrame) -> pd.DataFrame:
    """The candles, then the same candles played backwards (a rise becomes a fall), on a continuing clock."""
    back = candles.iloc[::-1]
    mirrored = pd.DataFrame({"open": back["close"].to_numpy(), "high": back["high"].to_numpy(),
                             "low": back["low"].to_numpy(), "close": back["open"].to_numpy(),
                             "volume": back["volume"].to_numpy()})
    step = candles.index[1] - candles.index[0]
    frame = pd.concat([candles.reset_index(drop=True), mirrored], ignore_index=True)
    frame.index = pd.DatetimeIndex(candles.index[0] + step * np.arange(len(frame)), name="time")
    return frame


def test_walk_forward_chooses_on_past_data_only_and_shows_the_drop():
    first = load_real().iloc[:6000]
    assert first["close"].iloc[-1] > first["close"].iloc[0] * 1.05  # the first half rises
    candles = reversed_second_half(first)
    dims = sweep.parse_grid("rsi_period=6:30:6,oversold=20:40:10,overbought=60:80:10", "rsi_cross")
    settings = BacktestSettings(fee=0.001)
    report = optimize.walk_forward("rsi_cross", candles, dims, settings, windows=1, ratio=1)
    (window,) = report["windows"]
    assert window["positions"] == [0, 6000, 6000, 12000]
    # The parameters are the best of a grid over the first half alone...
    alone = sweep.run_grid("rsi_cross", candles.iloc[:6000], dims, settings)
    assert window["params"] == alone.best["params"]
    assert window["in_sample"]["total_return"] == alone.best["metrics"]["total_return"] > 0.05
    # ...and what comes after cannot change them.
    changed = candles.copy()
    changed.iloc[6000:, :4] *= np.linspace(1.0, 0.5, 6000)[:, None]
    assert optimize.walk_forward("rsi_cross", changed, dims, settings, windows=1, ratio=1)["windows"][0]["params"] \
        == window["params"]
    # The reversal shows: out of sample far worse, flagged.
    assert window["out_of_sample"]["total_return"] < window["in_sample"]["total_return"] - 0.05
    assert "overfit" in window["flags"] and "overfit" in report["flags"]
    assert window["out_of_sample"]["candles"] == 6000


def test_rolling_walk_forward_with_a_search(candles):
    dims = sweep.parse_grid("rsi_period=5:30:1,oversold=15:40:5", "rsi_cross", limit=None)
    seen = []
    report = optimize.walk_forward("rsi_cross", candles, dims, BacktestSettings(), windows=3, trials=8, seed=1,
                                   progress=lambda done, total, best: seen.append((done, total)))
    assert len(report["windows"]) == 3 and seen[-1] == (24, 24)
    tests = [w["positions"][2:] for w in report["windows"]]
    assert tests[0][1] == tests[1][0] and tests[1][1] == tests[2][0] and tests[2][1] == len(candles)
    assert report["out_of_sample"]["trades"] == sum(w["out_of_sample"]["trades"] for w in report["windows"])
    assert all(set(w["flags"]) <= {"overfit", "too_few_trades"} for w in report["windows"])
