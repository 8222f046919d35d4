"""Chart data: candles and equity re-aggregated into time buckets, so a chart of a million candles gets a
few thousand bars, with trade markers placed in the bucket that holds their candle.

Buckets are aligned to the epoch and span a power of two of candles, so every coarser bucket is made of
whole finer ones. A finished backtest stores one such level (`BacktestChart`, at most LEVEL_ROWS rows);
views coarser than it are aggregated from it, finer views read the candles of the range they show from
the database and rebuild the equity from the trades (`equity_from_trades`, exact to rounding).
The page's JavaScript (static/js/charts.js) asks `chart_data` again for the visible range on zoom.
"""

from __future__ import annotations  # the annotations name numpy and pandas, imported on first use

from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

LEVEL_ROWS = 16_384  # a run stores at most this many buckets
DEFAULT_BARS = 2_000
MAX_BARS = 5_000
LEGACY_CANDLES = 240  # what Backtest.chart_candles keeps (the old static chart's resolution)
LEGACY_POINTS = 800


@dataclass
class Bars:
    """Aggregated buckets. `time`: bucket start (epoch s); `last`: open time of the bucket's last candle;
    `count`: candles in it; `equity`: the equity at the close of its last candle (None when unknown)."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    equity: np.ndarray | None
    count: np.ndarray
    last: np.ndarray

    COLUMNS = ("time", "open", "high", "low", "close", "volume", "equity", "count", "last")

    def __len__(self) -> int:
        return len(self.time)

    @classmethod
    def empty(cls) -> Bars:
        f, i = np.zeros(0), np.zeros(0, np.int64)
        return cls(i, f, f, f, f, f, f, i, i)

    @classmethod
    def from_candles(cls, candles: pd.DataFrame, equity=None) -> Bars:
        """One bar per candle (the finest level): `candles` as exchanges.candles.load_candles returns them."""
        time = candles.index.asi8 // 1_000_000_000
        cols = [candles[c].to_numpy(np.float64) for c in ("open", "high", "low", "close", "volume")]
        eq = None if equity is None else np.asarray(equity, dtype=np.float64)
        return cls(time, *cols, eq, np.ones(len(time), np.int64), time.copy())

    def window(self, start: int, end: int) -> Bars:
        """The bars starting in [start, end)."""
        lo, hi = np.searchsorted(self.time, [start, end])
        return Bars(*(None if v is None else v[lo:hi] for v in (getattr(self, c) for c in self.COLUMNS)))

    def aggregate(self, bucket_seconds: int) -> Bars:
        """Re-bucket (bucket_seconds a multiple of the current buckets): first open, highest high, lowest
        low, last close, summed volume and candle count, the equity of the last candle."""
        if len(self) == 0:
            return self
        ids = self.time // bucket_seconds
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        if len(starts) == len(self) and np.all(self.time % bucket_seconds == 0):
            return self
        ends = np.r_[starts[1:], len(self)] - 1
        return Bars(
            ids[starts] * bucket_seconds, self.open[starts], np.maximum.reduceat(self.high, starts),
            np.minimum.reduceat(self.low, starts), self.close[ends], np.add.reduceat(self.volume, starts),
            None if self.equity is None else self.equity[ends], np.add.reduceat(self.count, starts), self.last[ends],
        )

    def to_bytes(self) -> bytes:
        equity = self.equity if self.equity is not None else np.full(len(self), np.nan)
        matrix = np.column_stack([self.time, self.open, self.high, self.low, self.close, self.volume, equity,
                                  self.count, self.last]).astype("<f8")
        return matrix.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Bars:
        matrix = np.frombuffer(bytes(data), dtype="<f8").reshape(-1, len(cls.COLUMNS))
        cols = [matrix[:, k] for k in range(len(cls.COLUMNS))]
        as_int = [c.astype(np.int64) for c in (cols[0], cols[7], cols[8])]
        equity = None if len(matrix) and np.isnan(cols[6]).all() else cols[6].copy()
        return cls(as_int[0], *(c.copy() for c in cols[1:6]), equity, as_int[1], as_int[2])


def bucket_candles(first: int, last: int, timeframe_seconds: int, bars: int) -> int:
    """Candles per bucket (a power of two) so that the candles opening from `first` to `last` (epoch s) fill
    at most `bars` epoch-aligned buckets."""
    size = 1
    while (last // (size * timeframe_seconds)) - (first // (size * timeframe_seconds)) + 1 > bars:
        size *= 2
    return size


def build_level(candles: pd.DataFrame, equity, timeframe_seconds: int, rows: int = LEVEL_ROWS) -> tuple[int, Bars]:
    """The level a finished run stores: (candles per bucket, the buckets), from every candle and the equity
    at each close."""
    bars = Bars.from_candles(candles, equity)
    if len(bars) == 0:
        return 1, bars
    size = bucket_candles(int(bars.time[0]), int(bars.time[-1]), timeframe_seconds, rows)
    return size, bars.aggregate(size * timeframe_seconds)


def iso_seconds(values) -> np.ndarray:
    """['2023-01-02T18:00:00Z', ...] -> int64 epoch seconds."""
    if len(values) == 0:
        return np.zeros(0, np.int64)
    return np.array([v.rstrip("Z") for v in values], dtype="datetime64[s]").astype(np.int64)


def equity_from_trades(time: np.ndarray, close: np.ndarray, trades: list[dict], cash: float, stake: float
                       ) -> np.ndarray:
    """The backtester's equity at each close, rebuilt from its trades (strategies.backtest.simulate):
    flat, the cash is the start plus every earlier trade's P&L; in a trade (entry candle up to, not
    including, its exit candle) it is that cash less the stake spent, plus size x close. A trade still open
    at the end exits on the last candle at its close, which is the same value."""
    equity = np.full(len(time), float(cash))
    if not trades or len(time) == 0:
        return equity
    entry = iso_seconds([t["entry_time"] for t in trades])
    exit_ = iso_seconds([t["exit_time"] for t in trades])
    size = np.array([t["size"] for t in trades], dtype=np.float64)
    pnl = np.array([t["pnl"] for t in trades], dtype=np.float64)
    before = cash + np.r_[0.0, np.cumsum(pnl)[:-1]]  # the cash when each trade was entered
    k = np.searchsorted(entry, time, side="right") - 1
    known = k >= 0
    kk = k[known]
    inside = time[known] < exit_[kk]
    flat_value = before[kk] + pnl[kk]
    held_value = before[kk] - before[kk] * stake + size[kk] * close[known]
    equity[known] = np.where(inside, held_value, flat_value)
    return equity


def trade_markers(trades: list[dict], bar_time: np.ndarray, start: int, end: int) -> list[list]:
    """One marker per bar and side, [bar time, "entry"|"exit", how many, first price, exit reasons], for the
    entries (▲) and exits (▼) whose candle opens in [start, end), on the bar whose bucket holds that candle.
    Exit reasons read "signal ×3, stop_loss"; an entry's are ""."""
    if not trades or len(bar_time) == 0:
        return []
    out = []
    for kind, time_key, price_key in (("entry", "entry_time", "entry_price"), ("exit", "exit_time", "exit_price")):
        times = iso_seconds([t[time_key] for t in trades])
        picked = np.flatnonzero((times >= start) & (times < end))
        where = np.searchsorted(bar_time, times[picked], side="right") - 1
        keep = where >= 0
        groups: dict[int, list] = {}
        for trade_index, bar in zip(picked[keep].tolist(), where[keep].tolist(), strict=True):
            trade = trades[trade_index]
            group = groups.get(bar)
            if group is None:
                group = groups[bar] = [int(bar_time[bar]), kind, 0, trade[price_key], {}]
            group[2] += 1
            if kind == "exit":
                reason = trade.get("exit_reason", "")
                group[4][reason] = group[4].get(reason, 0) + 1
        for group in groups.values():
            group[4] = ", ".join(r if n == 1 else f"{r} ×{n}" for r, n in group[4].items())
            out.append(group)
    out.sort(key=lambda m: (m[0], m[1] != "entry"))
    return out


