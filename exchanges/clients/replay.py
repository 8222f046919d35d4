"""The replay exchange: stored candles played on a simulated clock; fills as the backtester fills them.

    client_for(account, mode="replay", replay=ReplayClock(start=bot.replay_start, speed=bot.replay_speed,
               wall_start=bot.replay_started_at, offset=bot.replay_offset),
               wallet_key=bot.wallet_key, timeframe=bot.timeframe, fee=float(bot.fee),
               starting_balance=bot.starting_balance, quote_currency="USDT")

Candles come from the Candle table (exchange = account.exchange_id unless candle_exchange is given,
timeframe = the bot's). An order is stamped with the open time of the candle in progress, so an order a
bot places after candle i closed fills at the open of candle i+1, whatever the wall-clock lag of the tick.
"""

from datetime import timedelta
from decimal import Decimal

import pandas as pd

from exchanges.candles import load_candles, timeframe_seconds
from exchanges.clients.base import Ticker
from exchanges.clients.clock import ReplayClock
from exchanges.clients.simulated import SimulatedExchange, floor_time


class ReplayClient(SimulatedExchange):
    default_timeframe = "5m"
    default_volume_share = None  # the backtester has no volume limit: parity first

    def __init__(self, account, *, replay: ReplayClock | None = None, **options):
        if replay is None:
            raise ValueError("a replay client needs replay=ReplayClock(...)")
        super().__init__(account, **options)
        self.clock = replay

    def now(self):
        return self.clock.now()

    def _order_time(self):
        return floor_time(self.now(), self.step)

    def _fill_candles(self, symbol, start):
        return load_candles(self.candle_exchange, symbol, self.timeframe, start=start, end=self.now())

    def load_markets(self):
        return self.stored_markets()

    def fetch_candles(self, symbol, timeframe, since=None, limit=None):
        """Candles closed at now(): open time + timeframe <= now."""
        last_open = self.now() - timedelta(seconds=timeframe_seconds(timeframe))
        candles = load_candles(self.candle_exchange, symbol, timeframe, start=since, end=last_open)
        if limit:
            candles = candles.iloc[:limit] if since is not None else candles.iloc[-limit:]
        return candles

    def fetch_ticker(self, symbol):
        now = self.now()
        day = load_candles(self.candle_exchange, symbol, self.timeframe, start=now - timedelta(days=1),
                           end=now - timedelta(seconds=self.step))
        if day.empty:
            return Ticker(symbol=symbol, bid=None, ask=None, last=None, base_volume=None, quote_volume=None,
                          time=now)
        last = Decimal(repr(float(day["close"].iloc[-1])))
        volume = float(day["volume"].sum())
        quote_volume = float((day["volume"] * day["close"]).sum())
        close_time = day.index[-1] + pd.Timedelta(seconds=self.step)
        return Ticker(symbol=symbol, bid=last, ask=last, last=last, base_volume=Decimal(repr(volume)),
                      quote_volume=Decimal(repr(quote_volume)), time=close_time.to_pydatetime())
