"""The strategy interface shared by backtests and live bots: typed parameters, vectorised signals and
the last candle's decision, both computed by one code path."""

from __future__ import annotations  # the annotations name numpy and pandas, imported on first use

import inspect
from dataclasses import dataclass, field
from typing import ClassVar

from tradingbot.lazy_import import lazy_module

np = lazy_module("numpy")
pd = lazy_module("pandas")

BUY, SELL, HOLD = 1, -1, 0
SIGNAL_NAMES = {BUY: "BUY", SELL: "SELL", HOLD: "HOLD"}


ACRONYMS = {"rsi": "RSI", "ema": "EMA", "macd": "MACD", "vwap": "VWAP"}


class InvalidParameters(ValueError):
    """Bad strategy parameters; `errors` maps a field name (or "strategy"/"__all__") to a message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{name}: {message}" for name, message in self.errors.items()))


@dataclass(frozen=True)
class Param:
    """One typed, range-checked parameter with its default and the help text forms show."""

    name: str
    type: type  # int or float
    default: int | float
    minimum: int | float
    maximum: int | float
    help: str

    @property
    def label(self) -> str:
        words = [ACRONYMS.get(word, word) for word in self.name.split("_")]
        return " ".join(words).capitalize() if words[0] not in ACRONYMS.values() else " ".join(words)

    def coerce(self, raw) -> int | float:
        """The value as this parameter's type, or ValueError with a message fit for a form or stderr."""
        if isinstance(raw, bool):
            raise ValueError(f"must be a number, not {raw!r}")
        if isinstance(raw, str):
            raw = raw.strip()
            try:
                number = float(raw)
            except ValueError:
                raise ValueError(f"must be a number, not {raw!r}")
        elif isinstance(raw, int | float | np.integer | np.floating):
            number = float(raw)
        else:
            raise ValueError(f"must be a number, not {raw!r}")
        if not np.isfinite(number):
            raise ValueError(f"must be a finite number, not {raw!r}")
        if self.type is int:
            if number != int(number):
                raise ValueError(f"must be a whole number, not {raw!r}")
            value = int(number)
        else:
            value = number
        if not self.minimum <= value <= self.maximum:
            raise ValueError(f"must be between {self.minimum} and {self.maximum}, not {value}")
        return value


@dataclass
class Evaluation:
    """Per-candle output of a strategy: signal (+1/-1/0), confidence 0..1, and the indicator columns."""

    signals: np.ndarray
    confidence: np.ndarray
    values: dict[str, np.ndarray] = field(default_factory=dict)


class Strategy:
    """Subclasses set `name`, `label`, `params`, and implement `evaluate`, `reason` and `warmup`.

    `evaluate(candles)` must compute every candle's signal from that candle and earlier ones only, so
    the last row of a short window (`warmup` candles) equals the same row of the whole history.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    description_text: ClassVar[str | None] = None  # a gettext_lazy description; None: the docstring
    params: ClassVar[tuple[Param, ...]]

    def __init__(self, **values):
        self.values = self.validate(values)
        for key, value in self.values.items():
            setattr(self, key, value)

    @classmethod
    def description(cls) -> str:
        """The rule and confidence, for pages and forms, in the active language: the strategy's
        `description_text` (a gettext_lazy text), else its class docstring (English: a docstring is not in a
        catalogue)."""
        text = getattr(cls, "description_text", None)
        if text:
            return str(text)
        return " ".join(inspect.cleandoc(cls.__doc__ or "").replace("`", "").split())

    @classmethod
    def validate(cls, raw: dict) -> dict:
        """Defaults filled in, each value coerced and range-checked, then the cross-field rules."""
        known = {p.name: p for p in cls.params}
        errors = {key: "is not a parameter of this strategy" for key in raw if key not in known}
        values = {}
        for param in cls.params:
            if param.name not in raw or raw[param.name] in (None, ""):
                values[param.name] = param.default
                continue
            try:
                values[param.name] = param.coerce(raw[param.name])
            except ValueError as exc:
                errors[param.name] = str(exc)
        if not errors:
            errors.update(cls.check(values))
        if errors:
            raise InvalidParameters(errors)
        return values

    @classmethod
    def check(cls, values: dict) -> dict[str, str]:
        """Cross-field rules (e.g. fast < slow); field -> message. None by default."""
        return {}

    @property
    def warmup(self) -> int:
        raise NotImplementedError

    def evaluate(self, candles: pd.DataFrame) -> Evaluation:
        raise NotImplementedError

    def reason(self, signal: int, row: dict[str, float]) -> str:
        raise NotImplementedError

    def signals(self, candles: pd.DataFrame) -> np.ndarray:
        """+1 BUY, -1 SELL, 0 HOLD for every candle (int8), vectorised."""
        return self.evaluate(candles).signals

    def execute(self, candles: pd.DataFrame, context: dict | None = None) -> dict:
        """The decision for the last (closed) candle, as the seed's BaseStrategy.execute returns it.

        `context` (position, balances, ...) is accepted for the seed's signature; these rules ignore it.
        """
        if len(candles) == 0:
            return {"signal": "HOLD", "confidence": 0.0, "reason": "no candles"}
        evaluation = self.evaluate(candles)
        signal = int(evaluation.signals[-1])
        row = {key: float(column[-1]) for key, column in evaluation.values.items()}
        if len(candles) < self.warmup and signal == HOLD:
            reason = f"warming up: {len(candles)} of {self.warmup} candles"
        else:
            reason = self.reason(signal, row)
        return {"signal": SIGNAL_NAMES[signal], "confidence": float(evaluation.confidence[-1]), "reason": reason}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v}" for k, v in self.values.items())
        return f"{type(self).__name__}({args})"


def crosses_above(series: np.ndarray, level) -> np.ndarray:
    """previous <= level < current (False where either value is NaN)."""
    previous = np.empty_like(series)
    previous[0] = np.nan
    previous[1:] = series[:-1]
    level_prev = level
    if isinstance(level, np.ndarray):
        level_prev = np.empty_like(level)
        level_prev[0] = np.nan
        level_prev[1:] = level[:-1]
    with np.errstate(invalid="ignore"):
        return (previous <= level_prev) & (series > level)


def crosses_below(series: np.ndarray, level) -> np.ndarray:
    """previous >= level > current (False where either value is NaN)."""
    return crosses_above(-series, -level)


def combine(buy: np.ndarray, sell: np.ndarray) -> np.ndarray:
    """int8 signals from two masks; a candle that is both (impossible for these rules) holds."""
    out = np.zeros(len(buy), dtype=np.int8)
    out[buy & ~sell] = BUY
    out[sell & ~buy] = SELL
    return out
