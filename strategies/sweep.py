"""Parameter sweeps: many parameter sets of one strategy over the same candles, with the backtester's execution
model (strategies.backtest.run_core), the indicator computed once per distinct setting, combinations in
parallel (numba prange). Grids are parsed and checked here too, before anything runs.

A combination is a dict of strategy parameters plus the exit settings `stop_loss`, `take_profit` and
`trailing_stop` (fractions, as BacktestSettings). Its metrics are those of a single backtest
(strategies.backtest.compute_metrics) plus `calmar` and `profit_drawdown`, so that a sampled combination can be
checked against `run_backtest` and the objectives rank either the same way.
"""

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numba import njit, prange

from strategies import backtest as bt
from strategies import indicators, shared_indicators
from strategies.registry import STRATEGIES, InvalidParameters

EXIT_PARAMS = {
    "stop_loss": (0.0, 0.99, "stop-loss below the entry, a fraction (0 = off)"),
    "take_profit": (0.0, 100.0, "take-profit above the entry, a fraction (0 = off)"),
    "trailing_stop": (0.0, 0.99, "trailing stop below the highest price, a fraction (0 = off)"),
}
OBJECTIVES = ("total_return", "sharpe", "sortino", "calmar", "profit_drawdown")
# A grid beyond this is refused before anything runs: at ~1 ms per combination on a million candles it is
# already an hour and a half of work on two cores. Optuna (a search) is the tool for larger spaces.
MAX_COMBINATIONS = 100_000
# Combinations handed to one parallel kernel call: progress and cancellation are checked between chunks.
CHUNK = 64
# Signal sources (an RSI, a signal series) a market keeps for a search: 32 columns of a million candles = 256 MB.
MAX_CACHED = 32


class GridError(ValueError):
    """A grid that cannot run: the message says why (unknown parameter, bad range, too many combinations)."""


@dataclass(frozen=True)
class Dimension:
    """One parameter's values: a range low..high by step (both ends included) or a list."""

    name: str
    values: tuple  # empty when the range is too long to list (the grid is refused then)
    integer: bool
    low: float
    high: float
    step: float | None  # None for a list
    count: int

    def __len__(self) -> int:
        return self.count


@dataclass
class SweepResult:
    results: list[dict]  # {"params": {...}, "metrics": {...}}, best first
    objective: str
    min_trades: int
    evaluated: int
    skipped: int  # combinations refused by the strategy's own rules (e.g. oversold >= overbought)
    seconds: float
    cancelled: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def best(self) -> dict | None:
        return self.results[0] if self.results else None

    def as_dict(self) -> dict:
        return {"results": self.results, "best": self.best, "objective": self.objective,
                "min_trades": self.min_trades, "evaluated": self.evaluated, "skipped": self.skipped,
                "seconds": self.seconds, "cancelled": self.cancelled, **self.extra}


