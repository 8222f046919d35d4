"""Which ccxt exchanges have a testnet (sandbox) URL: only those can hold a testnet account."""

from functools import cache

from tradingbot.lazy_import import lazy_module

ccxt = lazy_module("ccxt")  # about 0.3 s: imported where an exchange is really used


@cache
def has_testnet(exchange_id: str) -> bool:
    """True when ccxt knows a sandbox URL for the exchange (`urls['test']`); 56 of ccxt's have none."""
    exchange_class = getattr(ccxt, exchange_id, None) if exchange_id in ccxt.exchanges else None
    if exchange_class is None:
        return False
    return bool(exchange_class().urls.get("test"))
