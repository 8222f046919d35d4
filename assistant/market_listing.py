"""Which markets an exchange account can trade, for the resolution step ("is BTC/USDT on this account?").

The list comes from the exchange's public market endpoint through a keyless ccxt client (the assistant
never decrypts an account's keys), cached per exchange (and testnet) for ASSISTANT_MARKETS_CACHE_SECONDS.
When the exchange cannot be reached, the symbols of the stored candles of that exchange stand in; with
neither, the answer is None ("unknown"), and the resolution does not rule the account out.
"""

import hashlib
import logging

from django.conf import settings
from django.core.cache import cache

from exchanges.errors import ExchangeError
from exchanges.models import Candle, ExchangeAccount

log = logging.getLogger(__name__)
FAILURE_CACHE_SECONDS = 60


def _cache_key(account: ExchangeAccount) -> str:
    network = "testnet" if account.mode == ExchangeAccount.Mode.TESTNET else "main"
    # A different endpoint (CCXT_URL_OVERRIDES: a proxy, the tests' fake exchange) is a different list.
    endpoint = settings.CCXT_URL_OVERRIDES.get(account.exchange_id, "")
    digest = hashlib.sha256(endpoint.encode()).hexdigest()[:12]
    return f"assistant:markets:{account.exchange_id}:{network}:{digest}"


def _fetch(account: ExchangeAccount) -> list[str] | None:
    client = None
    try:
        from exchanges.clients.ccxt_client import CcxtClient, build_exchange  # ccxt: ~0.3 s, not at start-up

        exchange = build_exchange(account.exchange_id, sandbox=account.mode == ExchangeAccount.Mode.TESTNET,
                                  timeout=5.0)
        client = CcxtClient(account, exchange=exchange, retries=0)
        return sorted(symbol for symbol, market in client.load_markets().items() if market.active)
    except (ExchangeError, AttributeError) as exc:
        log.info("assistant: markets of %s not loaded (%s)", account.exchange_id, exc.__class__.__name__)
    finally:
        if client is not None:
            client.close()
    stored = sorted(Candle.objects.filter(exchange=account.exchange_id).values_list("symbol", flat=True).distinct())
    return stored or None


def listed_symbols(account: ExchangeAccount) -> frozenset[str] | None:
    """The symbols the account's exchange lists, or None when that cannot be told right now."""
    key = _cache_key(account)
    cached = cache.get(key)
    if cached is not None:
        return frozenset(cached["symbols"]) if cached["symbols"] is not None else None
    symbols = _fetch(account)
    timeout = settings.ASSISTANT_MARKETS_CACHE_SECONDS if symbols is not None else FAILURE_CACHE_SECONDS
    cache.set(key, {"symbols": symbols}, timeout=timeout)
    return frozenset(symbols) if symbols is not None else None


def forget(account: ExchangeAccount) -> None:
    """Drop the cached list for the account's exchange (after markets changed, and in tests)."""
    cache.delete(_cache_key(account))
