"""Reproductions of issue 16's defects 1, 2 and 8 (each failed before its fix): candles without volume for
VWAP deviation and breakout, and Sharpe on an index that is not in nanoseconds."""

import math

import numpy as np
import pandas as pd
import pytest

from strategies import indicators
from strategies.backtest import BacktestSettings, periods_per_year, run_backtest
from strategies.registry import build_strategy
from strategies.tests.test_strategies import fired, frame, load_real

NAMES = {1: "BUY", -1: "SELL", 0: "HOLD"}


def real_without_volume(start=150, stop=260, rows=400) -> pd.DataFrame:
    candles = load_real().iloc[:rows].copy()
    candles.iloc[start:stop, candles.columns.get_loc("volume")] = 0.0
    return candles


class TestVWAPWithoutVolume:
    def test_a_window_without_volume_has_no_vwap_and_holds(self):
        candles = real_without_volume()
        window = 20
        vwap = indicators.rolling_vwap(candles["high"], candles["low"], candles["close"], candles["volume"], window)
        # Candles 169..259 see only zero volume in their 20-candle window: the running sum's residue used to
        # give a VWAP far from any price (negative here), and a BUY on the first such candle.
        assert np.all(np.isnan(vwap[150 + window - 1:260]))
        assert np.all(np.isfinite(vwap[window - 1:150 + window - 1]))
        assert np.all(np.isfinite(vwap[260:]))
        finite = vwap[np.isfinite(vwap)]
        assert finite.min() > candles["low"].min() * 0.99 and finite.max() < candles["high"].max() * 1.01
        signals = build_strategy("vwap_deviation", {"window": window}).signals(candles)
        assert not np.any(signals[150 + window - 1:260])

    def test_the_live_tick_gives_the_vectorised_signal_on_every_candle(self):
        candles = real_without_volume()
        strategy = build_strategy("vwap_deviation", {"window": 20, "threshold": 0.002})
        full = strategy.signals(candles)
        assert len(fired(full)) > 4
        for end in range(strategy.warmup - 1, len(candles)):
            window = candles.iloc[end + 1 - strategy.warmup: end + 1]
            assert strategy.execute(window)["signal"] == NAMES[int(full[end])], f"candle {end}"


class TestBreakoutWithoutVolume:
    def series(self):
        # 25 flat candles without volume, then a close above the channel with volume 5.
        close = np.r_[np.full(25, 100.0), 101.0]
        volume = np.r_[np.zeros(25), 5.0]
        return frame(close, volume=volume)

    def test_a_break_after_candles_without_volume_is_not_confirmed(self):
        candles = self.series()
        strategy = build_strategy("breakout", {"lookback": 20, "volume_factor": 1.5})
        # The mean volume of the channel's candles is 0: "5 >= 1.5 * 0" used to confirm every break.
        assert fired(strategy.signals(candles)) == []
        result = strategy.execute(candles)
        assert result["signal"] == "HOLD" and result["reason"]

    def test_without_the_volume_check_it_buys_and_the_reason_does_not_divide_by_zero(self):
        candles = self.series()
        strategy = build_strategy("breakout", {"lookback": 20, "volume_factor": 0})
        assert fired(strategy.signals(candles)) == [(25, 1)]
        # The live path's reason divided by the mean volume (ZeroDivisionError: the bot went to `error`).
        result = strategy.execute(candles)
        assert result["signal"] == "BUY"
        assert "no volume" in result["reason"]

    def test_zero_volume_break_after_volume_holds_too(self):
        close = np.r_[np.full(25, 100.0), 101.0]
        volume = np.r_[np.zeros(25), 0.0]
        strategy = build_strategy("breakout", {"lookback": 20, "volume_factor": 1.5})
        assert fired(strategy.signals(frame(close, volume=volume))) == []
        assert strategy.execute(frame(close, volume=volume))["signal"] == "HOLD"


class TestSharpeWhateverTheIndexUnit:
    @pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
    def test_sharpe_and_sortino_do_not_depend_on_the_index_unit(self, unit):
        candles = load_real().iloc[:3000]
        reference = candles.copy()
        converted = candles.copy()
        converted.index = candles.index.as_unit(unit)
        assert converted.index.unit == unit
        strategy = build_strategy("rsi_cross")
        settings = BacktestSettings(fee=0.001)
        expected = run_backtest(reference, strategy.signals(reference), settings).metrics
        got = run_backtest(converted, strategy.signals(converted), settings).metrics
        assert expected["sharpe"] is not None and expected["trades"] > 2
        assert got["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
        assert got["sortino"] == pytest.approx(expected["sortino"], rel=1e-12)

    def test_five_minute_candles_are_105192_a_year(self):
        for unit in ("s", "ms", "us", "ns"):
            index = pd.date_range("2024-01-01", periods=10, freq="5min", tz="UTC").as_unit(unit)
            assert math.isclose(periods_per_year(index), 365.25 * 288)
