"""The built-in strategies (Phase 2): RSI cross, mean reversion, breakout, VWAP deviation, EMA and MACD cross."""

from __future__ import annotations  # the annotations name numpy and pandas, imported on first use

from django.utils.translation import gettext_lazy, gettext_noop

from strategies import indicators
from strategies.strategy import BUY, SELL, Evaluation, Param, Strategy, combine, crosses_above, crosses_below
from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")


def _previous(values: np.ndarray) -> np.ndarray:
    out = np.empty_like(values)
    out[:1] = np.nan
    out[1:] = values[:-1]
    return out


def _confidence(signals: np.ndarray, buy, sell) -> np.ndarray:
    """BUY candles take `buy`, SELL candles `sell`, HOLD candles 0, clipped to 0..1. Each of buy/sell is an
    array, a scalar, or a function of the candle indexes (so a backtest computes it only where signals fire)."""
    out = np.zeros(len(signals))
    for side, values in ((BUY, buy), (SELL, sell)):
        where = np.flatnonzero(signals == side)
        if callable(values):
            picked = values(where)
        elif isinstance(values, np.ndarray):
            picked = values[where]
        else:
            picked = values
        out[where] = np.clip(np.nan_to_num(picked, nan=0.0), 0.0, 1.0)
    return out


# Wilder and exponential averages never forget their seed; after this many periods the seed's weight is
# below e^-30, so a live window of `warmup` candles gives the same values as the whole history to ~1e-12.
CONVERGENCE_PERIODS = 30


class RSICross(Strategy):
    """BUY when RSI crosses up through `oversold` (previous <= oversold < current); SELL when it crosses down
    through `overbought` (previous >= overbought > current); else HOLD. RSI is Wilder's, as TA-Lib computes
    it (a series that only rises has RSI 100, one that only falls 0). Confidence of a BUY is
    0.5 + 0.5 * (oversold - previous RSI) / oversold (deeper before the cross = surer), of a SELL
    0.5 + 0.5 * (previous RSI - overbought) / (100 - overbought); HOLD is 0.
    """

    name = "rsi_cross"
    label = gettext_noop("RSI cross")
    description_text = gettext_lazy(
        "BUY when RSI crosses up through oversold (previous <= oversold < current); SELL when it crosses down"
        " through overbought (previous >= overbought > current); else HOLD. RSI is Wilder's, as TA-Lib "
        "computes it (a series that only rises has RSI 100, one that only falls 0). Confidence of a BUY is "
        "0.5 + 0.5 * (oversold - previous RSI) / oversold (deeper before the cross = surer), of a SELL 0.5 + "
        "0.5 * (previous RSI - overbought) / (100 - overbought); HOLD is 0."
    )
    params = (
        Param("rsi_period", int, 14, 2, 200, gettext_noop("Candles in the RSI average (Wilder).")),
        Param("oversold", float, 30.0, 1.0, 99.0, gettext_noop("BUY when RSI crosses up through this level.")),
        Param("overbought", float, 70.0, 1.0, 99.0, gettext_noop("SELL when RSI crosses down through this level.")),
    )

    @classmethod
    def check(cls, values):
        if values["oversold"] >= values["overbought"]:
            return {"oversold": "must be below overbought"}
        return {}

    @property
    def warmup(self) -> int:
        return CONVERGENCE_PERIODS * self.rsi_period + 2

    def evaluate(self, candles: pd.DataFrame) -> Evaluation:
        rsi = indicators.rsi(candles["close"], self.rsi_period)
        previous = _previous(rsi)
        signals = combine(crosses_above(rsi, self.oversold), crosses_below(rsi, self.overbought))
        confidence = _confidence(
            signals,
            lambda at: 0.5 + 0.5 * (self.oversold - previous[at]) / self.oversold,
            lambda at: 0.5 + 0.5 * (previous[at] - self.overbought) / (100.0 - self.overbought),
        )
        return Evaluation(signals, confidence, {"rsi": rsi, "rsi_prev": previous})

    def reason(self, signal, row):
        name = f"RSI({self.rsi_period})"
        values = {"name": name, "oversold": f"{self.oversold:g}", "overbought": f"{self.overbought:g}",
                  "previous": f"{row['rsi_prev']:.1f}", "rsi": f"{row['rsi']:.1f}"}
        if signal == BUY:
            return gettext_noop("%(name)s crossed up through %(oversold)s: %(previous)s -> %(rsi)s") % values
        if signal == SELL:
            return gettext_noop("%(name)s crossed down through %(overbought)s: %(previous)s -> %(rsi)s") % values
        return gettext_noop("%(name)s %(rsi)s, no cross of %(oversold)s or %(overbought)s") % values


