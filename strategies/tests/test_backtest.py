"""The backtester: reference trades on real data, and fees, slippage, stops and targets on hand-made candles
with exact fill prices."""

import numpy as np
import pandas as pd
import pytest

from strategies.backtest import BacktestSettings, run_backtest
from strategies.registry import build_strategy
from strategies.tests.test_strategies import load_real

NO_COSTS = {"cash": 1000.0, "fee": 0.0}


def candles(rows) -> pd.DataFrame:
    """rows: (open, high, low, close) per candle, 1-minute apart from 2024-01-01 00:00 UTC."""
    data = np.asarray(rows, dtype=np.float64)
    index = pd.date_range("2024-01-01", periods=len(data), freq="1min", tz="UTC", name="time")
    return pd.DataFrame({"open": data[:, 0], "high": data[:, 1], "low": data[:, 2], "close": data[:, 3],
                         "volume": np.ones(len(data))}, index=index)


def run(rows, signals, **settings):
    return run_backtest(candles(rows), np.asarray(signals, dtype=np.int8), BacktestSettings(**settings))


class TestReference:
    """Figures from ../shared/data/README.md, agreed by vectorbt, backtesting.py and a plain numpy loop."""

    def test_rsi_cross_btc_usdt_5m(self):
        data = load_real("binance_BTC-USDT_5m")
        result = run_backtest(data, build_strategy("rsi_cross").signals(data), BacktestSettings(fee=0.001))
        reasons = [t["exit_reason"] for t in result.trades]
        assert len(result.trades) == 35
        assert reasons.count("signal") == 34 and reasons[-1] == "end"
        assert result.metrics["total_return"] == pytest.approx(0.05632, abs=5e-6)
        first = result.trades[0]
        # Fills at the open of the candle after the signal candle.
        entry_at = pd.Timestamp(first["entry_time"])
        signal_at = data.index[data.index.get_loc(entry_at) - 1]
        assert build_strategy("rsi_cross").signals(data)[data.index.get_loc(signal_at)] == 1
        assert first["entry_price"] == data.loc[entry_at, "open"]

    def test_rsi_cross_1m_with_gaps(self):
        data = load_real("binance_UNNAMED-BTC_1m_gaps")
        result = run_backtest(data, build_strategy("rsi_cross").signals(data), BacktestSettings(fee=0.001))
        assert len(result.trades) == 46
        assert result.metrics["total_return"] == pytest.approx(0.4413, abs=5e-5)
        assert result.metrics["trades"] == 46
        assert len(result.equity) == len(data)
        assert result.equity.iloc[-1] == pytest.approx(10000 * 1.4413, abs=0.5)


