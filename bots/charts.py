"""Chart data of a bot: its market's stored candles up to the last candle it processed, its equity (P&L
snapshots) and its fills as markers, in the epoch-aligned buckets of strategies.charts; and the small
"tail" each live update carries so the open bot page folds the newest candle, equity and fills into its
chart (bots/parts/chart.html, static/js/charts.js) without asking again."""

from __future__ import annotations  # the annotations name numpy, imported on first use

import json
from collections import OrderedDict
from datetime import timedelta

from django.utils.translation import gettext as _

from bots.models import Bot, Fill, Order, PnLSnapshot
from exchanges.candles import load_candles, timeframe_seconds
from exchanges.models import Candle
from strategies.charts import (
    DEFAULT_BARS,
    MAX_BARS,
    Bars,
    bucket_candles,
    epoch_seconds,
    from_epoch,
    payload,
    window_bounds,
)
from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")

TAIL = 20  # candles, snapshots and fills in each live update's chart tail
CONTEXT_CANDLES = 100  # candles shown before the bot's first snapshot (what it was looking at)


def _bounds(bot: Bot, tf: int) -> tuple[int, int] | None:
    """First and last candle open time (epoch s) a bot's chart covers: from a little before its first
    snapshot to the last candle it processed (never a replay's future)."""
    first = PnLSnapshot.objects.filter(bot=bot).order_by("time").values_list("time", flat=True).first()
    last = bot.last_candle_at
    if last is None:
        last = PnLSnapshot.objects.filter(bot=bot).order_by("-time").values_list("time", flat=True).first()
    if last is None:
        return None
    first_s = epoch_seconds(first or last) - CONTEXT_CANDLES * tf
    return first_s, epoch_seconds(last)


def _last_per_bucket(times: np.ndarray, values: np.ndarray, bucket_seconds: int) -> tuple[np.ndarray, np.ndarray]:
    """(bucket start, the last value in it) for ascending times."""
    if len(times) == 0:
        return times, values
    ids = times // bucket_seconds
    ends = np.r_[np.flatnonzero(ids[1:] != ids[:-1]), len(ids) - 1]
    return ids[ends] * bucket_seconds, values[ends]


def fill_kind(side: str) -> str:
    """Long-only bots: a buy enters, a sell exits."""
    return "entry" if side == Order.Side.BUY else "exit"


def bot_chart(bot: Bot, *, start=None, end=None, bars: int = DEFAULT_BARS, align: int | None = None) -> dict:
    """The chart data of a bot for [start, end] (epoch s; None = everything it has traded), in at most
    `bars` buckets: candles (if its market's candles are stored), equity at the end of each bucket, fills."""
    tf = timeframe_seconds(bot.timeframe)
    bounds = _bounds(bot, tf)
    if bounds is None:
        data = payload(Bars.empty(), [], size=1, timeframe_seconds=tf, start=0, end=0, total=0,
                       note=_("No candle processed yet: the chart starts with the bot's first tick."))
        return {**data, "last_candle": 0, "last_equity": 0, "last_fill": 0}
    first, last = bounds
    lo = first if start is None else max(first, int(start))
    hi = last if end is None else min(last, int(end))
    size = bucket_candles(lo, max(lo, hi), tf, bars)
    start_s, end_s = window_bounds(first, last, start, end, align, size * tf)
    if (end_s - start_s) // (size * tf) > MAX_BARS:
        size = bucket_candles(start_s, end_s - 1, tf, bars)
        start_s, end_s = window_bounds(first, last, start, end, align, size * tf)
    bucket = size * tf
    exchange = bot.exchange_account.exchange_id
    candles = load_candles(exchange, bot.symbol, bot.timeframe, from_epoch(max(start_s, first)),
                           from_epoch(min(end_s - 1, last)))
    chosen = Bars.from_candles(candles).aggregate(bucket)
    snapshots = list(PnLSnapshot.objects.filter(bot=bot, time__gte=from_epoch(start_s), time__lt=from_epoch(end_s))
                     .order_by("time", "id").values_list("time", "equity"))
    times = np.array([epoch_seconds(t) for t, _ in snapshots], dtype=np.int64)
    values = np.array([float(v) for _, v in snapshots], dtype=np.float64)
    eq_time, eq_value = _last_per_bucket(times, values, bucket)
    fills = list(Fill.objects.filter(bot=bot, time__gte=from_epoch(start_s), time__lt=from_epoch(end_s))
                 .order_by("time", "id").values_list("id", "time", "side", "price", "order__reason"))
    total = Candle.objects.filter(exchange=exchange, symbol=bot.symbol, timeframe=bot.timeframe,
                                  time__gte=from_epoch(first), time__lte=from_epoch(last)).count()
    note = "" if total else _("No stored candles for %(symbol)s %(timeframe)s on %(exchange)s: the equity is "
                              "drawn alone (manage.py fetch_candles stores them).") % {
        "symbol": bot.symbol, "timeframe": bot.timeframe, "exchange": exchange}
    data = payload(chosen, fill_markers(fills, chosen.time, bucket), size=size, timeframe_seconds=tf,
                   start=start_s, end=end_s, total=total, note=note)
    data["equity"] = [[t, float(f"{v:.10g}")] for t, v in zip(eq_time.tolist(), eq_value.tolist(), strict=True)]
    data.update(
        start_cash=float(bot.starting_balance),
        last_candle=int(chosen.last[-1]) if len(chosen) else 0,
        last_equity=int(times[-1]) if len(times) else 0,
        last_fill=max((f[0] for f in fills), default=0),
    )
    return data


