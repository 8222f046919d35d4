"""The execution rules shared by the backtester and the simulated exchanges, checked on hand-worked numbers."""

import math

import pytest

from exchanges import execution as ex


def test_all_in_entry_spends_exactly_the_cash():
    cash, price, fee = 10_000.0, 20_000.0, 0.001
    units = ex.entry_units(cash, price, fee)
    assert units * price + ex.entry_fee(units, price, fee) == pytest.approx(cash, rel=1e-15)
    assert ex.exit_proceeds(units, 21_000.0, fee) == pytest.approx(units * 21_000 * 0.999, rel=1e-15)
    assert ex.exit_fee(units, 21_000.0, fee) == pytest.approx(units * 21.0, rel=1e-15)


def test_slippage_is_against_the_trader():
    assert ex.buy_price(100.0, 0.01) == pytest.approx(101.0)
    assert ex.sell_price(100.0, 0.01) == pytest.approx(99.0)
    assert ex.buy_price(100.0, 0.0) == 100.0


def test_stop_loss_wins_when_both_are_hit():
    price, reason = ex.protective_exit(100.0, 110.0, 90.0, 95.0, 105.0, False)
    assert (price, reason) == (95.0, ex.EXIT_STOP_LOSS)


def test_gap_through_a_level_fills_at_the_open():
    assert ex.protective_exit(92.0, 93.0, 91.0, 95.0, 0.0, False) == (92.0, ex.EXIT_STOP_LOSS)
    assert ex.protective_exit(108.0, 109.0, 107.0, 95.0, 105.0, False) == (108.0, ex.EXIT_TAKE_PROFIT)
    assert ex.protective_exit(100.0, 104.0, 96.0, 95.0, 105.0, False)[1] == ex.NO_EXIT
    assert math.isnan(ex.protective_exit(100.0, 104.0, 96.0, 0.0, 0.0, False)[0])


def test_trailing_stop_follows_the_peak_never_below_the_fixed_stop():
    assert ex.stop_level(100.0, 0.05, 0.0, 130.0) == pytest.approx(95.0)
    assert ex.stop_level(100.0, 0.05, 0.10, 100.0) == pytest.approx(95.0)  # trail 90 < fixed 95
    assert ex.stop_level(100.0, 0.05, 0.10, 120.0) == pytest.approx(108.0)
    assert ex.stop_level(100.0, 0.0, 0.0, 120.0) == 0.0
    assert not ex.stop_is_trailing(100.0, 0.05, 0.10, 100.0)
    assert ex.stop_is_trailing(100.0, 0.05, 0.10, 120.0)
    _, reason = ex.protective_exit(115.0, 116.0, 107.0, 108.0, 0.0, True)
    assert reason == ex.EXIT_TRAILING_STOP and ex.EXIT_REASONS[reason] == "trailing_stop"
