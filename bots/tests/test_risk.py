"""Each risk rule trips exactly at its threshold, not a cent or an order before."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from bots import risk

NOW = datetime(2023, 1, 5, 13, 30, tzinfo=UTC)
LIMITS = risk.RiskLimits()


def state(**overrides) -> risk.RiskState:
    values = {"now": NOW, "equity": D("10000"), "equity_peak": D("10000"), "day_start_equity": D("10000")}
    values.update(overrides)
    return risk.RiskState(**values)


def test_defaults_are_the_seed_figures():
    assert LIMITS.max_position_pct == D("0.10")
    assert LIMITS.daily_loss_limit_pct == D("0.05")
    assert (LIMITS.stop_loss_pct, LIMITS.take_profit_pct, LIMITS.trailing_stop_pct) == (D("0.02"), D("0.06"), 0)
    assert LIMITS.max_drawdown_pct == D("0.25")
    assert (LIMITS.max_consecutive_losses, LIMITS.loss_cooldown_minutes) == (5, 60)
    assert (LIMITS.max_orders_per_hour, LIMITS.max_open_positions) == (20, 5)
    assert LIMITS.flatten_on_halt is False


def test_max_position_caps_the_stake():
    decision = risk.review_entry(LIMITS, state(), stake=D("1"))
    assert decision.allowed and decision.cash == D("1000")
    small = risk.review_entry(LIMITS, state(), stake=D("0.05"))
    assert small.cash == D("500")


def test_daily_loss_trips_at_five_percent_and_lasts_until_next_utc_day():
    just_before = risk.review_entry(LIMITS, state(equity=D("9500.01")), stake=D("0.1"))
    assert just_before.allowed
    at = risk.review_entry(LIMITS, state(equity=D("9500")), stake=D("0.1"))
    assert not at.allowed and at.rule == risk.DAILY_LOSS and at.is_halt
    assert at.halt_until == datetime(2023, 1, 6, tzinfo=UTC)
    assert at.numbers["loss_pct"] == D("0.05") and at.numbers["limit_pct"] == D("0.05")
    assert "5.00%" in at.message


def test_max_drawdown_trips_at_25_percent_from_peak_until_resumed():
    peak = D("20000")
    # The daily rule is kept out of the way by a day start equal to the current equity.
    before = risk.review_entry(LIMITS, state(equity_peak=peak, equity=D("15000.01"), day_start_equity=D("15000.01")),
                               stake=D("0.1"))
    assert before.allowed
    at = risk.review_entry(LIMITS, state(equity_peak=peak, equity=D("15000"), day_start_equity=D("15000")),
                           stake=D("0.1"))
    assert at.rule == risk.MAX_DRAWDOWN and at.halt_until is None
    assert at.numbers["drawdown_pct"] == D("0.25")


def test_loss_streak_trips_at_five_and_cools_down_sixty_minutes():
    last_loss = NOW - timedelta(minutes=10)
    four = risk.review_entry(LIMITS, state(consecutive_losses=4, last_loss_at=last_loss), stake=D("0.1"))
    assert four.allowed
    five = risk.review_entry(LIMITS, state(consecutive_losses=5, last_loss_at=last_loss), stake=D("0.1"))
    assert five.rule == risk.LOSS_STREAK and five.halt_until == last_loss + timedelta(minutes=60)
    over = risk.review_entry(
        LIMITS, state(consecutive_losses=5, last_loss_at=NOW - timedelta(minutes=60)), stake=D("0.1")
    )
    assert over.allowed, "the cooldown ends exactly 60 minutes after the last loss"


def test_orders_per_hour_refuses_the_21st():
    assert risk.review_entry(LIMITS, state(orders_last_hour=19), stake=D("0.1")).allowed
    refused = risk.review_entry(LIMITS, state(orders_last_hour=20), stake=D("0.1"))
    assert refused.rule == risk.ORDERS_PER_HOUR and not refused.is_halt
    assert refused.numbers == {"orders_last_hour": 20, "limit": 20}


def test_open_positions_per_user_refuses_the_sixth():
    assert risk.review_entry(LIMITS, state(open_positions=4), stake=D("0.1")).allowed
    refused = risk.review_entry(LIMITS, state(open_positions=5), stake=D("0.1"))
    assert refused.rule == risk.OPEN_POSITIONS and "5 open positions" in refused.message


def test_a_rule_set_to_zero_is_disabled():
    limits = risk.RiskLimits(daily_loss_limit_pct=D("0"), max_drawdown_pct=D("0"), max_orders_per_hour=0)
    assert risk.review_entry(limits, state(equity=D("100"), orders_last_hour=500), stake=D("0.1")).allowed


def test_no_equity_is_refused():
    limits = risk.RiskLimits(daily_loss_limit_pct=D("0"), max_drawdown_pct=D("0"))
    assert risk.review_entry(limits, state(equity=D("0")), stake=D("0.1")).rule == risk.NO_EQUITY


@pytest.mark.parametrize("entry", [D("100"), D("16834.5")])
def test_protective_levels(entry):
    levels = risk.protective_levels(LIMITS, entry)
    assert levels["stop_loss"] == entry * D("0.98")
    assert levels["take_profit"] == entry * D("1.06")
    assert levels["trailing"] is None
    assert risk.protective_levels(risk.RiskLimits(stop_loss_pct=D("0")), entry)["stop_loss"] is None