class MeanReversion(Strategy):
    """Bollinger z-score, z = (close - SMA(window)) / std(window) (population std, as TA-Lib's bands).
    BUY when z crosses down through -std (previous >= -std > current: the close left the lower band);
    SELL when z crosses up through -exit_z (the price came back near the mean); else HOLD, and HOLD while
    the window is flat (std 0). Confidence of a BUY is 0.5 + 0.5 * (-z - std) / std, of a SELL
    0.5 + 0.5 * (z + exit_z) / std; HOLD is 0.
    """

    name = "mean_reversion"
    label = gettext_noop("Mean reversion (Bollinger z-score)")
    description_text = gettext_lazy(
        "Bollinger z-score, z = (close - SMA(window)) / std(window) (population std, as TA-Lib's bands). BUY "
        "when z crosses down through -std (previous >= -std > current: the close left the lower band); SELL "
        "when z crosses up through -exit_z (the price came back near the mean); else HOLD, and HOLD while the"
        " window is flat (std 0). Confidence of a BUY is 0.5 + 0.5 * (-z - std) / std, of a SELL 0.5 + 0.5 * "
        "(z + exit_z) / std; HOLD is 0."
    )
    params = (
        Param("window", int, 20, 2, 500, gettext_noop("Candles in the moving average and standard deviation.")),
        Param("std", float, 2.0, 0.1, 10.0,
              gettext_noop("BUY when the close falls this many standard deviations below the mean.")),
        Param("exit_z", float, 0.5, 0.0, 10.0,
              gettext_noop("SELL when the close is back within this many deviations below it.")),
    )

    @classmethod
    def check(cls, values):
        if values["exit_z"] >= values["std"]:
            return {"exit_z": "must be below std (the exit must come before the entry level)"}
        return {}

    @property
    def warmup(self) -> int:
        return self.window + 1

    def evaluate(self, candles):
        close = candles["close"].to_numpy(np.float64)
        middle, sd = indicators.bollinger(candles["close"], self.window, self.std)
        with np.errstate(invalid="ignore", divide="ignore"):
            # A flat window has std 0 up to rounding: no deviation, not a division by almost nothing.
            flat = sd <= 1e-9 * np.abs(middle)
            z = np.where(flat, 0.0, (close - middle) / np.where(flat, 1.0, sd))
        z[np.isnan(middle)] = np.nan
        signals = combine(crosses_below(z, -self.std), crosses_above(z, -self.exit_z))
        confidence = _confidence(
            signals, lambda at: 0.5 + 0.5 * (-z[at] - self.std) / self.std,
            lambda at: 0.5 + 0.5 * (z[at] + self.exit_z) / self.std,
        )
        return Evaluation(signals, confidence, {"z": z, "z_prev": _previous(z), "mean": middle})

    def reason(self, signal, row):
        values = {"z": f"{row['z']:.2f}", "window": self.window, "std": f"{self.std:g}", "exit": f"{self.exit_z:g}"}
        if signal == BUY:
            return gettext_noop("close %(z)s std below the %(window)s-candle mean (entry at -%(std)s)") % values
        if signal == SELL:
            return gettext_noop("close back to z %(z)s, above -%(exit)s: mean reverted") % values
        return gettext_noop("z-score %(z)s, no cross of -%(std)s or -%(exit)s") % values


