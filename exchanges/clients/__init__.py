"""Exchange clients: `client_for(account)` returns the one the account (or the bot) trades through.

    client_for(account)                                  # by account.mode: paper -> PaperClient, else CcxtClient
    client_for(account, mode="live")                     # ccxt, live or testnet by the account
    client_for(account, mode="paper", wallet_key="bot:7", starting_balance=Decimal("10000"), quote_currency="USDT")
    client_for(account, mode="paper", offline=True, timeframe="5m")   # prices from stored candles, no network
    client_for(account, mode="replay", replay=ReplayClock(start=..., speed=300, wall_start=...),
               wallet_key="bot:7", timeframe="5m", fee=0.001, slippage=0.0)

Options of the simulated exchanges (fee, slippage, max_volume_share, timeframe, candle_exchange) and the
long-exit bracket (type="bracket"): see exchanges.clients.simulated. ccxt options: retries, backoff, timeout.
"""

from exchanges.clients.base import Balance, ExchangeClient, Market, OrderResult, Ticker
from exchanges.clients.clock import ReplayClock

__all__ = ["Balance", "ExchangeClient", "Market", "OrderResult", "ReplayClock", "Ticker", "client_for"]


def client_for(account, *, mode: str | None = None, **options) -> ExchangeClient:
    """The client for an ExchangeAccount; `mode` (paper | replay | live | testnet) overrides account.mode."""
    mode = mode or account.mode
    if mode == "replay":
        from exchanges.clients.replay import ReplayClient

        return ReplayClient(account, **options)
    if mode == "paper":
        from exchanges.clients.paper import PaperClient

        return PaperClient(account, **options)
    if mode in ("live", "testnet"):
        from exchanges.clients.ccxt_client import CcxtClient

        return CcxtClient(account, **options)
    raise ValueError(f"unknown exchange mode {mode!r} (paper, replay, live or testnet)")