def parameter_specs(strategy: str) -> dict[str, tuple[bool, float, float]]:
    """name -> (integer, minimum, maximum) of every parameter a grid over `strategy` may name."""
    cls = STRATEGIES.get(strategy)
    if cls is None:
        raise GridError(f"unknown strategy {strategy!r}; known: {', '.join(sorted(STRATEGIES))}")
    specs = {p.name: (p.type is int, float(p.minimum), float(p.maximum)) for p in cls.params}
    specs.update({name: (False, low, high) for name, (low, high, _) in EXIT_PARAMS.items()})
    return specs


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise GridError(f"{name}: {text.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise GridError(f"{name}: {text.strip()!r} is not a finite number")
    return value


def _range_length(low: float, high: float, step: float) -> int:
    # A float range includes its end when within a millionth of a step (0.1:0.3:0.1 has 3 values).
    return int(math.floor((high - low) / step + 1e-6)) + 1


def parse_grid(text: str, strategy: str, limit: int | None = MAX_COMBINATIONS) -> list[Dimension]:
    """"rsi_period=5:30:1,oversold=20:40:5,stop_loss=0.01|0.02" -> dimensions. A value is `low:high:step`
    (both ends included), `low:high` (step 1), a list `a|b|c`, or one number. Every value is checked against
    the parameter's range; GridError names the parameter and the problem. Nothing is computed here beyond the
    count of values, so a grid of billions is refused as quickly as a good one is accepted. limit=None: a
    search space (Optuna samples it), which may be larger than any grid."""
    specs = parameter_specs(strategy)
    if not text or not text.strip():
        raise GridError("the grid is empty: give NAME=LOW:HIGH:STEP, e.g. rsi_period=5:30:1")
    dimensions: list[Dimension] = []
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name or not spec.strip():
            raise GridError(f"{item.strip()!r} must look like NAME=LOW:HIGH:STEP, NAME=A|B|C or NAME=VALUE")
        if name not in specs:
            raise GridError(f"{name!r} is not a parameter of {strategy}; it has: {', '.join(specs)}")
        if any(d.name == name for d in dimensions):
            raise GridError(f"{name} is given twice")
        integer, minimum, maximum = specs[name]
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3):
                raise GridError(f"{name}: {spec.strip()!r} must be LOW:HIGH or LOW:HIGH:STEP")
            low, high = _number(parts[0], name), _number(parts[1], name)
            step = _number(parts[2], name) if len(parts) == 3 else 1.0
            if step <= 0:
                raise GridError(f"{name}: the step must be above 0, not {step:g}")
            if high < low:
                raise GridError(f"{name}: {low:g}:{high:g} runs backwards (low above high)")
            if integer and (low != int(low) or step != int(step)):
                raise GridError(f"{name} takes whole numbers: {spec.strip()!r}")
            length = _range_length(low, high, step)
            last = low + (length - 1) * step
            values = ()
            if length <= MAX_COMBINATIONS:
                values = tuple(int(round(low + k * step)) if integer else round(low + k * step, 12)
                               for k in range(length))
            dimension = Dimension(name, values, integer, low, last, step, length)
        else:
            numbers = [_number(part, name) for part in spec.split("|")]
            if integer and any(v != int(v) for v in numbers):
                raise GridError(f"{name} takes whole numbers: {spec.strip()!r}")
            values = tuple(dict.fromkeys(int(v) if integer else v for v in numbers))
            dimension = Dimension(name, values, integer, min(values), max(values), None, len(values))
        if dimension.low < minimum or dimension.high > maximum:
            raise GridError(f"{name}: values must be from {minimum:g} to {maximum:g}, "
                            f"not {dimension.low:g}..{dimension.high:g}")
        dimensions.append(dimension)
    if not dimensions:
        raise GridError("the grid is empty: give NAME=LOW:HIGH:STEP, e.g. rsi_period=5:30:1")
    total = count_combinations(dimensions)
    if limit is not None and total > limit:
        raise GridError(f"the grid has {total:,} combinations; the limit is {limit:,} "
                        "(use a coarser step, fewer parameters, or --trials for a search)")
    return dimensions


def count_combinations(dimensions: Iterable[Dimension]) -> int:
    return math.prod(len(d) for d in dimensions)


def grid_combinations(dimensions: list[Dimension]) -> list[dict]:
    """Every combination of the dimensions' values, in a fixed order (the first dimension slowest)."""
    combos = [{}]
    for dimension in dimensions:
        combos = [{**combo, dimension.name: value} for combo in combos for value in dimension.values]
    return combos


def split_params(strategy: str, combo: dict) -> tuple[dict, dict]:
    """(strategy parameters, exit settings) of one combination."""
    names = {p.name for p in STRATEGIES[strategy].params}
    return ({k: v for k, v in combo.items() if k in names}, {k: v for k, v in combo.items() if k in EXIT_PARAMS})


