"""The replay exchange: stored candles played on a simulated clock; fills as the backtester fills them.

    client_for(account, mode="replay", replay=ReplayClock(start=bot.replay_start, speed=bot.replay_speed,
               wall_start=bot.replay_started_at, offset=bot.replay_offset),
               wallet_key=bot.wallet_key, timeframe=bot.timeframe, fee=float(bot.fee),
               starting_balance=bot.starting_balance, quote_currency="USDT")

Candles come from the Candle table (exchange = account.exchange_id unless candle_exchange is given,
timeframe = the bot's). An order is stamped with the open time of the candle in progress, so an order a
bot places after candle i closed fills at the open of candle i+1, whatever the wall-clock lag of the tick.

A bot's replay goes one stored candle per tick, in order (cursor=CandleCursor(symbol, last processed
candle)): the client's clock stands at the open of the stored candle after the one to process next, so a
bot that fell behind or started late replays every candle it missed, and a gap in the stored candles is
skipped as the backtester skips it (its next order fills at the open of the next stored candle).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd

from exchanges.candles import load_candles, timeframe_seconds
from exchanges.clients.base import Ticker
from exchanges.clients.clock import ReplayClock
from exchanges.clients.simulated import SimulatedExchange, floor_time
from exchanges.models import Candle


@dataclass(frozen=True)
class CandleCursor:
    """Where a bot's replay stands: the symbol it trades and the open time of the last candle it processed
    (None before its first)."""

    symbol: str
    last: datetime | None


def _stored(exchange: str, symbol: str, timeframe: str):
    return Candle.objects.filter(exchange=exchange, symbol=symbol, timeframe=timeframe).values_list("time", flat=True)


def first_close_at_or_after(exchange: str, symbol: str, timeframe: str, close: datetime) -> datetime:
    """The close time of the first stored candle closing at or after `close`; `close` itself when none is
    stored (the end of the data: the caller finds out when it gets there)."""
    tf = timedelta(seconds=timeframe_seconds(timeframe))
    opened = _stored(exchange, symbol, timeframe).filter(time__gte=close - tf).order_by("time").first()
    return close if opened is None else opened + tf


class ReplayClient(SimulatedExchange):
    default_timeframe = "5m"
    default_volume_share = None  # the backtester has no volume limit: parity first

    def __init__(self, account, *, replay: ReplayClock | None = None, cursor: CandleCursor | None = None,
                 **options):
        if replay is None:
            raise ValueError("a replay client needs replay=ReplayClock(...)")
        super().__init__(account, **options)
        self.clock = replay
        self.cursor = cursor
        self._stepped_now: datetime | None = None

    def now(self):
        if self.cursor is None:
            return self.clock.now()
        if self._stepped_now is None:  # fixed for the client's life: one tick sees one instant
            self._stepped_now = self._next_step()
        return self._stepped_now

    def _next_step(self) -> datetime:
        """The clock of a bot's tick, one stored candle at a time. With `n` the next candle to process and
        `after` the stored candle following it: the open of `after` once `n` has closed on the replay clock
        (an order then fills at that open, as the backtester's next-row fill); while `n` has not closed, the
        close of the last processed candle (nothing new). The first tick processes the candle that closed at
        the replay's start (or the first stored candle when the start is before the data), however late it
        runs. After the last stored candle the clock runs on, so the tick sees the end of the data."""
        real = self.clock.now()
        tf = timedelta(seconds=self.step)
        stored = _stored(self.candle_exchange, self.cursor.symbol, self.timeframe)
        last = self.cursor.last
        if last is None:
            start = self.clock.start + (self.clock.offset or timedelta(0))
            n = stored.filter(time__lte=start - tf).order_by("-time").first() or stored.order_by("time").first()
            if n is None:
                return real  # nothing stored: the tick says so
            upcoming = [n, *stored.filter(time__gt=n).order_by("time")[:1]]
        else:
            upcoming = list(stored.filter(time__gt=last).order_by("time")[:2])  # one query per tick
            if not upcoming:
                return min(real, last + 2 * tf)
            n = upcoming[0]
            if real < n + tf:
                return min(real, last + tf)
        return upcoming[1] if len(upcoming) > 1 else n + tf

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