def _rounded(values: np.ndarray, digits: int = 10) -> list[float]:
    """Equity and summed volumes without float noise (10 significant digits)."""
    return [float(f"{v:.{digits}g}") for v in values.tolist()]


def payload(bars: Bars, markers: list[dict], *, size: int, timeframe_seconds: int, start: int, end: int,
            total: int, note: str = "") -> dict:
    """What the chart endpoint answers: bars as [time, open, high, low, close, volume], equity as
    [time, value], markers as trade_markers makes them, and the "showing N of M candles" caption."""
    in_range = int(bars.count.sum()) if len(bars) else 0
    return {
        "bars": [list(row) for row in zip(bars.time.tolist(), bars.open.tolist(), bars.high.tolist(),
                                           bars.low.tolist(), bars.close.tolist(), _rounded(bars.volume),
                                           strict=True)],
        "equity": [] if bars.equity is None else [
            [t, v] for t, v in zip(bars.time.tolist(), _rounded(bars.equity), strict=True) if v == v],
        "markers": markers,
        "bucket": size,
        "bucket_seconds": size * timeframe_seconds,
        "timeframe_seconds": timeframe_seconds,
        "from": start,
        "to": end,
        "candles_in_range": in_range,
        "total_candles": total,
        "caption": caption(len(bars), in_range, total, size) + (f" {note}" if note else ""),
    }