def warmup_of(strategy: str, combos: list[dict], base_params: dict | None = None) -> int:
    """The most candles any of the combinations needs before its first signal."""
    cls = STRATEGIES[strategy]
    most = 0
    for combo in combos:
        params, _ = split_params(strategy, combo)
        try:
            most = max(most, cls(**{**(base_params or {}), **params}).warmup)
        except InvalidParameters:
            continue
    return most


# --- kernels ---------------------------------------------------------------------------------------------


@njit(cache=True)
def rsi_cross_signals(rsi, oversold, overbought, out):
    """strategies.builtin.RSICross's rule on a precomputed RSI: crosses_above / crosses_below, NaN never crosses."""
    out[0] = 0
    for i in range(1, len(rsi)):
        previous = rsi[i - 1]
        current = rsi[i]
        buy = previous <= oversold and current > oversold
        sell = previous >= overbought and current < overbought
        out[i] = 1 if buy and not sell else (-1 if sell and not buy else 0)


@njit(cache=True, parallel=True)
def rsi_cross_sweep(open_, high, low, close, rsi, levels, exits, cash, fee, slippage, stake):
    """One RSI (one period), many (oversold, overbought) x (stop_loss, take_profit, trailing_stop) rows."""
    k = levels.shape[0]
    n = len(close)
    stats = np.zeros((k, bt.STATS))
    for j in prange(k):
        signals = np.empty(n, np.int8)
        rsi_cross_signals(rsi, levels[j, 0], levels[j, 1], signals)
        bt.simulate_stats(open_, high, low, close, signals, cash, fee, slippage, exits[j, 0], exits[j, 1],
                          exits[j, 2], stake, stats[j])
    return stats


@njit(cache=True, parallel=True)
def signals_sweep(open_, high, low, close, signals, exits, cash, fee, slippage, stake):
    """One signal series (any strategy), many exit settings."""
    k = exits.shape[0]
    stats = np.zeros((k, bt.STATS))
    for j in prange(k):
        bt.simulate_stats(open_, high, low, close, signals, cash, fee, slippage, exits[j, 0], exits[j, 1],
                          exits[j, 2], stake, stats[j])
    return stats


# --- metrics -----------------------------------------------------------------------------------------------


def research_metrics(metrics: dict, periods_per_year: float) -> dict:
    """Adds `calmar` (annualised return over the largest drawdown) and `profit_drawdown` (total return over
    the largest drawdown) to a backtest's metrics; None where there is no drawdown or no time."""
    drawdown = metrics["max_drawdown"]
    total = metrics["total_return"]
    candles = metrics["candles"]
    calmar = None
    if drawdown > 0 and periods_per_year > 0 and candles > 1 and total > -1:
        years = candles / periods_per_year
        calmar = ((1.0 + total) ** (1.0 / years) - 1.0) / drawdown
    return {**metrics, "calmar": calmar, "profit_drawdown": total / drawdown if drawdown > 0 else None}


def metrics_from_stats(stats: np.ndarray, close: np.ndarray, cash: float, periods_per_year: float) -> dict:
    """compute_metrics' dictionary from one row of run_core's statistics (plain floats, JSON-ready)."""
    stats = [float(x) for x in stats]
    n = len(close)
    m = n - 1
    sharpe = sortino = None
    if m > 1 and periods_per_year > 0:
        total, squares = stats[bt.STAT_SUM_RETURNS], stats[bt.STAT_SUM_SQUARES]
        mean = total / m
        variance = max((squares - total * mean) / (m - 1), 0.0)
        std = math.sqrt(variance)
        downside = math.sqrt(stats[bt.STAT_SUM_DOWNSIDE] / m)
        scale = math.sqrt(periods_per_year)
        # A flat equity has std 0 exactly in compute_metrics; here rounding can leave ~1e-20.
        sharpe = mean / std * scale if std > 1e-15 else None
        sortino = mean / downside * scale if downside > 0 else None
    trades = int(stats[bt.STAT_TRADES])
    wins, losses = int(stats[bt.STAT_WINS]), int(stats[bt.STAT_LOSSES])
    end = float(stats[bt.STAT_END_EQUITY])
    metrics = {
        "start_cash": cash,
        "end_equity": end,
        "total_return": end / cash - 1.0,
        "buy_and_hold_return": float(close[-1] / close[0] - 1.0),
        "max_drawdown": float(stats[bt.STAT_MAX_DRAWDOWN]),
        "sharpe": sharpe,
        "sortino": sortino,
        "win_rate": wins / trades if trades else None,
        "profit_factor": stats[bt.STAT_WON] / -stats[bt.STAT_LOST] if losses else None,
        "trades": trades,
        "exposure": float(stats[bt.STAT_EXPOSED] / n),
        "candles": n,
    }
    return research_metrics(metrics, periods_per_year)