class TestFills:
    def test_fee_on_both_sides(self):
        rows = [(100, 100, 100, 100), (100, 100, 100, 100), (110, 110, 110, 110), (120, 120, 120, 120),
                (120, 120, 120, 120)]
        result = run(rows, [1, 0, -1, 0, 0], cash=1000.0, fee=0.01)
        (trade,) = result.trades
        units = 1000 / (100 * 1.01)
        assert trade["size"] == pytest.approx(units, rel=1e-12)
        assert trade["entry_price"] == 100 and trade["exit_price"] == 120
        assert trade["fee"] == pytest.approx(units * 100 * 0.01 + units * 120 * 0.01, rel=1e-12)
        assert trade["pnl"] == pytest.approx(units * 120 * 0.99 - 1000, rel=1e-12)
        assert trade["exit_reason"] == "signal"
        assert trade["entry_time"] == "2024-01-01T00:01:00Z" and trade["exit_time"] == "2024-01-01T00:03:00Z"
        assert result.metrics["total_return"] == pytest.approx(units * 120 * 0.99 / 1000 - 1, rel=1e-12)
        # Equity at each close: cash before entry, units * close while long, proceeds after.
        np.testing.assert_allclose(result.equity.to_numpy(),
                                   [1000, units * 100, units * 110, units * 120 * 0.99, units * 120 * 0.99])

    def test_slippage_moves_market_fills_against_the_trader(self):
        rows = [(100, 100, 100, 100), (100, 100, 100, 100), (120, 120, 120, 120)]
        (trade,) = run(rows, [1, -1, 0], **NO_COSTS, slippage=0.01).trades
        assert trade["entry_price"] == pytest.approx(101.0)
        assert trade["exit_price"] == pytest.approx(118.8)

    def test_stake_is_a_fraction_of_equity(self):
        rows = [(100, 100, 100, 100)] * 2 + [(200, 200, 200, 200)] * 2 + [(100, 100, 100, 100)] * 2
        result = run(rows, [1, 0, -1, 1, 0, 0], **NO_COSTS, stake=0.5)
        first, second = result.trades
        assert first["size"] == pytest.approx(5.0)  # 500 at 100
        # Equity after the first trade (sold at 200) is 500 + 5 * 200 = 1500; half of it, 750, buys 7.5 at 100.
        assert second["size"] == pytest.approx(7.5)
        assert second["exit_reason"] == "end"
        assert result.metrics["total_return"] == pytest.approx((750 + 7.5 * 100) / 1000 - 1)

    def test_open_position_is_valued_at_the_last_close_without_exit_fee(self):
        rows = [(100, 100, 100, 100), (100, 100, 100, 100), (100, 100, 100, 130)]
        result = run(rows, [1, 0, 0], cash=1000.0, fee=0.01)
        (trade,) = result.trades
        units = 1000 / 101
        assert trade["exit_reason"] == "end" and trade["exit_price"] == 130
        assert trade["pnl"] == pytest.approx(units * 130 - 1000)
        assert result.metrics["end_equity"] == pytest.approx(units * 130)

    def test_sell_while_flat_and_buy_while_long_are_ignored(self):
        rows = [(100, 100, 100, 100)] * 3 + [(150, 150, 150, 150)] * 3
        result = run(rows, [-1, 1, 1, 1, -1, 0], **NO_COSTS)
        (trade,) = result.trades
        assert trade["entry_time"] == "2024-01-01T00:02:00Z" and trade["entry_price"] == 100
        assert trade["exit_time"] == "2024-01-01T00:05:00Z" and trade["exit_price"] == 150

    def test_signal_on_the_last_candle_does_nothing(self):
        result = run([(100, 100, 100, 100)] * 3, [0, 0, 1], **NO_COSTS)
        assert result.trades == [] and result.metrics["total_return"] == 0.0
        assert result.metrics["exposure"] == 0.0