class Breakout(Strategy):
    """Donchian breakout. BUY when the close is above the highest high of the `lookback` candles before it
    and its volume is at least `volume_factor` times their mean volume (0 turns the check off); SELL when
    the close is below the lowest low of those candles; else HOLD. Confidence of a BUY is
    0.5 * volume / (volume_factor * mean volume), 0.5 without the volume check; of a SELL
    0.5 + 0.5 * (channel low - close) / channel width; HOLD is 0.
    """

    name = "breakout"
    label = gettext_noop("Breakout (Donchian channel)")
    description_text = gettext_lazy(
        "Donchian breakout. BUY when the close is above the highest high of the lookback candles before it "
        "and its volume is at least volume_factor times their mean volume (0 turns the check off); SELL when "
        "the close is below the lowest low of those candles; else HOLD. Confidence of a BUY is 0.5 * volume /"
        " (volume_factor * mean volume), 0.5 without the volume check; of a SELL 0.5 + 0.5 * (channel low - "
        "close) / channel width; HOLD is 0."
    )
    params = (
        Param("lookback", int, 20, 2, 500, gettext_noop("Candles that make the channel (the current one excluded).")),
        Param("volume_factor", float, 1.5, 0.0, 20.0,
              gettext_noop("BUY only on this multiple of the mean volume; 0 = off.")),
    )

    @property
    def warmup(self) -> int:
        return self.lookback + 1

    def evaluate(self, candles):
        close = candles["close"].to_numpy(np.float64)
        volume = candles["volume"].to_numpy(np.float64)
        upper, lower = indicators.donchian_before(candles["high"], candles["low"], self.lookback)
        # No volume at all in the channel's candles: the mean is 0 (or a running sum's ~1e-14 residue), which
        # any volume "beats"; it is unknown, not zero, so the volume check cannot pass (HOLD).
        mean_volume = _previous(np.where(indicators.traded_in_window(candles["volume"], self.lookback),
                                         indicators.sma(candles["volume"], self.lookback), np.nan))
        with np.errstate(invalid="ignore", divide="ignore"):
            breaks_up = close > upper
            if self.volume_factor > 0:
                breaks_up &= volume >= self.volume_factor * mean_volume
                buy_conf = 0.5 * volume / (self.volume_factor * mean_volume)
            else:
                buy_conf = np.full(len(close), 0.5)
            breaks_down = close < lower
            width = upper - lower
            sell_conf = 0.5 + 0.5 * (lower - close) / np.where(width > 0, width, np.inf)
        signals = combine(breaks_up, breaks_down)
        confidence = _confidence(signals, buy_conf, sell_conf)
        return Evaluation(signals, confidence, {"upper": upper, "lower": lower, "close": close,
                                                "volume": volume, "mean_volume": mean_volume})

    def reason(self, signal, row):
        values = {"close": f"{row['close']:g}", "lookback": self.lookback, "upper": f"{row['upper']:g}",
                  "lower": f"{row['lower']:g}"}
        if signal == BUY:
            if row["mean_volume"] > 0:
                return gettext_noop("close %(close)s broke the %(lookback)s-candle high %(upper)s on %(volume)sx mean "
                                    "volume") % {**values, "volume": f"{row['volume'] / row['mean_volume']:.1f}"}
            return gettext_noop("close %(close)s broke the %(lookback)s-candle high %(upper)s (no volume in the "
                                "channel's candles)") % values
        if signal == SELL:
            return gettext_noop("close %(close)s broke the %(lookback)s-candle low %(lower)s") % values
        return gettext_noop("close %(close)s inside the channel %(lower)s..%(upper)s (or volume too low)") % values


class VWAPDeviation(Strategy):
    """Deviation d = close / VWAP - 1 from the rolling VWAP (typical price weighted by volume over `window`
    candles). BUY when d crosses down through -threshold (previous >= -threshold > current); SELL when it
    crosses up through +threshold; else HOLD, and HOLD when no volume traded in the window. Confidence of
    either is |d| / (2 * threshold), capped at 1; HOLD is 0.
    """

    name = "vwap_deviation"
    label = gettext_noop("VWAP deviation")
    description_text = gettext_lazy(
        "Deviation d = close / VWAP - 1 from the rolling VWAP (typical price weighted by volume over window "
        "candles). BUY when d crosses down through -threshold (previous >= -threshold > current); SELL when "
        "it crosses up through +threshold; else HOLD, and HOLD when no volume traded in the window. "
        "Confidence of either is |d| / (2 * threshold), capped at 1; HOLD is 0."
    )
    params = (
        Param("window", int, 20, 2, 1000, gettext_noop("Candles in the rolling VWAP.")),
        Param("threshold", float, 0.02, 0.0001, 0.5, gettext_noop("Deviation from VWAP, as a fraction (0.02 = 2 %).")),
    )

    @property
    def warmup(self) -> int:
        return self.window + 1

    def evaluate(self, candles):
        high, low, close, volume = (candles[c] for c in ("high", "low", "close", "volume"))
        vwap = indicators.rolling_vwap(high, low, close, volume, self.window)
        deviation = candles["close"].to_numpy(np.float64) / vwap - 1.0
        signals = combine(crosses_below(deviation, -self.threshold), crosses_above(deviation, self.threshold))
        strength = np.abs(deviation) / (2 * self.threshold)
        return Evaluation(signals, _confidence(signals, strength, strength), {"vwap": vwap, "deviation": deviation})

    def reason(self, signal, row):
        pct = row["deviation"] * 100
        values = {"pct": f"{pct:.2f}", "vwap": f"{row['vwap']:g}", "threshold": f"{self.threshold * 100:g}"}
        if signal == BUY:
            return gettext_noop("close %(pct)s %% below VWAP %(vwap)s (threshold %(threshold)s %%)") % values
        if signal == SELL:
            return gettext_noop("close %(pct)s %% above VWAP %(vwap)s (threshold %(threshold)s %%)") % values
        return gettext_noop("close %(pct)s %% from VWAP, no cross of ±%(threshold)s %%") % {
            **values, "pct": f"{pct:+.2f}"}


