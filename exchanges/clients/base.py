"""The one small exchange interface everything above the adapters uses, and the plain data it returns."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import pandas as pd

from exchanges.capabilities import DEFAULT, Capabilities
from exchanges.errors import OrderRefused

ORDER_STATUSES = ("open", "closed", "canceled", "rejected", "expired")


def to_decimal(value, name: str) -> Decimal | None:
    """A number from the caller as Decimal; anything else is an OrderRefused saying which field."""
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise OrderRefused(f"{name} must be a number, not {value!r}")
    if not number.is_finite():
        raise OrderRefused(f"{name} must be a finite number, not {value!r}")
    return number


@dataclass(frozen=True)
class Market:
    symbol: str
    base: str
    quote: str
    active: bool = True
    amount_step: Decimal | None = None
    price_step: Decimal | None = None
    min_amount: Decimal | None = None
    min_cost: Decimal | None = None
    taker_fee: Decimal | None = None


@dataclass(frozen=True)
class Ticker:
    symbol: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    base_volume: Decimal | None
    quote_volume: Decimal | None
    time: datetime | None


@dataclass(frozen=True)
class Balance:
    free: Decimal
    used: Decimal
    total: Decimal


@dataclass
class OrderResult:
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    type: str
    amount: Decimal | None
    price: Decimal | None
    status: str  # open | closed | canceled | rejected | expired
    filled: Decimal
    average: Decimal | None
    fee: Decimal | None  # in fee_currency (the quote currency on our simulated exchanges)
    fee_currency: str | None
    timestamp: datetime | None
    raw: dict = field(default_factory=dict, repr=False)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.amount is None else self.amount - self.filled


class ExchangeClient:
    """What bots, commands and views call. Implementations: ccxt (live/testnet), paper, replay.

    Every method raises only exchanges.errors exceptions. Amounts and prices are Decimal, times UTC.
    Simulated exchanges also take type="bracket" (a long exit with stop-loss/take-profit/trailing stop,
    see exchanges.clients.simulated); the ccxt client refuses it.
    """

    exchange_id: str = ""
    capabilities: Capabilities = DEFAULT  # what this exchange can do with orders (exchanges.capabilities)

    def now(self) -> datetime:
        raise NotImplementedError

    def load_markets(self) -> dict[str, Market]:
        raise NotImplementedError

    def fetch_candles(self, symbol: str, timeframe: str, since: datetime | None = None,
                      limit: int | None = None) -> pd.DataFrame:
        """Closed candles only, as exchanges.candles.load_candles shapes them."""
        raise NotImplementedError

    def fetch_ticker(self, symbol: str) -> Ticker:
        raise NotImplementedError

    def fetch_balance(self) -> dict[str, Balance]:
        raise NotImplementedError

    def create_order(self, symbol: str, side: str, type: str, amount: Decimal | None, price: Decimal | None = None,
                     *, client_order_id: str, stop_price: Decimal | None = None,
                     params: dict | None = None) -> OrderResult:
        raise NotImplementedError

    def fetch_order(self, symbol: str, *, client_order_id: str | None = None,
                    exchange_order_id: str | None = None) -> OrderResult:
        raise NotImplementedError

    def cancel_order(self, symbol: str, *, client_order_id: str | None = None,
                     exchange_order_id: str | None = None) -> OrderResult:
        raise NotImplementedError

    def fetch_open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        raise NotImplementedError

    def close(self) -> None:
        """Release connections (nothing to do for most clients)."""
