"""The risk manager: a pure function of plain data that allows an order (with its size) or refuses it.

Nothing here reads the database or the clock: the tick gathers `RiskState`, this module decides.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

# Messages are stored in English (bot events) and shown translated (tradingbot.stored_text): marked, not translated.
from django.utils.translation import gettext_noop

# Rule names, as they appear in refusal events.
DAILY_LOSS = "daily_loss"
MAX_DRAWDOWN = "max_drawdown"
LOSS_STREAK = "loss_streak"
ORDERS_PER_HOUR = "orders_per_hour"
OPEN_POSITIONS = "open_positions"
MAX_POSITION = "max_position"
NO_EQUITY = "no_equity"
ENTRIES_STOPPED = "entries_stopped"

# A drawdown halt lasts until the user resumes; the others end on their own.
HALT_RULES = (DAILY_LOSS, MAX_DRAWDOWN, LOSS_STREAK)


@dataclass(frozen=True)
class RiskLimits:
    """Per-bot limits; fractions are of equity (0.10 = 10 %), 0 disables a rule."""

    max_position_pct: Decimal = Decimal("0.10")
    daily_loss_limit_pct: Decimal = Decimal("0.05")
    stop_loss_pct: Decimal = Decimal("0.02")
    take_profit_pct: Decimal = Decimal("0.06")
    trailing_stop_pct: Decimal = Decimal("0")
    max_drawdown_pct: Decimal = Decimal("0.25")
    max_consecutive_losses: int = 5
    loss_cooldown_minutes: int = 60
    max_orders_per_hour: int = 20
    max_open_positions: int = 5
    flatten_on_halt: bool = False

    @classmethod
    def from_bot(cls, bot) -> "RiskLimits":
        return cls(**{name: getattr(bot, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RiskState:
    """What the risk manager needs to know, measured by the tick (times on the exchange clock)."""

    now: datetime
    equity: Decimal
    equity_peak: Decimal
    day_start_equity: Decimal
    consecutive_losses: int = 0
    last_loss_at: datetime | None = None
    orders_last_hour: int = 0
    open_positions: int = 0  # the owner's open positions across all bots
    entries_stopped: bool = False  # the owner stopped new entries for all their bots (bots.entries)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: str = ""
    message: str = ""
    numbers: dict = field(default_factory=dict)
    cash: Decimal = Decimal("0")  # quote currency to spend on an allowed buy
    halt_until: datetime | None = None  # for a halt rule: when it ends by itself (None: when the user resumes)

    @property
    def is_halt(self) -> bool:
        return self.rule in HALT_RULES


def next_utc_midnight(now: datetime) -> datetime:
    return (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def check_halts(limits: RiskLimits, state: RiskState) -> Decision | None:
    """The first halt rule that has tripped, or None. Each trips AT its threshold, not before."""
    if limits.daily_loss_limit_pct > 0 and state.day_start_equity > 0:
        loss = (state.day_start_equity - state.equity) / state.day_start_equity
        if loss >= limits.daily_loss_limit_pct:
            return Decision(
                False, DAILY_LOSS,
                gettext_noop("Daily loss %(loss)s reached the limit of %(limit)s: no new positions until the next UTC "
                             "day.") % {"loss": f"{loss:.2%}", "limit": f"{limits.daily_loss_limit_pct:.2%}"},
                {"day_start_equity": state.day_start_equity, "equity": state.equity, "loss_pct": loss,
                 "limit_pct": limits.daily_loss_limit_pct},
                halt_until=next_utc_midnight(state.now),
            )
    if limits.max_drawdown_pct > 0 and state.equity_peak > 0:
        drawdown = (state.equity_peak - state.equity) / state.equity_peak
        if drawdown >= limits.max_drawdown_pct:
            return Decision(
                False, MAX_DRAWDOWN,
                gettext_noop("Drawdown %(drawdown)s from the equity peak reached the limit of %(limit)s: halted until "
                             "you resume the bot.") % {"drawdown": f"{drawdown:.2%}",
                                                       "limit": f"{limits.max_drawdown_pct:.2%}"},
                {"equity_peak": state.equity_peak, "equity": state.equity, "drawdown_pct": drawdown,
                 "limit_pct": limits.max_drawdown_pct},
            )
    if limits.max_consecutive_losses > 0 and state.consecutive_losses >= limits.max_consecutive_losses:
        until = (state.last_loss_at or state.now) + timedelta(minutes=limits.loss_cooldown_minutes)
        if state.now < until:
            return Decision(
                False, LOSS_STREAK,
                f"{state.consecutive_losses} losing trades in a row (limit {limits.max_consecutive_losses}): "
                f"cooling down for {limits.loss_cooldown_minutes} minutes.",
                {"consecutive_losses": state.consecutive_losses, "limit": limits.max_consecutive_losses,
                 "cooldown_minutes": limits.loss_cooldown_minutes, "until": until},
                halt_until=until,
            )
    return None


def entries_stopped(limits: RiskLimits, state: RiskState) -> Decision | None:
    if not state.entries_stopped:
        return None
    return Decision(False, ENTRIES_STOPPED,
                    gettext_noop("New entries are stopped for all your bots (/stopentry); /resume_entries allows them "
                                 "again."))


def review_entry(limits: RiskLimits, state: RiskState, stake: Decimal) -> Decision:
    """May the bot open a position with `stake` (a fraction of equity)? If so, with how much quote.

    Exits are never reviewed: closing a long only ever reduces risk.
    """
    halt = check_halts(limits, state)
    if halt is not None:
        return halt
    stopped = entries_stopped(limits, state)
    if stopped is not None:
        return stopped
    if state.equity <= 0:
        return Decision(False, NO_EQUITY, gettext_noop("No equity left to trade with."), {"equity": state.equity})
    if limits.max_orders_per_hour > 0 and state.orders_last_hour >= limits.max_orders_per_hour:
        return Decision(
            False, ORDERS_PER_HOUR,
            gettext_noop("%(count)s orders in the last hour reached the limit of %(limit)s.") % {
                "count": state.orders_last_hour, "limit": limits.max_orders_per_hour},
            {"orders_last_hour": state.orders_last_hour, "limit": limits.max_orders_per_hour},
        )
    if limits.max_open_positions > 0 and state.open_positions >= limits.max_open_positions:
        return Decision(
            False, OPEN_POSITIONS,
            gettext_noop("%(count)s open positions across your bots reached the limit of %(limit)s.") % {
                "count": state.open_positions, "limit": limits.max_open_positions},
            {"open_positions": state.open_positions, "limit": limits.max_open_positions},
        )
    fraction = min(stake, limits.max_position_pct) if limits.max_position_pct > 0 else stake
    if fraction <= 0:
        return Decision(
            # xgettext:no-python-format
            False, MAX_POSITION, gettext_noop("The maximum position is 0 % of equity: no entry possible."),
            {"stake": stake, "max_position_pct": limits.max_position_pct},
        )
    return Decision(
        True, numbers={"stake": stake, "max_position_pct": limits.max_position_pct, "fraction": fraction,
                       "equity": state.equity},
        cash=state.equity * fraction,
    )


def protective_levels(limits: RiskLimits, entry_price: Decimal) -> dict:
    """Stop-loss and take-profit prices of a long entered at `entry_price` (None when disabled)."""
    stop = entry_price * (1 - limits.stop_loss_pct) if limits.stop_loss_pct > 0 else None
    target = entry_price * (1 + limits.take_profit_pct) if limits.take_profit_pct > 0 else None
    return {"stop_loss": stop, "take_profit": target, "trailing": limits.trailing_stop_pct or None}