class EMACross(Strategy):
    """BUY when the fast EMA crosses above the slow EMA (previous fast <= slow, now fast > slow); SELL when it
    crosses below; else HOLD. Confidence is 0.5 + 50 * |fast / slow - 1| (a 1 % gap is 1.0); HOLD is 0.
    """

    name = "ema_cross"
    label = gettext_noop("EMA cross")
    description_text = gettext_lazy(
        "BUY when the fast EMA crosses above the slow EMA (previous fast <= slow, now fast > slow); SELL when"
        " it crosses below; else HOLD. Confidence is 0.5 + 50 * |fast / slow - 1| (a gap of 1/100 is 1.0); "
        "HOLD is 0."
    )
    params = (
        Param("fast", int, 12, 2, 500, gettext_noop("Candles in the fast EMA.")),
        Param("slow", int, 26, 3, 1000, gettext_noop("Candles in the slow EMA.")),
    )

    @classmethod
    def check(cls, values):
        return {"fast": "must be below slow"} if values["fast"] >= values["slow"] else {}

    @property
    def warmup(self) -> int:
        return CONVERGENCE_PERIODS // 2 * (self.slow + 1) + 2

    def evaluate(self, candles):
        fast = indicators.ema(candles["close"], self.fast)
        slow = indicators.ema(candles["close"], self.slow)
        gap = fast - slow
        signals = combine(crosses_above(gap, 0.0), crosses_below(gap, 0.0))
        strength = 0.5 + 50 * np.abs(fast / slow - 1.0)
        return Evaluation(signals, _confidence(signals, strength, strength), {"fast": fast, "slow": slow})

    def reason(self, signal, row):
        names = f"EMA({self.fast}) {row['fast']:g} / EMA({self.slow}) {row['slow']:g}"
        if signal == BUY:
            return gettext_noop("fast EMA crossed above slow: %(values)s") % {"values": names}
        if signal == SELL:
            return gettext_noop("fast EMA crossed below slow: %(values)s") % {"values": names}
        return gettext_noop("no EMA cross: %(values)s") % {"values": names}


class MACDCross(Strategy):
    """BUY when the MACD line crosses above its signal line; SELL when it crosses below; else HOLD.
    Confidence 0.75 for a cross on the far side of zero (BUY below zero, SELL above), else 0.5; HOLD 0.
    """

    name = "macd_cross"
    label = gettext_noop("MACD cross")
    description_text = gettext_lazy(
        "BUY when the MACD line crosses above its signal line; SELL when it crosses below; else HOLD. "
        "Confidence 0.75 for a cross on the far side of zero (BUY below zero, SELL above), else 0.5; HOLD 0."
    )
    params = (
        Param("fast", int, 12, 2, 500, gettext_noop("Candles in the fast EMA.")),
        Param("slow", int, 26, 3, 1000, gettext_noop("Candles in the slow EMA.")),
        Param("signal", int, 9, 2, 500, gettext_noop("Candles in the signal line's EMA of MACD.")),
    )

    @classmethod
    def check(cls, values):
        return {"fast": "must be below slow"} if values["fast"] >= values["slow"] else {}

    @property
    def warmup(self) -> int:
        return CONVERGENCE_PERIODS // 2 * (self.slow + self.signal + 2) + 2

    def evaluate(self, candles):
        line, signal_line = indicators.macd(candles["close"], self.fast, self.slow, self.signal)
        gap = line - signal_line
        signals = combine(crosses_above(gap, 0.0), crosses_below(gap, 0.0))
        confidence = _confidence(signals, np.where(line < 0, 0.75, 0.5), np.where(line > 0, 0.75, 0.5))
        return Evaluation(signals, confidence, {"macd": line, "signal_line": signal_line})

    def reason(self, signal, row):
        values = f"MACD {row['macd']:.4g}, signal {row['signal_line']:.4g}"
        if signal == BUY:
            return gettext_noop("MACD crossed above its signal line (%(values)s)") % {"values": values}
        if signal == SELL:
            return gettext_noop("MACD crossed below its signal line (%(values)s)") % {"values": values}
        return gettext_noop("no MACD cross (%(values)s)") % {"values": values}


# The parameters' labels (strategies.strategy.Param.label, made from their names), for the catalogue: the pages
# translate a strategy's label, its parameters' labels and help texts when they show them.
PARAM_LABELS = (gettext_noop("RSI period"), gettext_noop("Oversold"), gettext_noop("Overbought"),
                gettext_noop("Window"), gettext_noop("Std"), gettext_noop("Exit z"), gettext_noop("Lookback"),
                gettext_noop("Volume factor"), gettext_noop("Threshold"), gettext_noop("Fast"), gettext_noop("Slow"),
                gettext_noop("Signal"))

BUILTIN = (RSICross, MeanReversion, Breakout, VWAPDeviation, EMACross, MACDCross)
