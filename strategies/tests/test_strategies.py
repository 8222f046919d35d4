"""Each strategy's rule on small hand-made series, RSI against TA-Lib, live/vectorised parity on real data,
and parameter validation."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from strategies.registry import STRATEGIES, InvalidParameters, build_strategy

DATA = Path(__file__).parent / "data"


def frame(close, volume=None, high=None, low=None) -> pd.DataFrame:
    close = np.asarray(close, dtype=np.float64)
    n = len(close)
    index = pd.date_range("2024-01-01", periods=n, freq="5min", tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": close,
            "high": close if high is None else np.asarray(high, dtype=np.float64),
            "low": close if low is None else np.asarray(low, dtype=np.float64),
            "close": close,
            "volume": np.ones(n) if volume is None else np.asarray(volume, dtype=np.float64),
        },
        index=index,
    )


def load_real(name="binance_BTC-USDT_5m") -> pd.DataFrame:
    raw = pd.read_csv(DATA / f"{name}.csv")
    raw.index = pd.DatetimeIndex(pd.to_datetime(raw.pop("timestamp"), unit="ms", utc=True), name="time")
    return raw.astype(np.float64)


def fired(signals) -> list[tuple[int, int]]:
    """(index, signal) of every non-HOLD candle."""
    return [(int(i), int(signals[i])) for i in np.flatnonzero(signals)]


RISING = np.arange(100.0, 140.0)
FALLING = np.arange(140.0, 100.0, -1.0)
FLAT = np.full(40, 100.0)
ALTERNATING = np.tile([100.0, 101.0], 20)
# 20 falls of 1 (100 -> 81), 30 rises (82 -> 111, indices 20..49), 20 falls (110 -> 91, indices 50..69).
V_SHAPE = np.r_[np.arange(100.0, 80.0, -1.0), np.arange(82.0, 112.0), np.arange(110.0, 90.0, -1.0)]


class TestRSICross:
    def test_rising_series_has_rsi_100_and_no_signal(self):
        strategy = build_strategy("rsi_cross")
        evaluation = strategy.evaluate(frame(RISING))
        assert np.all(evaluation.values["rsi"][14:] == 100.0)
        assert fired(evaluation.signals) == []

    @pytest.mark.parametrize("series", [FALLING, FLAT, ALTERNATING], ids=["falling", "flat", "alternating"])
    def test_no_cross_no_signal(self, series):
        assert fired(build_strategy("rsi_cross").signals(frame(series))) == []

    def test_v_shape_buys_and_sells_at_the_exact_candles(self):
        # Every move is 1, so avg gain + avg loss = 1 and RSI = 100 * avg gain. After the falls avg gain
        # is 0; m rises make it 1 - (13/14)^m: 25.7 at m=4, 31.0 at m=5 -> BUY on the 5th rise (index 24).
        # After 30 rises it is 0.8916; k falls give 0.8916 * (13/14)^k: 71.4 at k=3, 66.3 at k=4 -> SELL at 53.
        assert fired(build_strategy("rsi_cross").signals(frame(V_SHAPE))) == [(24, 1), (53, -1)]

    def test_execute_reports_the_last_candle(self):
        strategy = build_strategy("rsi_cross")
        result = strategy.execute(frame(V_SHAPE[:25]))
        assert result["signal"] == "BUY"
        assert "crossed up through 30" in result["reason"]
        # 0.5 + 0.5 * (30 - 25.65) / 30
        assert result["confidence"] == pytest.approx(0.5 + 0.5 * (30 - 25.65337359) / 30, abs=1e-6)
        assert strategy.execute(frame(V_SHAPE[:26]))["signal"] == "HOLD"
        assert strategy.execute(frame(V_SHAPE[:26]))["confidence"] == 0.0

    def test_rsi_equals_talib_exactly_on_real_data(self):
        candles = load_real()
        for period in (2, 14, 30):
            ours = build_strategy("rsi_cross", {"rsi_period": period}).evaluate(candles).values["rsi"]
            theirs = talib.RSI(candles["close"].to_numpy(), timeperiod=period)
            np.testing.assert_array_equal(ours, theirs)


class TestMeanReversion:
    params = {"window": 5, "std": 1.5, "exit_z": 0.5}

    @pytest.mark.parametrize("series", [FLAT, RISING, FALLING], ids=["flat", "rising", "falling"])
    def test_steady_series_no_signal(self, series):
        # A straight line keeps z constant (+-sqrt(2) for window 5), so nothing is crossed.
        assert fired(build_strategy("mean_reversion", self.params).signals(frame(series))) == []

    def test_drop_buys_and_recovery_sells(self):
        # Window [100 x4, 90]: mean 98, std 4, z = -2 (crosses -1.5) -> BUY at 10.
        # Window [100 x3, 90, 100]: mean 98, std 4, z = +0.5 (crosses -0.5) -> SELL at 11.
        series = np.r_[np.full(10, 100.0), 90.0, np.full(10, 100.0)]
        assert fired(build_strategy("mean_reversion", self.params).signals(frame(series))) == [(10, 1), (11, -1)]

    def test_alternating_sells_on_every_up_swing(self):
        # Windows alternate z = +-0.816: each rise crosses -0.5 upwards (SELL), no fall reaches -1.5.
        signals = build_strategy("mean_reversion", self.params).signals(frame(ALTERNATING))
        assert fired(signals) == [(i, -1) for i in range(5, 40, 2)]


class TestBreakout:
    def test_rising_needs_volume(self):
        strategy = build_strategy("breakout", {"lookback": 3, "volume_factor": 1.5})
        assert fired(strategy.signals(frame(RISING))) == []
        volume = np.ones(len(RISING))
        volume[6] = 1.5  # exactly 1.5 x the mean of the 3 candles before it
        volume[9] = 1.49
        assert fired(strategy.signals(frame(RISING, volume=volume))) == [(6, 1)]

    def test_rising_without_volume_check_buys_every_new_high(self):
        strategy = build_strategy("breakout", {"lookback": 3, "volume_factor": 0})
        assert fired(strategy.signals(frame(RISING))) == [(i, 1) for i in range(3, 40)]

    def test_falling_sells_every_new_low(self):
        strategy = build_strategy("breakout", {"lookback": 3})
        assert fired(strategy.signals(frame(FALLING))) == [(i, -1) for i in range(3, 40)]

    @pytest.mark.parametrize("series", [FLAT, ALTERNATING], ids=["flat", "alternating"])
    def test_inside_the_channel_holds(self, series):
        strategy = build_strategy("breakout", {"lookback": 3, "volume_factor": 0})
        assert fired(strategy.signals(frame(series))) == []


class TestVWAPDeviation:
    params = {"window": 3, "threshold": 0.02}

    def test_drop_buys_and_recovery_sells(self):
        # Window [100, 100, 94]: VWAP 98, 94/98 - 1 = -4.1 % -> BUY at 5.
        # Window [100, 94, 100]: VWAP 98, 100/98 - 1 = +2.04 % -> SELL at 6.
        series = np.r_[np.full(5, 100.0), 94.0, np.full(5, 100.0)]
        strategy = build_strategy("vwap_deviation", self.params)
        assert fired(strategy.signals(frame(series))) == [(5, 1), (6, -1)]

    @pytest.mark.parametrize("series", [FLAT, RISING, FALLING, ALTERNATING],
                             ids=["flat", "rising", "falling", "alternating"])
    def test_small_deviations_hold(self, series):
        # The rising/falling steps are ~1 %, under the 2 % threshold.
        assert fired(build_strategy("vwap_deviation", self.params).signals(frame(series))) == []

    def test_no_volume_holds(self):
        series = np.r_[np.full(5, 100.0), 94.0, np.full(5, 100.0)]
        strategy = build_strategy("vwap_deviation", self.params)
        assert fired(strategy.signals(frame(series, volume=np.zeros(len(series))))) == []


class TestEMACross:
    params = {"fast": 2, "slow": 4}

    @pytest.mark.parametrize("series", [FLAT, RISING, FALLING], ids=["flat", "rising", "falling"])
    def test_no_cross(self, series):
        assert fired(build_strategy("ema_cross", self.params).signals(frame(series))) == []

    def test_v_shape(self):
        # Index 20: EMA2 81.83 < EMA4 82.30; index 21: 82.61 > 82.58 -> BUY at 21; the fall crosses back at 51.
        assert fired(build_strategy("ema_cross", self.params).signals(frame(V_SHAPE))) == [(21, 1), (51, -1)]

    def test_alternating_crosses_every_candle(self):
        signals = build_strategy("ema_cross", self.params).signals(frame(ALTERNATING))
        assert fired(signals) == [(i, 1 if i % 2 else -1) for i in range(4, 40)]


class TestMACDCross:
    params = {"fast": 2, "slow": 4, "signal": 2}

    @pytest.mark.parametrize("series", [FLAT, RISING, FALLING], ids=["flat", "rising", "falling"])
    def test_no_cross(self, series):
        assert fired(build_strategy("macd_cross", self.params).signals(frame(series))) == []

    def test_v_shape(self):
        assert fired(build_strategy("macd_cross", self.params).signals(frame(V_SHAPE))) == [(20, 1), (50, -1)]

    def test_alternating(self):
        signals = build_strategy("macd_cross", self.params).signals(frame(ALTERNATING))
        assert fired(signals) == [(i, 1 if i % 2 else -1) for i in range(5, 40)]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_live_tick_on_warmup_window_equals_vectorised_signal(name):
    """execute() on the last `warmup` candles gives the signal signals() gives on the whole history."""
    candles = load_real()
    strategy = build_strategy(name)
    full = strategy.signals(candles)
    names = {1: "BUY", -1: "SELL", 0: "HOLD"}
    # Every candle that fired, plus a spread of HOLD candles, each seen through a warmup-long window only.
    checked = np.r_[np.flatnonzero(full), np.arange(strategy.warmup, len(candles), 97)]
    checked = np.unique(checked[checked >= strategy.warmup - 1])
    assert len(np.flatnonzero(full)) > 0
    for end in checked:
        window = candles.iloc[end + 1 - strategy.warmup: end + 1]
        result = strategy.execute(window)
        assert result["signal"] == names[int(full[end])], f"candle {end}"
        assert 0.0 <= result["confidence"] <= 1.0
        assert result["reason"]


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_short_history_holds_without_error(name):
    strategy = build_strategy(name)
    candles = frame(RISING[:3])
    assert fired(strategy.signals(candles)) == []
    assert strategy.execute(candles)["signal"] == "HOLD"
    assert strategy.execute(candles.iloc[:0]) == {"signal": "HOLD", "confidence": 0.0, "reason": "no candles"}


class TestParameters:
    def test_defaults(self):
        assert build_strategy("rsi_cross").values == {"rsi_period": 14, "oversold": 30.0, "overbought": 70.0}
        assert build_strategy("mean_reversion").values == {"window": 20, "std": 2.0, "exit_z": 0.5}
        assert build_strategy("breakout").values == {"lookback": 20, "volume_factor": 1.5}
        assert build_strategy("vwap_deviation").values["threshold"] == 0.02

    def test_strings_are_coerced_to_the_parameter_type(self):
        strategy = build_strategy("rsi_cross", {"rsi_period": "21", "oversold": "25.5"})
        assert strategy.rsi_period == 21 and isinstance(strategy.rsi_period, int)
        assert strategy.oversold == 25.5

    @pytest.mark.parametrize(
        ("params", "field", "message"),
        [
            ({"rsi_period": 1}, "rsi_period", "between 2 and 200"),
            ({"rsi_period": 14.5}, "rsi_period", "whole number"),
            ({"rsi_period": "abc"}, "rsi_period", "must be a number"),
            ({"oversold": "nan"}, "oversold", "finite"),
            ({"oversold": 80}, "oversold", "below overbought"),
            ({"rsi_periods": 14}, "rsi_periods", "not a parameter"),
            ({"overbought": True}, "overbought", "must be a number"),
        ],
    )
    def test_bad_parameters_name_the_field(self, params, field, message):
        with pytest.raises(InvalidParameters) as caught:
            build_strategy("rsi_cross", params)
        assert message in caught.value.errors[field]

    def test_cross_field_rules(self):
        with pytest.raises(InvalidParameters) as caught:
            build_strategy("ema_cross", {"fast": 30, "slow": 20})
        assert caught.value.errors == {"fast": "must be below slow"}
        with pytest.raises(InvalidParameters) as caught:
            build_strategy("mean_reversion", {"std": 1.0, "exit_z": 1.0})
        assert "exit_z" in caught.value.errors

    def test_unknown_strategy(self):
        with pytest.raises(InvalidParameters) as caught:
            build_strategy("moon", {})
        assert "unknown strategy 'moon'" in caught.value.errors["strategy"]

    def test_every_strategy_documents_rule_and_confidence(self):
        for cls in STRATEGIES.values():
            assert "BUY" in cls.__doc__ and "SELL" in cls.__doc__ and "onfidence" in cls.__doc__
            for param in cls.params:
                assert param.help and param.minimum <= param.default <= param.maximum
