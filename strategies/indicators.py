"""Indicators for the strategies, from pandas-ta (TA-Lib underneath where installed), as float64 arrays.

pandas-ta returns None when a series is shorter than the indicator needs; here that is all NaN, so a
strategy never special-cases short input. Inside strategies.shared_indicators.sharing() (a sweep) each is
computed once per distinct input and parameters.
"""

from __future__ import annotations  # the annotations name numpy and pandas, imported on first use

from strategies.shared_indicators import shareable
from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")
ta = lazy_module("pandas_ta")  # and numba with it: about 0.4 s


def _array(result, n: int) -> np.ndarray:
    if result is None:
        return np.full(n, np.nan)
    return np.asarray(result, dtype=np.float64)


@shareable
def rsi(close: pd.Series, period: int) -> np.ndarray:
    """Wilder's RSI; with TA-Lib installed it is TA-Lib's RSI exactly (pandas-ta's talib path)."""
    return _array(ta.rsi(close, length=period, talib=True), len(close))


@shareable
def ema(close: pd.Series, period: int) -> np.ndarray:
    return _array(ta.ema(close, length=period, talib=True), len(close))


@shareable
def sma(series: pd.Series, period: int) -> np.ndarray:
    return _array(ta.sma(series, length=period, talib=True), len(series))


@shareable
def macd(close: pd.Series, fast: int, slow: int, signal: int) -> tuple[np.ndarray, np.ndarray]:
    """(MACD line, signal line)."""
    frame = ta.macd(close, fast=fast, slow=slow, signal=signal, talib=True)
    if frame is None:
        return np.full(len(close), np.nan), np.full(len(close), np.nan)
    return frame.iloc[:, 0].to_numpy(np.float64), frame.iloc[:, 2].to_numpy(np.float64)


@shareable
def bollinger(close: pd.Series, window: int, std: float) -> tuple[np.ndarray, np.ndarray]:
    """(middle band, one standard deviation), population std (ddof=0) as TA-Lib computes it."""
    frame = ta.bbands(close, length=window, lower_std=std, upper_std=std, ddof=0, talib=True)
    if frame is None:
        return np.full(len(close), np.nan), np.full(len(close), np.nan)
    lower = frame.iloc[:, 0].to_numpy(np.float64)
    middle = frame.iloc[:, 1].to_numpy(np.float64)
    return middle, (middle - lower) / std


@shareable
def donchian_before(high: pd.Series, low: pd.Series, lookback: int) -> tuple[np.ndarray, np.ndarray]:
    """(highest high, lowest low) of the `lookback` candles BEFORE each candle (so a close can break it)."""
    frame = ta.donchian(high, low, lower_length=lookback, upper_length=lookback)
    n = len(high)
    if frame is None:
        return np.full(n, np.nan), np.full(n, np.nan)
    lower = np.full(n, np.nan)
    upper = np.full(n, np.nan)
    lower[1:] = frame.iloc[:-1, 0].to_numpy(np.float64)
    upper[1:] = frame.iloc[:-1, 2].to_numpy(np.float64)
    return upper, lower


@shareable
def rolling_vwap(high: pd.Series, low: pd.Series, close: pd.Series, volume: pd.Series, window: int) -> np.ndarray:
    """Volume-weighted mean of the typical price over the last `window` candles; NaN where no volume traded.

    Rolling rather than session-anchored, so a live tick needs a fixed number of candles on any timeframe.
    """
    typical = (high + low + close) / 3.0
    traded = sma(typical * volume, window)
    volume_mean = sma(volume, window)
    # TA-Lib's SMA is a running sum: after a stretch without volume it leaves a residue (~1e-14) that is
    # neither 0 nor a mean, and traded / residue is nonsense (a VWAP of -137). Whether any volume traded
    # in the window is counted exactly instead.
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(traded_in_window(volume, window) & (volume_mean > 0), traded / volume_mean, np.nan)


@shareable
def traded_in_window(volume: pd.Series, window: int) -> np.ndarray:
    """True where at least one of the last `window` candles (this one included) had volume; an exact count
    (integers), unlike a running float sum. False for the first window - 1 candles."""
    counts = np.cumsum(np.asarray(volume, dtype=np.float64) > 0, dtype=np.int64)
    out = np.zeros(len(counts), dtype=bool)
    if len(counts) >= window:
        before = np.r_[0, counts[:-window]]
        out[window - 1:] = counts[window - 1:] - before > 0
    return out