def fill_markers(fills: list, bar_time: np.ndarray, bucket_seconds: int) -> list[list]:
    """[bar time, "entry"|"exit", how many, first price, reasons] per bar and side (as the backtest's
    markers); a fill lands on the bar holding its time, or its bucket when no candle is stored there."""
    groups: dict[tuple, list] = {}
    for _id, time, side, price, reason in fills:
        t = epoch_seconds(time)
        k = int(np.searchsorted(bar_time, t, side="right")) - 1
        bar = int(bar_time[k]) if k >= 0 and t < bar_time[k] + bucket_seconds else t // bucket_seconds * bucket_seconds
        kind = fill_kind(side)
        group = groups.setdefault((bar, kind), [bar, kind, 0, float(price), {}])
        group[2] += 1
        if kind == "exit" and reason:
            group[4][reason] = group[4].get(reason, 0) + 1
    out = []
    for group in groups.values():
        group[4] = ", ".join(r if n == 1 else f"{r} ×{n}" for r, n in group[4].items())
        out.append(group)
    out.sort(key=lambda m: (m[0], m[1] != "entry"))
    return out


# The candle tail up to a closed candle is the same for every bot on that symbol at that candle (and does
# not change once closed): read once per process, not once per bot's live update.
TAIL_CACHE_SIZE = 256
_tail_cache: OrderedDict = OrderedDict()


def candle_tail(exchange_id: str, symbol: str, timeframe: str, last_candle_at) -> list:
    key = (exchange_id, symbol, timeframe, last_candle_at)
    bars = _tail_cache.get(key)
    if bars is not None:
        _tail_cache.move_to_end(key)
        return bars
    tf = timeframe_seconds(timeframe)
    candles = load_candles(exchange_id, symbol, timeframe, last_candle_at - timedelta(seconds=tf * (TAIL - 1)),
                           last_candle_at)
    tail = Bars.from_candles(candles)
    bars = [list(r) for r in zip(tail.time.tolist(), tail.open.tolist(), tail.high.tolist(), tail.low.tolist(),
                                 tail.close.tolist(), tail.volume.tolist(), strict=True)]
    if len(bars) == TAIL:  # a short tail may still grow (candles stored later): not cached
        _tail_cache[key] = bars
        if len(_tail_cache) > TAIL_CACHE_SIZE:
            _tail_cache.popitem(last=False)
    return bars


def chart_tail(bot: Bot, newest_fills: list) -> str:
    """JSON for the live update: the newest TAIL candles up to the bot's last candle, snapshots and fills
    ([id, time, "entry"|"exit", price, reason]); `newest_fills` are Fill rows, newest first (the page has them)."""
    tf = timeframe_seconds(bot.timeframe)
    bars = []
    if bot.last_candle_at is not None:
        bars = candle_tail(bot.exchange_account.exchange_id, bot.symbol, bot.timeframe, bot.last_candle_at)
    snapshots = list(PnLSnapshot.objects.filter(bot=bot).order_by("-time", "-id").values_list("time", "equity")[:TAIL])
    equity = [[epoch_seconds(t), float(v)] for t, v in reversed(snapshots)]
    fills = [[f.pk, epoch_seconds(f.time), fill_kind(f.side), float(f.price),
              f.order.reason if f.side != Order.Side.BUY else ""] for f in reversed(newest_fills[:TAIL])]
    return json.dumps({"timeframe_seconds": tf, "bars": bars, "equity": equity, "fills": fills},
                      separators=(",", ":"))