class TestProtectiveExits:
    entry = (100, 100, 100, 100)

    def test_stop_loss_fills_at_the_stop(self):
        rows = [self.entry, (100, 101, 99, 100), (99, 99.5, 97, 97.5), (97, 97, 97, 97)]
        (trade,) = run(rows, [1, 0, 0, 0], **NO_COSTS, stop_loss=0.02).trades
        assert trade["exit_price"] == pytest.approx(98.0)
        assert trade["exit_reason"] == "stop_loss" and trade["exit_time"] == "2024-01-01T00:02:00Z"

    def test_stop_loss_with_slippage(self):
        rows = [self.entry, (100, 101, 99, 100), (99, 99.5, 97, 97.5)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, stop_loss=0.02, slippage=0.001).trades
        assert trade["entry_price"] == pytest.approx(100.1)
        assert trade["exit_price"] == pytest.approx(100.1 * 0.98 * 0.999)

    def test_gap_below_the_stop_fills_at_the_open(self):
        rows = [self.entry, (100, 101, 99, 100), (95, 96, 94, 95)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, stop_loss=0.02).trades
        assert trade["exit_price"] == 95 and trade["exit_reason"] == "stop_loss"

    def test_stop_is_checked_on_the_entry_candle(self):
        rows = [self.entry, (100, 100.5, 97, 99), (99, 99, 99, 99)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, stop_loss=0.02).trades
        assert trade["exit_time"] == "2024-01-01T00:01:00Z" and trade["exit_price"] == 98

    def test_take_profit_fills_at_the_target_without_slippage(self):
        rows = [self.entry, (100, 101, 99, 100), (101, 105, 100, 104.5)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, take_profit=0.04, slippage=0.0).trades
        assert trade["exit_price"] == pytest.approx(104.0) and trade["exit_reason"] == "take_profit"
        assert trade["pnl"] == pytest.approx(40.0)

    def test_gap_above_the_target_fills_at_the_open(self):
        rows = [self.entry, (100, 101, 99, 100), (106, 107, 105, 106)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, take_profit=0.04).trades
        assert trade["exit_price"] == 106 and trade["exit_reason"] == "take_profit"

    def test_both_hit_in_one_candle_the_stop_wins(self):
        rows = [self.entry, (100, 101, 99, 100), (100, 105, 97, 104)]
        (trade,) = run(rows, [1, 0, 0], **NO_COSTS, stop_loss=0.02, take_profit=0.04).trades
        assert trade["exit_price"] == pytest.approx(98.0) and trade["exit_reason"] == "stop_loss"

    def test_trailing_stop_follows_earlier_highs_only(self):
        rows = [
            self.entry,
            (100, 103, 99, 102),     # peak so far: entry 100 -> stop 95; afterwards peak 103
            (103, 115, 98, 110),     # stop 103 * 0.95 = 97.85 (this candle's own 115 does not count yet)
            (110, 111, 109, 110),    # peak 115 -> stop 109.25, low 109 -> exit at 109.25
            (110, 110, 110, 110),
        ]
        (trade,) = run(rows, [1, 0, 0, 0, 0], **NO_COSTS, trailing_stop=0.05).trades
        assert trade["exit_time"] == "2024-01-01T00:03:00Z"
        assert trade["exit_price"] == pytest.approx(115 * 0.95)
        assert trade["exit_reason"] == "trailing_stop"

    def test_fixed_stop_above_the_trailing_stop_is_a_stop_loss(self):
        rows = [self.entry, (100, 100.5, 97.5, 98)]
        (trade,) = run(rows, [1, 0], **NO_COSTS, stop_loss=0.02, trailing_stop=0.05).trades
        assert trade["exit_price"] == pytest.approx(98.0) and trade["exit_reason"] == "stop_loss"

    def test_buy_on_the_stop_candle_reenters_on_the_next_open(self):
        rows = [self.entry, (100, 101, 99, 100), (99, 99, 97, 97.5), (97, 99, 97, 98), (98, 98, 98, 98)]
        result = run(rows, [1, 0, 1, 0, 0], **NO_COSTS, stop_loss=0.02)
        first, second = result.trades
        assert first["exit_reason"] == "stop_loss" and first["exit_time"] == "2024-01-01T00:02:00Z"
        assert second["entry_time"] == "2024-01-01T00:03:00Z" and second["entry_price"] == 97


class TestMetrics:
    def test_drawdown_win_rate_profit_factor_exposure(self):
        rows = [(100, 100, 100, 100), (100, 100, 100, 100), (120, 120, 120, 120), (120, 120, 120, 120),
                (120, 120, 120, 90), (90, 90, 90, 90), (90, 90, 90, 90)]
        result = run(rows, [1, -1, 1, 0, 0, -1, 0], **NO_COSTS)
        win, loss = result.trades
        assert win["pnl"] == pytest.approx(200.0)  # 10 units 100 -> 120
        assert loss["pnl"] == pytest.approx(-300.0)  # 10 units 120 -> 90
        m = result.metrics
        assert m["win_rate"] == 0.5
        assert m["profit_factor"] == pytest.approx(200 / 300)
        assert m["max_drawdown"] == pytest.approx(0.25)  # 1200 -> 900
        assert m["exposure"] == pytest.approx(4 / 7)  # candles 1, 3, 4, 5 held a position
        assert m["buy_and_hold_return"] == pytest.approx(-0.1)
        assert m["total_return"] == pytest.approx(-0.1)
        assert m["sharpe"] < 0 and m["sortino"] < 0

    def test_no_trades_gives_none_for_undefined_ratios(self):
        result = run([(100, 100, 100, 100)] * 5, [0] * 5, **NO_COSTS)
        m = result.metrics
        assert m["trades"] == 0 and m["win_rate"] is None and m["profit_factor"] is None
        assert m["sharpe"] is None and m["max_drawdown"] == 0.0


