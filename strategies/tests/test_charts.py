"""The server-rendered SVG charts: bucketed downsampling keeps the true extremes, markers land on their candle."""

import re

import numpy as np
import pandas as pd

from strategies.charts import candlestick_svg, downsample_ohlc, downsample_series, equity_svg
from strategies.tests.test_strategies import load_real


def test_downsampling_keeps_open_high_low_close_of_each_bucket():
    candles = load_real()  # 10,999 candles
    rows = downsample_ohlc(candles, max_points=100)
    assert len(rows) == 100
    assert rows[0][1] == candles["open"].iloc[0]
    assert rows[-1][4] == candles["close"].iloc[-1]
    assert max(r[2] for r in rows) == candles["high"].max()
    assert min(r[3] for r in rows) == candles["low"].min()
    # Buckets start at floor(k * 10,999 / 100): the first holds candles 0..108.
    first = candles.iloc[:109]
    assert rows[0] == [candles.index[0].value // 1_000_000, first["open"].iloc[0], first["high"].max(),
                       first["low"].min(), first["close"].iloc[-1]]
    assert downsample_ohlc(candles.iloc[:50], max_points=100) == [
        [t.value // 1_000_000, o, h, low, c] for t, (o, h, low, c, _v) in zip(candles.index[:50],
                                                                               candles.iloc[:50].to_numpy(),
                                                                               strict=True)]


def test_equity_downsampling_ends_on_the_final_value():
    series = pd.Series(np.arange(10_000.0), index=pd.date_range("2024-01-01", periods=10_000, freq="1min", tz="UTC"))
    points = downsample_series(series, max_points=800)
    assert len(points) == 800 and points[-1][1] == 9999.0


def test_candlestick_svg_has_one_marker_per_entry_and_exit_and_nothing_external():
    candles = load_real().iloc[:500]
    trades = [{"entry_time": "2023-01-02T18:00:00Z", "entry_price": 16700.0, "exit_time": "2023-01-03T02:00:00Z",
               "exit_price": 16750.0, "exit_reason": "take_profit"}]
    svg = str(candlestick_svg(downsample_ohlc(candles, 120), trades))
    assert svg.startswith("<svg") and svg.count("<rect") == 120
    assert svg.count('class="entry"') == 1 and svg.count('class="exit"') == 1
    assert "SELL (take_profit) 2023-01-03T02:00:00Z at 16750" in svg
    assert re.findall(r"https?://[^\"]+", svg) == ["http://www.w3.org/2000/svg"]


def test_equity_svg_and_empty_inputs():
    svg = str(equity_svg([[0, 100.0], [60_000, 110.0], [120_000, 90.0]], 100.0))
    assert "<polyline" in svg and svg.count(",") >= 3
    assert "No candles" in str(candlestick_svg([], []))
    assert "No equity" in str(equity_svg([], 100.0))