def score(metrics: dict, objective: str, min_trades: int) -> float:
    """The objective's value; -inf when it is undefined or the run made fewer than `min_trades` trades."""
    if metrics["trades"] < min_trades:
        return -math.inf
    value = metrics.get(objective)
    return -math.inf if value is None or not math.isfinite(value) else float(value)


def rank(results: list[dict], objective: str, min_trades: int) -> list[dict]:
    """Best first by the objective (ties: more total return, then fewer trades, then the grid order)."""
    if objective not in OBJECTIVES:
        raise GridError(f"unknown objective {objective!r}; one of: {', '.join(OBJECTIVES)}")
    return sorted(results, key=lambda r: (-score(r["metrics"], objective, min_trades),
                                          -r["metrics"]["total_return"], r["metrics"]["trades"]))


# --- evaluation ---------------------------------------------------------------------------------------------


class Cancelled(Exception):
    pass


@dataclass
class Market:
    """The candles of one evaluation as contiguous float64 arrays; `start` candles at the front are warm-up
    only (indicators see them, the simulation starts after them)."""

    candles: pd.DataFrame
    start: int = 0
    keep_indicators: bool = False  # a search keeps them (it comes back to the same ones); a grid does not

    def __post_init__(self):
        frame = self.candles.iloc[self.start:]
        self.open, self.high, self.low, self.close = (np.ascontiguousarray(frame[c].to_numpy(np.float64))
                                                      for c in ("open", "high", "low", "close"))
        self.periods_per_year = bt.periods_per_year(frame.index)
        self.n = len(frame)
        self.cache: dict = {}
        self.indicators = shared_indicators.Store()  # other strategies' indicators, shared across sets

    def signal_source(self, strategy: str, cls, key: tuple, values: dict) -> np.ndarray:
        """RSI of the period (rsi_cross) or the strategy's signals, from the simulation's first candle on;
        computed once per key for this market (a search asks for the same one many times)."""
        if key not in self.cache:
            if len(self.cache) >= MAX_CACHED:  # a search over many periods: keep the newest only
                self.cache.pop(next(iter(self.cache)))
            if strategy == "rsi_cross":
                source = indicators.rsi(self.candles["close"], key[0])
            else:
                with shared_indicators.sharing(self.indicators):
                    source = cls(**values).signals(self.candles)
            self.cache[key] = np.ascontiguousarray(source[self.start:])
        return self.cache[key]


