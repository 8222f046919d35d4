"""Commands ask the risk rules the bots use (bots.risk), in one place: an entry (a manual buy) goes through
the halt rules and `review_entry` like a bot's BUY; an exit (a sell, a close, a cancel) is never refused by
exposure rules, only when the account cannot trade (keys rejected).

A manual book's risk state: its equity is the account's value in the market's two assets (quote plus base at
the price); its daily loss and drawdown come from the book's own P&L (realised plus unrealised), whose day
start and peak are kept on the book row like a bot's.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils.translation import gettext as _

from bots import ledger, risk
from bots.models import Bot, Order, Position
from commands.models import ManualLimits
from commands.service import Refusal

ZERO = Decimal("0")


def check_account_can_trade(account) -> None:
    if account.status == account.Status.INVALID:
        raise Refusal(_("The exchange account %(label)s has rejected keys: fix them before trading.")
                      % {"label": account.label}, "account_halted")


@dataclass(frozen=True)
class EntryReview:
    equity: Decimal
    stake: Decimal  # the position after the order, as a fraction of equity
    limits: risk.RiskLimits


def review_manual_buy(account, book: Bot | None, *, owner, equity: Decimal, price: Decimal, cost: Decimal,
                      now) -> EntryReview:
    """Raise Refusal unless a manual buy of `cost` (quote) may go through the account's manual-trading limits."""
    check_account_can_trade(account)
    limits = ManualLimits.of(account).risk_limits()
    position = ledger.open_position(book) if book is not None else None
    held_value = position.quantity * price if position is not None else ZERO
    pnl = ledger.books(book, price, position).equity if book is not None else ZERO
    if book is not None:
        track_day_and_peak(book, pnl, now)
    day_start_pnl = book.day_start_equity if book is not None and book.day_start_equity is not None else pnl
    peak_pnl = max(book.equity_peak if book is not None and book.equity_peak is not None else pnl, pnl)
    streak, last_loss = ledger.loss_streak(book) if book is not None else (0, None)
    opens_new = position is None
    state = risk.RiskState(
        now=now,
        equity=equity,
        # The book's P&L since the day started (and since its peak), measured against the account's value.
        day_start_equity=equity + (day_start_pnl - pnl),
        equity_peak=equity + (peak_pnl - pnl),
        consecutive_losses=streak,
        last_loss_at=last_loss,
        orders_last_hour=Order.objects.filter(bot=book, created_at__gt=now - timedelta(hours=1)).count()
        if book is not None else 0,
        # Adding to the book's open position opens no new one.
        open_positions=Position.objects.filter(bot__owner=owner, status=Position.Status.OPEN).count()
        - (0 if opens_new else 1),
    )
    stake = (held_value + cost) / equity if equity > 0 else Decimal("Infinity")
    decision = risk.review_entry(limits, state, min(stake, Decimal("1")))
    if not decision.allowed:
        raise Refusal(_("Refused by the risk rule %(rule)s: %(reason)s") % {"rule": decision.rule,
                                                                          "reason": decision.message},
                      f"risk_{decision.rule}", {"rule": decision.rule, **_plain(decision.numbers)})
    if limits.max_position_pct > 0 and stake > limits.max_position_pct:
        raise Refusal(
            _("Refused by the risk rule max_position: the position would be %(stake)s of the account's value "
              "(%(equity)s), above the manual-trading limit of %(limit)s. Buy less, or raise the limit on the "
              "account page.") % {"stake": f"{stake:.2%}", "equity": f"{equity:,.2f}",
                                  "limit": f"{limits.max_position_pct:.2%}"},
            "risk_max_position", {"rule": "max_position", "stake": str(stake), "limit": str(limits.max_position_pct)})
    return EntryReview(equity, stake, limits)


def track_day_and_peak(book: Bot, pnl: Decimal, now) -> None:
    """The first look of a UTC day fixes the P&L the daily loss counts from; the peak only rises."""
    updates = {}
    if book.day_start != now.date() or book.day_start_equity is None:
        updates.update(day_start=now.date(), day_start_equity=pnl)
    if book.equity_peak is None or pnl > book.equity_peak:
        updates["equity_peak"] = pnl
    if updates:
        Bot.objects.filter(pk=book.pk).update(**updates)
        for name, value in updates.items():
            setattr(book, name, value)


def _plain(numbers: dict) -> dict:
    return {key: str(value) for key, value in numbers.items()}
