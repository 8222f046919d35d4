"""Manual books: the orders a user places by hand on one exchange account and symbol are booked on a hidden
Bot row of kind "manual", so the ledger (orders, fills, positions, P&L snapshots) and every page that reads
it count them, while no bot's own P&L does. A manual book never ticks and is never listed as a bot.

Its risk limits are the manual-trading limits of the account (the same fields as a bot's, the same for
every manual book of the account). Its P&L equity starts at 0 (starting balance 0): equity = P&L.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction

from bots.models import Bot
from bots.risk import RiskLimits

LIMIT_FIELDS = tuple(RiskLimits.__dataclass_fields__)


def book_name(account, symbol: str) -> str:
    return f"Manual · {account.label} · {symbol}"[:100]


def find_book(account, symbol: str) -> Bot | None:
    return Bot.objects.filter(kind=Bot.Kind.MANUAL, exchange_account=account, symbol=symbol).first()


def book_for(account, symbol: str) -> Bot:
    """The manual book of (account, symbol), made on first use with the account's manual-trading limits."""
    book = find_book(account, symbol)
    if book is not None:
        return book
    mode = Bot.Mode.PAPER if account.mode == account.Mode.PAPER else Bot.Mode.LIVE
    try:
        with transaction.atomic():
            return Bot.objects.create(
                owner_id=account.owner_id, kind=Bot.Kind.MANUAL, name=book_name(account, symbol),
                exchange_account=account, symbol=symbol, mode=mode, strategy=None, status=Bot.Status.STOPPED,
                status_reason="Orders placed by hand.", starting_balance=Decimal("0"), needs_reconcile=False,
                **limits_of(account),
            )
    except IntegrityError:  # made meanwhile by a concurrent command
        return find_book(account, symbol)


def limits_of(account) -> dict:
    """The account's manual-trading limits: those of its manual books (kept equal), else a new bot's."""
    book = Bot.objects.filter(kind=Bot.Kind.MANUAL, exchange_account=account).order_by("pk").first()
    if book is not None:
        return {name: getattr(book, name) for name in LIMIT_FIELDS}
    return {name: Bot._meta.get_field(name).get_default() for name in LIMIT_FIELDS}


def manual_positions(user):
    from bots.models import Position

    return Position.objects.filter(bot__owner=user, bot__kind=Bot.Kind.MANUAL, status=Position.Status.OPEN)