class TestBadInput:
    @pytest.mark.parametrize(
        ("settings", "field"),
        [({"fee": -0.001}, "fee"), ({"stop_loss": 1.0}, "stop_loss"), ({"stake": 0}, "stake"),
         ({"stake": 1.5}, "stake"), ({"cash": 0}, "cash"), ({"trailing_stop": float("nan")}, "trailing_stop")],
    )
    def test_settings_out_of_range(self, settings, field):
        with pytest.raises(ValueError, match=field):
            BacktestSettings(**settings)

    def test_signals_must_match_candles(self):
        with pytest.raises(ValueError, match="2 signals for 3 candles"):
            run([(100, 100, 100, 100)] * 3, [0, 0])


def plain_backtest(candles, signals, cash, fee, slippage, stop_loss, take_profit, trailing, stake):
    """CONVENTIONS.md's execution model written again as a plain Python loop, sharing no code with the kernel."""
    o, h, low, c = (candles[k].tolist() for k in ("open", "high", "low", "close"))
    trades, position = [], None
    for i in range(len(c)):
        if i > 0 and signals[i - 1] == 1 and position is None:
            price = o[i] * (1 + slippage)
            spend = cash * stake
            units = spend / (price * (1 + fee))
            cash -= spend
            position = {"entry": i, "price": price, "units": units, "spend": spend, "peak": price}
        elif i > 0 and signals[i - 1] == -1 and position is not None:
            price = o[i] * (1 - slippage)
            cash += position["units"] * price * (1 - fee)
            trades.append((position["entry"], i, price, "signal"))
            position = None
        if position is not None:
            fixed = position["price"] * (1 - stop_loss) if stop_loss else 0.0
            trail = position["peak"] * (1 - trailing) if trailing else 0.0
            stop = max(fixed, trail)
            target = position["price"] * (1 + take_profit) if take_profit else 0.0
            exit_price = reason = None
            if stop and low[i] <= stop:
                exit_price = min(o[i], stop) * (1 - slippage)
                reason = "trailing_stop" if trail > fixed else "stop_loss"
            elif target and h[i] >= target:
                exit_price, reason = max(o[i], target), "take_profit"
            if reason:
                cash += position["units"] * exit_price * (1 - fee)
                trades.append((position["entry"], i, exit_price, reason))
                position = None
            else:
                position["peak"] = max(position["peak"], h[i])
    if position is not None:
        cash += position["units"] * c[-1]
        trades.append((position["entry"], len(c) - 1, c[-1], "end"))
    return trades, cash


@pytest.mark.parametrize("name", ["binance_UNNAMED-BTC_1m_gaps", "binance_BTC-USDT_5m"])
def test_kernel_equals_a_plain_loop_on_real_data_with_every_exit(name):
    data = load_real(name)
    signals = build_strategy("rsi_cross", {"rsi_period": 9}).signals(data)
    costs = {"cash": 10_000.0, "fee": 0.001, "slippage": 0.0005, "stop_loss": 0.01, "take_profit": 0.02,
             "trailing_stop": 0.015, "stake": 0.7}
    result = run_backtest(data, signals, BacktestSettings(**costs))
    expected, final_cash = plain_backtest(data, signals, costs["cash"], costs["fee"], costs["slippage"],
                                          costs["stop_loss"], costs["take_profit"], costs["trailing_stop"],
                                          costs["stake"])
    times = data.index.strftime("%Y-%m-%dT%H:%M:%SZ")
    got = [(t["entry_time"], t["exit_time"], t["exit_price"], t["exit_reason"]) for t in result.trades]
    assert [(times[a], times[b], pytest.approx(p, rel=1e-12), r) for a, b, p, r in expected] == got
    assert {"signal", "stop_loss", "take_profit", "trailing_stop"} <= {r for *_, r in expected}
    assert result.metrics["end_equity"] == pytest.approx(final_cash, rel=1e-10)


@pytest.mark.django_db
def test_a_backtest_row_with_out_of_range_settings_does_not_validate(django_user_model):
    from django.core.exceptions import ValidationError

    from strategies.models import Backtest

    owner = django_user_model.objects.create_user("owner", password="owner-password-1234")
    run = Backtest(owner=owner, strategy="rsi_cross", params={"rsi_period": 14}, exchange="binance",
                   symbol="BTC/USDT", timeframe="5m",
                   settings={"cash": 1e308})
    with pytest.raises(ValidationError, match="cash: must be above 0 and at most 1e"):
        run.full_clean()
    run.settings = {"cash": 5000.0, "fee": 0.001}
    run.full_clean()