def caption(shown: int, in_range: int, total: int, size: int) -> str:
    if size == 1:
        return ngettext("Showing %(shown)s of %(total)s candles (every candle).",
                        "Showing %(shown)s of %(total)s candles (every candle).", total) % {
            "shown": f"{shown:,}", "total": f"{total:,}"}
    return ngettext("Showing %(shown)s bars of %(total)s candles, %(size)s candle per bar.",
                    "Showing %(shown)s bars of %(total)s candles, %(size)s candles per bar.", size) % {
        "shown": f"{shown:,}", "total": f"{total:,}", "size": f"{size:,}"}


def window_bounds(first: int, last: int, start, end, align: int | None, bucket_seconds: int) -> tuple[int, int]:
    """The asked range clamped to [first, last] and widened to whole buckets of `align` seconds (the
    page's overview bars, so the finer bars replace whole overview bars) and of the bars themselves.
    Returns [start, end) in epoch seconds."""
    lo = first if start is None else max(first, int(start))
    hi = last if end is None else min(last, int(end))
    if hi < lo:
        hi = lo
    for step in (align, bucket_seconds):
        if step:
            lo = lo // step * step
            hi = -(-(hi + 1) // step) * step - 1  # still inclusive: the last second of its bucket
    return lo, hi + 1


class ChartRequestError(ValueError):
    """A chart endpoint's bad query parameter; the message says which and why."""


def range_params(query) -> dict:
    """from / to (epoch s), bars, align of a chart request (a QueryDict), checked: keyword arguments for
    backtest_chart and bots.charts.bot_chart. Raises ChartRequestError."""
    def whole(name, low=None, high=None, default=None):
        raw = query.get(name, "")
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ChartRequestError(_("%(name)s must be a whole number, not %(value)r.") % {
                "name": name, "value": raw[:40]}) from None
        if (low is not None and value < low) or (high is not None and value > high):
            raise ChartRequestError(_("%(name)s must be from %(low)s to %(high)s, not %(value)s.") % {
                "name": name, "low": low, "high": high if high is not None else "…", "value": value})
        return value

    params = {"start": whole("from", 0), "end": whole("to", 0), "bars": whole("bars", 10, MAX_BARS, DEFAULT_BARS),
              "align": whole("align", 1)}
    if params["start"] is not None and params["end"] is not None and params["end"] < params["start"]:
        raise ChartRequestError(_("to must not be before from."))
    return params


def epoch_seconds(value: datetime) -> int:
    return int(value.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def backtest_chart(backtest, *, start=None, end=None, bars: int = DEFAULT_BARS, align: int | None = None) -> dict:
    """The chart data of a finished run for the range [start, end] (epoch s; None = the whole run).

    Coarse ranges come from the run's stored level; a range that needs finer bars than it holds is read
    from the stored candles (the run's own candles: the range is clamped to the run) and its equity is
    rebuilt from the trades. If those candles are gone, the stored level is shown with a note.
    """
    from exchanges.candles import load_candles, timeframe_seconds
    from strategies.models import BacktestChart

    tf = timeframe_seconds(backtest.timeframe)
    level_row = BacktestChart.objects.filter(backtest=backtest).first()
    level = Bars.from_bytes(level_row.rows) if level_row else None
    if level_row:
        first, last = epoch_seconds(level_row.first_candle), epoch_seconds(level_row.last_candle)
    elif backtest.chart_candles and backtest.equity:  # a run from before charts were stored
        first, last = int(backtest.chart_candles[0][0] // 1000), int(backtest.equity[-1][0] // 1000)
    else:
        return payload(Bars.empty(), [], size=1, timeframe_seconds=tf, start=0, end=0,
                       total=backtest.candle_count, note=_("This run has no chart data."))
    lo = first if start is None else max(first, int(start))
    hi = last if end is None else min(last, int(end))
    size = bucket_candles(lo, max(lo, hi), tf, bars)
    start_s, end_s = window_bounds(first, last, start, end, align, size * tf)
    if (end_s - start_s) // (size * tf) > MAX_BARS:  # a huge `align` widened the window: coarser bars
        size = bucket_candles(start_s, end_s - 1, tf, bars)
        start_s, end_s = window_bounds(first, last, start, end, align, size * tf)
    note = ""
    if level is not None and size >= level_row.bucket:
        chosen = level.window(start_s, end_s).aggregate(size * tf)
    else:
        candles = load_candles(backtest.exchange, backtest.symbol, backtest.timeframe,
                               from_epoch(max(start_s, first)), from_epoch(min(end_s - 1, last)))
        if len(candles):
            fine = Bars.from_candles(candles)
            settings = backtest.settings
            fine.equity = equity_from_trades(fine.time, fine.close, backtest.trades, settings.get("cash", 10_000.0),
                                             settings.get("stake", 1.0))
            chosen = fine.aggregate(size * tf)
        elif level is not None:
            size = level_row.bucket
            chosen = level.window(start_s, end_s)
            note = _("The candles of this run are no longer stored: showing its saved overview.")
        else:
            chosen = Bars.empty()
            note = _("The candles of this run are no longer stored.")
    markers = trade_markers(backtest.trades, chosen.time, start_s, end_s)
    data = payload(chosen, markers, size=size, timeframe_seconds=tf, start=start_s, end=end_s,
                   total=backtest.candle_count, note=note)
    data["start_cash"] = backtest.settings.get("cash")
    return data


def iso_times(seconds) -> list[str]:
    """Epoch seconds -> ['2023-01-02T18:00:00Z', ...] (vectorised: a million take a fraction of a second)."""
    stamps = np.asarray(seconds, dtype=np.int64).astype("datetime64[s]")
    return np.char.add(np.datetime_as_string(stamps, unit="s"), "Z").tolist()


def backtest_equity_rows(backtest):
    """[time, equity] at every close of a finished run, for the CSV export: rebuilt from its candles and
    trades; from the stored level (one row per bucket, at its last candle) if the candles are gone.
    Returns (rows iterable, every_candle: bool)."""
    from exchanges.candles import load_candles
    from strategies.models import BacktestChart

    level_row = BacktestChart.objects.filter(backtest=backtest).first()
    if level_row is None and not backtest.equity:
        return [], False
    first = level_row.first_candle if level_row else from_epoch(int(backtest.chart_candles[0][0] // 1000))
    last = level_row.last_candle if level_row else from_epoch(int(backtest.equity[-1][0] // 1000))
    candles = load_candles(backtest.exchange, backtest.symbol, backtest.timeframe, first, last)
    if len(candles) == backtest.candle_count and len(candles):
        time = candles.index.asi8 // 1_000_000_000
        settings = backtest.settings
        equity = equity_from_trades(time, candles["close"].to_numpy(np.float64), backtest.trades,
                                    settings.get("cash", 10_000.0), settings.get("stake", 1.0))
        return zip(iso_times(time), _rounded(equity, 12), strict=True), True
    if level_row is not None:
        level = Bars.from_bytes(level_row.rows)
        return zip(iso_times(level.last), _rounded(level.equity, 12), strict=True), False
    points = backtest.equity
    return zip(iso_times([int(ms // 1000) for ms, _ in points]), [v for _, v in points], strict=True), False


def equity_overview(backtest, bars: int = 1000) -> list[list[float]]:
    """[[time s, equity], ...] of a whole run with at most `bars` points (the comparison chart)."""
    from exchanges.candles import timeframe_seconds
    from strategies.models import BacktestChart

    level_row = BacktestChart.objects.filter(backtest=backtest).first()
    if level_row is None:
        points = [[int(ms // 1000), float(v)] for ms, v in backtest.equity]
        return downsample_points(points, bars)
    tf = timeframe_seconds(backtest.timeframe)
    level = Bars.from_bytes(level_row.rows)
    size = bucket_candles(int(level.time[0]), int(level.time[-1]), tf, bars) if len(level) else 1
    chosen = level.aggregate(max(size, level_row.bucket) * tf)
    if chosen.equity is None:
        return []
    return [[t, v] for t, v in zip(chosen.time.tolist(), _rounded(chosen.equity), strict=True)]


def downsample_points(points: list, limit: int) -> list:
    """At most `limit` of [[time, value], ...], evenly spaced, keeping the last."""
    if len(points) <= limit:
        return points
    step = len(points) / (limit - 1)
    return [points[int(i * step)] for i in range(limit - 1)] + [points[-1]]


# The small downsamples kept on the Backtest row itself (other code reads Backtest.equity / chart_candles).
def _buckets(n: int, max_points: int) -> np.ndarray:
    """Start index of each bucket: equal-sized runs of consecutive rows."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n, max_points, endpoint=False).astype(np.int64))


def downsample_ohlc(candles: pd.DataFrame, max_points: int = LEGACY_CANDLES) -> list[list[float]]:
    """[[open time ms, open, high, low, close], ...] with at most `max_points` rows."""
    if len(candles) == 0:
        return []
    starts = _buckets(len(candles), max_points)
    ends = np.r_[starts[1:], len(candles)] - 1
    times = candles.index.asi8[starts] // 1_000_000
    o = candles["open"].to_numpy()[starts]
    h = np.maximum.reduceat(candles["high"].to_numpy(), starts)
    low = np.minimum.reduceat(candles["low"].to_numpy(), starts)
    c = candles["close"].to_numpy()[ends]
    return np.column_stack([times, o, h, low, c]).tolist()


def downsample_series(series: pd.Series, max_points: int = LEGACY_POINTS) -> list[list[float]]:
    """[[time ms, value], ...]: the last value of each bucket (for an equity curve, the value at its end)."""
    if len(series) == 0:
        return []
    starts = _buckets(len(series), max_points)
    ends = np.r_[starts[1:], len(series)] - 1
    return np.column_stack([series.index.asi8[ends] // 1_000_000, series.to_numpy()[ends]]).tolist()