def evaluate(strategy: str, market: Market, combos: list[dict], settings: bt.BacktestSettings,
             base_params: dict | None = None, progress: Callable[[int, dict | None], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> tuple[list[dict], int]:
    """Metrics of each valid combination; returns (results in the order given, combinations skipped as invalid).

    Combinations are grouped by what their signals depend on (for RSI cross: the period, then the levels in
    the kernel; for other strategies: the strategy parameters), so each indicator is computed once per group.
    `progress(done, latest)` is called after each chunk; `should_stop()` True ends the run (Cancelled)."""
    cls = STRATEGIES[strategy]
    base = dict(base_params or {})
    valid: list[tuple[int, dict, dict, dict]] = []  # (position, strategy params, exits, combo)
    skipped = 0
    for position, combo in enumerate(combos):
        params, exits = split_params(strategy, combo)
        try:
            values = cls.validate({**base, **params})
            bt.BacktestSettings(**{**settings.as_dict(), **exits})
        except (InvalidParameters, ValueError):
            skipped += 1
            continue
        valid.append((position, values, {**{k: getattr(settings, k) for k in EXIT_PARAMS}, **exits}, combo))
    results: list[dict | None] = [None] * len(combos)
    done = 0
    if strategy == "rsi_cross":
        groups: dict[tuple, list] = {}
        for item in valid:
            groups.setdefault((item[1]["rsi_period"],), []).append(item)
    else:
        groups = {}
        for item in valid:
            groups.setdefault(tuple(sorted(item[1].items())), []).append(item)
    for key, items in groups.items():
        signal_source = market.signal_source(strategy, cls, key, items[0][1])
        for offset in range(0, len(items), CHUNK):
            if should_stop and should_stop():
                raise Cancelled()
            chunk = items[offset:offset + CHUNK]
            exits = np.array([[e["stop_loss"], e["take_profit"], e["trailing_stop"]] for _, _, e, _ in chunk])
            args = (market.open, market.high, market.low, market.close)
            costs = (float(settings.cash), float(settings.fee), float(settings.slippage), float(settings.stake))
            if strategy == "rsi_cross":
                levels = np.array([[v["oversold"], v["overbought"]] for _, v, _, _ in chunk], dtype=np.float64)
                stats = rsi_cross_sweep(*args, signal_source, levels, exits, *costs)
            else:
                stats = signals_sweep(*args, signal_source, exits, *costs)
            latest = None
            for row, (position, values, exit_values, _combo) in zip(stats, chunk, strict=True):
                latest = {"params": {**values, **exit_values},
                          "metrics": metrics_from_stats(row, market.close, settings.cash, market.periods_per_year)}
                results[position] = latest
            done += len(chunk)
            if progress:
                progress(done, latest)
        if not market.keep_indicators:
            market.cache.pop(key, None)
    return [r for r in results if r is not None], skipped


def check_length(strategy: str, candles: pd.DataFrame, combos: list[dict], base_params: dict | None = None) -> None:
    """GridError when the candles are too few for the longest warm-up in the grid (nothing would trade)."""
    need = warmup_of(strategy, combos, base_params)
    if len(candles) < need + 2:
        raise GridError(f"{len(candles):,} candles are too few: the grid's longest warm-up needs {need:,} "
                        f"plus at least 2 to trade")


def run_grid(strategy: str, candles: pd.DataFrame, dimensions: list[Dimension], settings: bt.BacktestSettings,
             objective: str = "total_return", min_trades: int = 1, base_params: dict | None = None,
             progress: Callable[[int, int, dict | None], None] | None = None,
             should_stop: Callable[[], bool] | None = None) -> SweepResult:
    """Every combination of the grid on the candles, ranked by the objective (best first)."""
    if objective not in OBJECTIVES:
        raise GridError(f"unknown objective {objective!r}; one of: {', '.join(OBJECTIVES)}")
    combos = grid_combinations(dimensions)
    check_length(strategy, candles, combos, base_params)
    started = time.perf_counter()
    total = len(combos)
    best: list[dict | None] = [None]

    def report(done, latest):
        if latest and (best[0] is None or score(latest["metrics"], objective, min_trades)
                       > score(best[0]["metrics"], objective, min_trades)):
            best[0] = latest
        if progress:
            progress(done, total, best[0])

    cancelled = False
    try:
        results, skipped = evaluate(strategy, Market(candles), combos, settings, base_params, report, should_stop)
    except Cancelled:
        results, skipped, cancelled = [], 0, True
    if not cancelled and not results:
        raise GridError(f"none of the {total:,} combinations is valid for {strategy} "
                        "(e.g. oversold must stay below overbought)")
    return SweepResult(rank(results, objective, min_trades), objective, min_trades, len(results), skipped,
                       time.perf_counter() - started, cancelled)
