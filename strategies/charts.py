"""Server-rendered SVG charts for backtest results: candlesticks with entry/exit markers, and the equity curve.

Long ranges are downsampled into buckets first (open of the first candle, highest high, lowest low, close of
the last), so a chart of a million candles is a few hundred shapes.
"""

from datetime import UTC, datetime
from html import escape

import numpy as np
import pandas as pd
from django.utils.safestring import mark_safe

MAX_CANDLES = 240
MAX_POINTS = 800


def _buckets(n: int, max_points: int) -> np.ndarray:
    """Start index of each bucket: equal-sized runs of consecutive rows."""
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n, max_points, endpoint=False).astype(np.int64))


def downsample_ohlc(candles: pd.DataFrame, max_points: int = MAX_CANDLES) -> list[list[float]]:
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


def downsample_series(series: pd.Series, max_points: int = MAX_POINTS) -> list[list[float]]:
    """[[time ms, value], ...]: the last value of each bucket (for an equity curve, the value at its end)."""
    if len(series) == 0:
        return []
    starts = _buckets(len(series), max_points)
    ends = np.r_[starts[1:], len(series)] - 1
    return np.column_stack([series.index.asi8[ends] // 1_000_000, series.to_numpy()[ends]]).tolist()


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


def _label(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


class _Frame:
    """Maps data to the plot area of a width x height SVG with room for axis labels."""

    left, right, top, bottom = 8, 78, 10, 24

    def __init__(self, width, height, low, high):
        self.width, self.height = width, height
        pad = (high - low) * 0.04 or abs(high) * 0.01 or 1.0
        self.low, self.high = low - pad, high + pad
        self.plot_w = width - self.left - self.right
        self.plot_h = height - self.top - self.bottom

    def y(self, value: float) -> float:
        return self.top + (self.high - value) / (self.high - self.low) * self.plot_h

    def axes(self, times_ms, fmt="{:,.6g}") -> list[str]:
        parts = []
        for frac in (0.0, 0.25, 0.5, 0.75, 1.0):
            value = self.low + (self.high - self.low) * (1 - frac)
            y = self.top + frac * self.plot_h
            parts.append(f'<line x1="{self.left}" x2="{self.width - self.right}" y1="{y:.1f}" y2="{y:.1f}" '
                         f'class="grid"/>')
            parts.append(f'<text x="{self.width - self.right + 4}" y="{y + 4:.1f}" class="axis">'
                         f'{escape(fmt.format(value))}</text>')
        if len(times_ms):
            for anchor, x, ms in (("start", self.left, times_ms[0]), ("end", self.width - self.right, times_ms[-1])):
                parts.append(f'<text x="{x}" y="{self.height - 6}" text-anchor="{anchor}" class="axis">'
                             f'{_label(ms)}</text>')
        return parts


STYLE = ("<style>.grid{stroke:#2a323c;stroke-width:1}.axis{fill:#8b949e;font:11px system-ui,sans-serif}"
         ".up{fill:#26a269;stroke:#26a269}.down{fill:#e5534b;stroke:#e5534b}"
         ".entry{fill:#3fb6ff;stroke:#0f1419}.exit{fill:#f0b429;stroke:#0f1419}"
         ".equity{fill:none;stroke:#3fb6ff;stroke-width:1.5}.start{stroke:#8b949e;stroke-dasharray:4 3}</style>")


def candlestick_svg(ohlc: list[list[float]], trades: list[dict], width=1000, height=380) -> str:
    """Candlesticks from downsampled rows, a ▲ under each entry and a ▼ above each exit (in its bucket)."""
    if not ohlc:
        return mark_safe('<p class="muted">No candles to draw.</p>')
    data = np.asarray(ohlc, dtype=np.float64)
    times, o, h, low, c = data.T
    frame = _Frame(width, height, float(low.min()), float(h.max()))
    step = frame.plot_w / len(data)
    body_w = max(1.0, step * 0.7)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
             f'aria-label="Candlestick chart with {len(trades)} trades">', STYLE, *frame.axes(times)]
    for k in range(len(data)):
        x = frame.left + step * (k + 0.5)
        cls = "up" if c[k] >= o[k] else "down"
        top, bottom = frame.y(max(o[k], c[k])), frame.y(min(o[k], c[k]))
        parts.append(f'<g class="{cls}"><line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y(h[k]):.1f}" '
                     f'y2="{frame.y(low[k]):.1f}"/><rect x="{x - body_w / 2:.1f}" y="{top:.1f}" '
                     f'width="{body_w:.1f}" height="{max(bottom - top, 0.8):.1f}"/></g>')

    def bucket_x(ms: int) -> float:
        k = max(int(np.searchsorted(times, ms, side="right")) - 1, 0)
        return frame.left + step * (k + 0.5)

    size = 5
    for trade in trades:
        x = bucket_x(_ms(trade["entry_time"]))
        y = frame.y(trade["entry_price"]) + 4
        parts.append(f'<path class="entry" d="M{x:.1f},{y:.1f} l{size},{size * 1.6} h{-2 * size} z">'
                     f'<title>BUY {escape(trade["entry_time"])} at {trade["entry_price"]:g}</title></path>')
        x = bucket_x(_ms(trade["exit_time"]))
        y = frame.y(trade["exit_price"]) - 4
        parts.append(f'<path class="exit" d="M{x:.1f},{y:.1f} l{size},{-size * 1.6} h{-2 * size} z">'
                     f'<title>SELL ({escape(trade["exit_reason"])}) {escape(trade["exit_time"])} at '
                     f'{trade["exit_price"]:g}</title></path>')
    parts.append("</svg>")
    return mark_safe("".join(parts))


def equity_svg(points: list[list[float]], start_cash: float, width=1000, height=220) -> str:
    """The equity curve as one polyline, with the starting cash as a dashed line."""
    if not points:
        return mark_safe('<p class="muted">No equity curve.</p>')
    data = np.asarray(points, dtype=np.float64)
    times, values = data.T
    frame = _Frame(width, height, float(min(values.min(), start_cash)), float(max(values.max(), start_cash)))
    span = times[-1] - times[0] or 1.0
    xs = frame.left + (times - times[0]) / span * frame.plot_w
    line = " ".join(f"{x:.1f},{frame.y(v):.1f}" for x, v in zip(xs, values, strict=True))
    y0 = frame.y(start_cash)
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" class="chart" role="img" '
        f'aria-label="Equity curve">{STYLE}{"".join(frame.axes(times, "{:,.2f}"))}'
        f'<line x1="{frame.left}" x2="{width - frame.right}" y1="{y0:.1f}" y2="{y0:.1f}" class="start"/>'
        f'<polyline class="equity" points="{line}"/></svg>'
    )
