"""The paper exchange: real market prices, simulated fills and balances (in the database).

Prices come from the exchange's public endpoints through ccxt (no keys needed), or, with offline=True,
from the stored candles (the latest stored candle is "now's" price). Market orders fill at once at the
ticker's ask (buy) or bid (sell) with slippage, at most the last closed candle's volume; the rest fills
at the opens of later candles. Limit and stop orders fill on later closed candles of `timeframe`
(default 1m). Each candle fills at most max_volume_share (default 1.0) of its volume, so a large order
fills partially. `clock` (a ReplayClock) replaces the wall clock in tests.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from exchanges.candles import last_candle_time, load_candles
from exchanges.clients.base import Ticker
from exchanges.clients.ccxt_client import CcxtClient, build_exchange
from exchanges.clients.simulated import SimulatedExchange, floor_time
from exchanges.errors import ExchangeError


class PaperClient(SimulatedExchange):
    default_timeframe = "1m"
    default_volume_share = 1.0

    def __init__(self, account, *, offline: bool = False, clock=None, retries: int = 2, backoff: float = 0.5,
                 timeout: float = 10.0, **options):
        super().__init__(account, **options)
        self.offline = offline
        self.clock = clock
        self.public = None if offline else CcxtClient(
            account, exchange=build_exchange(account.exchange_id, timeout=timeout), retries=retries,
            backoff=backoff,
        )

    def now(self):
        return self.clock.now() if self.clock is not None else timezone.now()

    def _fill_candles(self, symbol, start):
        if self.offline:
            return load_candles(self.candle_exchange, symbol, self.timeframe, start=start, end=self.now())
        candles = self.public.fetch_candles(symbol, self.timeframe, since=start, limit=1000)
        return candles[candles.index <= self.now() - timedelta(seconds=self.step)]

    def _immediate_price(self, symbol, side):
        ticker = self.fetch_ticker(symbol)
        price = (ticker.ask if side == "buy" else ticker.bid) or ticker.last
        if price is None:
            raise ExchangeError(f"no price for {symbol} right now")
        price = float(price)
        return price * (1 + self.slippage) if side == "buy" else price * (1 - self.slippage)

    def _immediate_cap(self, symbol):
        # The last closed candle's volume is what the market could absorb; the rest waits for later opens.
        if self.max_volume_share is None:
            return None
        step = timedelta(seconds=self.step)
        candles = self._fill_candles(symbol, floor_time(self.now(), self.step) - 2 * step)
        # Offline, the stored candles run up to the one still forming (its volume is not known yet): not that one.
        closed = candles[candles.index <= self.now() - step]
        return None if closed.empty else float(closed["volume"].iloc[-1]) * self.max_volume_share

    def load_markets(self):
        if self.offline:
            return self.stored_markets()
        return self.public.load_markets()

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        if self.offline:
            candles = load_candles(self.candle_exchange, symbol, timeframe, start=since)
            if limit:
                candles = candles.iloc[:limit] if since is not None else candles.iloc[-limit:]
            return candles
        return self.public.fetch_candles(symbol, timeframe, since=since, limit=limit)

    def fetch_ticker(self, symbol):
        if not self.offline:
            return self.public.fetch_ticker(symbol)
        last_time = last_candle_time(self.candle_exchange, symbol, self.timeframe)
        if last_time is None:
            raise ExchangeError(f"no stored {self.timeframe} candles for {symbol} on {self.candle_exchange}")
        day = load_candles(self.candle_exchange, symbol, self.timeframe, start=last_time - timedelta(days=1))
        last = Decimal(repr(float(day["close"].iloc[-1])))
        return Ticker(symbol=symbol, bid=last, ask=last, last=last,
                      base_volume=Decimal(repr(float(day["volume"].sum()))),
                      quote_volume=Decimal(repr(float((day["volume"] * day["close"]).sum()))), time=last_time)

    def close(self):
        if self.public is not None:
            self.public.close()
