"""What each exchange can do with orders, written once beside the adapters (as freqtrade's `_ft_has`).

The tick and the order layer ask `client.capabilities` instead of branching on a bot's mode:
- `client_order_ids`: the exchange stores our client order id with the order;
- `refuses_duplicates`: a second order with a client id it already has is refused ("duplicate order"), at
  any time, so sending the *same* id again after an unknown outcome can never make a second order. Binance
  is False: its newClientOrderId is "unique among open orders", a filled market order's id is accepted again;
- `fetch_by_client_id`: an order can be looked up by our client order id;
- `open_orders`, `my_trades`: open orders / the account's recent trades can be listed (a lookup's fallback,
  reconciliation);
- `stop_orders`: the protective order types it holds for us (stop_market, stop_limit, oco; bracket on the
  simulated exchanges); empty: the tick checks stop-loss/take-profit against each closed candle itself;
- `fee_in_base`: a buy's fee may be taken from the bought coin (Binance without BNB), so less is held than bought;
- `lookup_window`: seconds an accepted order may stay invisible to lookups; an order not found for longer
  than this after it was sent is known never to have arrived.

`settings.EXCHANGE_CAPABILITIES` ({exchange id: {field: value}}) overrides entries of the table, e.g. for an
exchange behind a gateway that behaves differently, and in tests.
"""

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class Capabilities:
    name: str
    client_order_ids: bool = True
    refuses_duplicates: bool = False
    fetch_by_client_id: bool = True
    open_orders: bool = True
    my_trades: bool = True
    stop_orders: tuple[str, ...] = ()
    fee_in_base: bool = False
    lookup_window: float = 60.0

    @property
    def simulated(self) -> bool:
        return "bracket" in self.stop_orders

    @property
    def protective_order_type(self) -> str:
        """The order type a protective stop is placed with ("" when the tick watches the candles itself)."""
        for kind in ("bracket", "stop_limit", "stop_market"):
            if kind in self.stop_orders:
                return kind
        return ""


# Live exchanges through ccxt. Unlisted exchanges get DEFAULT: client ids sent but nothing else assumed.
TABLE: dict[str, Capabilities] = {
    "binance": Capabilities("binance", refuses_duplicates=False, fetch_by_client_id=True,
                            stop_orders=("stop_limit", "stop_market", "oco"), fee_in_base=True, lookup_window=60.0),
    "binanceus": Capabilities("binanceus", stop_orders=("stop_limit", "oco"), fee_in_base=True),
    "bybit": Capabilities("bybit", refuses_duplicates=True, stop_orders=("stop_market", "stop_limit")),
    "okx": Capabilities("okx", refuses_duplicates=True, stop_orders=("stop_market", "stop_limit", "oco")),
    "coinbase": Capabilities("coinbase", refuses_duplicates=True, stop_orders=("stop_limit",)),
    "kraken": Capabilities("kraken", client_order_ids=True, refuses_duplicates=False, fetch_by_client_id=False,
                           stop_orders=("stop_market", "stop_limit"), lookup_window=90.0),
    "kucoin": Capabilities("kucoin", refuses_duplicates=True, stop_orders=("stop_market", "stop_limit")),
}
DEFAULT = Capabilities("default", refuses_duplicates=False, fetch_by_client_id=True, stop_orders=(),
                       lookup_window=120.0)

# The simulated exchanges: one process writes their orders in one transaction, so an order is visible at once,
# a repeated client id is the same order, fees are in the quote currency, and brackets exist.
SIMULATED = Capabilities("simulated", refuses_duplicates=True, stop_orders=("bracket",), lookup_window=0.0)


def for_exchange(exchange_id: str) -> Capabilities:
    base = TABLE.get(exchange_id, dataclasses.replace(DEFAULT, name=exchange_id))
    overrides = (getattr(settings, "EXCHANGE_CAPABILITIES", None) or {}).get(exchange_id)
    if overrides:
        fields = {f.name for f in dataclasses.fields(Capabilities)} - {"name"}
        unknown = sorted(set(overrides) - fields)
        if unknown:
            raise ImproperlyConfigured(f"EXCHANGE_CAPABILITIES[{exchange_id!r}] has unknown fields {unknown}; "
                                       f"known: {sorted(fields)}")
        overrides = {k: tuple(v) if k == "stop_orders" else v for k, v in overrides.items()}
        base = dataclasses.replace(base, **overrides)
    return base
