"""Optimisation and validation on top of the sweeps: an Optuna search over a grid's space (seeded, so a run
can be repeated), and walk-forward validation (parameters chosen on past candles only, then measured on the
candles after them), with the in-sample and out-of-sample figures side by side and overfitting flagged.

Optuna is imported only here, when a search runs: management commands that do not search stay fast.
"""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from strategies import backtest as bt
from strategies import sweep
from strategies.registry import STRATEGIES, InvalidParameters
from strategies.trade_defaults import DEFAULT_SEED, MAX_TRIALS  # noqa: F401 (light: the research form shows them)

# Walk-forward: each window's in-sample part is this many times its out-of-sample part.
IN_SAMPLE_RATIO = 3
# Out-of-sample worse than this share of in-sample (objective per year, see `comparable`) flags overfitting.
OVERFIT_SHARE = 0.5


def default_space(strategy: str) -> list[sweep.Dimension]:
    """Every parameter of the strategy over its whole allowed range (integers by 1, floats in 100 steps)."""
    dims = []
    for p in STRATEGIES[strategy].params:
        integer = p.type is int
        step = 1.0 if integer else (p.maximum - p.minimum) / 100
        count = sweep._range_length(p.minimum, p.maximum, step)
        dims.append(sweep.Dimension(p.name, (), integer, float(p.minimum), float(p.maximum), step, count))
    return dims


def _suggest(trial, dimension: sweep.Dimension):
    if dimension.step is None:
        return trial.suggest_categorical(dimension.name, list(dimension.values))
    if dimension.count == 1:
        return int(dimension.low) if dimension.integer else dimension.low
    if dimension.integer:
        return trial.suggest_int(dimension.name, int(dimension.low), int(dimension.high), step=int(dimension.step))
    value = trial.suggest_float(dimension.name, dimension.low, dimension.high, step=dimension.step)
    return round(value, 12)


def search(strategy: str, candles: pd.DataFrame, dimensions: list[sweep.Dimension], settings: bt.BacktestSettings,
           trials: int, objective: str = "total_return", min_trades: int = 1, seed: int = DEFAULT_SEED,
           base_params: dict | None = None, market: sweep.Market | None = None,
           progress: Callable[[int, int, dict | None], None] | None = None,
           should_stop: Callable[[], bool] | None = None) -> sweep.SweepResult:
    """`trials` parameter sets chosen by Optuna's TPE sampler (seeded: the same seed, candles and space give
    the same trials), each evaluated as one sweep combination. Results: every distinct set, best first."""
    import optuna

    if objective not in sweep.OBJECTIVES:
        raise sweep.GridError(f"unknown objective {objective!r}; one of: {', '.join(sweep.OBJECTIVES)}")
    if not 1 <= trials <= MAX_TRIALS:
        raise sweep.GridError(f"trials must be from 1 to {MAX_TRIALS:,}, not {trials:,}")
    market = market or sweep.Market(candles, keep_indicators=True)
    sweep.check_length(strategy, market.candles, [{d.name: d.high for d in dimensions}], base_params)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    seen: dict[tuple, dict] = {}
    best: list[dict | None] = [None]
    started = time.perf_counter()
    skipped = [0]
    cancelled = [False]

    def run_trial(trial) -> float:
        combo = {d.name: _suggest(trial, d) for d in dimensions}
        results, invalid = sweep.evaluate(strategy, market, [combo], settings, base_params)
        if invalid or not results:
            skipped[0] += 1
            raise optuna.TrialPruned()
        entry = results[0]
        seen.setdefault(tuple(sorted(entry["params"].items())), entry)
        value = sweep.score(entry["metrics"], objective, min_trades)
        if best[0] is None or value > sweep.score(best[0]["metrics"], objective, min_trades):
            best[0] = entry
        # Optuna wants finite values: a run that does not qualify ranks below any that does.
        return value if math.isfinite(value) else -1e300

    def after_trial(study_, trial):
        if progress:
            progress(trial.number + 1, trials, best[0])
        if should_stop and should_stop():
            cancelled[0] = True
            study_.stop()

    try:
        study.optimize(run_trial, n_trials=trials, callbacks=[after_trial], gc_after_trial=False)
    except InvalidParameters as exc:
        raise sweep.GridError(str(exc)) from exc
    results = sweep.rank(list(seen.values()), objective, min_trades)
    if not results and not cancelled[0]:
        raise sweep.GridError(f"none of the {trials:,} trials is valid for {strategy}")
    return sweep.SweepResult(results, objective, min_trades, len(results), skipped[0], time.perf_counter() - started,
                             cancelled[0], {"trials": trials, "seed": seed})


# --- walk-forward ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Candle positions [train_start, train_end) choose the parameters; [test_start, test_end) measure them."""

    number: int
    train_start: int
    train_end: int
    test_start: int
    test_end: int


def walk_forward_windows(n: int, windows: int, ratio: int = IN_SAMPLE_RATIO) -> list[Window]:
    """`windows` rolling windows over n candles: out-of-sample parts back to back and never overlapping, each
    after its in-sample part (`ratio` times as long). windows=1 is one split: the first ratio/(ratio+1) of
    the candles in-sample, the rest out-of-sample."""
    if windows < 1:
        raise sweep.GridError(f"walk-forward needs at least 1 window, not {windows}")
    test = n // (windows + ratio)
    if test < 2:
        raise sweep.GridError(f"{n:,} candles are too few for {windows} walk-forward windows")
    out = []
    for k in range(windows):
        train_start = k * test
        train_end = train_start + ratio * test
        test_end = train_end + test if k < windows - 1 else n
        out.append(Window(k + 1, train_start, train_end, train_end, test_end))
    return out


def comparable(metrics: dict, objective: str) -> float | None:
    """The objective on a per-year footing, so a long in-sample part and a short out-of-sample part compare:
    total_return and profit_drawdown become the annualised return (and its ratio to the drawdown); the
    ratios (Sharpe, Sortino, Calmar) are annual already."""
    if objective in ("sharpe", "sortino", "calmar"):
        return metrics.get(objective)
    candles, total = metrics["candles"], metrics["total_return"]
    per_year = metrics.get("periods_per_year")
    if not per_year or candles < 2 or total <= -1:
        return None
    annual = (1.0 + total) ** (per_year / candles) - 1.0
    if objective == "profit_drawdown":
        return annual / metrics["max_drawdown"] if metrics["max_drawdown"] > 0 else None
    return annual


def flags(in_sample: dict, out_of_sample: dict, objective: str, min_trades: int) -> list[str]:
    """Warnings a trader must see: out-of-sample far worse than in-sample, or too few trades to judge."""
    found = []
    inside, outside = comparable(in_sample, objective), comparable(out_of_sample, objective)
    if inside is not None and inside > 0 and (outside is None or outside < OVERFIT_SHARE * inside):
        found.append("overfit")
    if out_of_sample["trades"] < max(min_trades, 1):
        found.append("too_few_trades")
    return found


def _measure(strategy, candles, start, end, warm, params, settings) -> dict:
    """One parameter set on candles[start:end], its indicators computed from candles[warm:end]."""
    market = sweep.Market(candles.iloc[warm:end], start=start - warm)
    results, _ = sweep.evaluate(strategy, market, [params], settings)
    metrics = results[0]["metrics"]
    return {**metrics, "periods_per_year": market.periods_per_year}


def walk_forward(strategy: str, candles: pd.DataFrame, dimensions: list[sweep.Dimension],
                 settings: bt.BacktestSettings, windows: int, objective: str = "total_return", min_trades: int = 1,
                 trials: int | None = None, seed: int = DEFAULT_SEED, base_params: dict | None = None,
                 ratio: int = IN_SAMPLE_RATIO, progress: Callable[[int, int, dict | None], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> dict:
    """For each window: the best parameters on its in-sample candles only (the grid, or `trials` of a search),
    then those parameters on its out-of-sample candles (indicators warmed up on the candles before them).
    Returns {"windows": [...], "out_of_sample": summary, "flags": [...]}; each window carries its positions
    and times, the best parameters, both metric sets and its flags."""
    parts = walk_forward_windows(len(candles), windows, ratio)
    combos_needed = sweep.count_combinations(dimensions) if trials is None else trials
    total = combos_needed * len(parts)
    rows = []
    for part in parts:
        train = candles.iloc[part.train_start:part.train_end]

        def report(done, _total, best, offset=(part.number - 1) * combos_needed):
            if progress:
                progress(offset + done, total, best)

        if trials is None:
            chosen = sweep.run_grid(strategy, train, dimensions, settings, objective, min_trades, base_params,
                                    report, should_stop)
        else:
            chosen = search(strategy, train, dimensions, settings, trials, objective, min_trades, seed, base_params,
                            progress=report, should_stop=should_stop)
        if chosen.cancelled:
            return {"windows": rows, "cancelled": True}
        best = chosen.best
        warm = max(0, part.test_start - sweep.warmup_of(strategy, [best["params"]], base_params))
        in_sample = {**best["metrics"], "periods_per_year": bt.periods_per_year(train.index)}
        out_of_sample = _measure(strategy, candles, part.test_start, part.test_end, warm, best["params"], settings)
        index = candles.index
        rows.append({
            "window": part.number,
            "train": [index[part.train_start].isoformat(), index[part.train_end - 1].isoformat()],
            "test": [index[part.test_start].isoformat(), index[part.test_end - 1].isoformat()],
            "positions": [part.train_start, part.train_end, part.test_start, part.test_end],
            "params": best["params"],
            "in_sample": in_sample,
            "out_of_sample": out_of_sample,
            "flags": flags(in_sample, out_of_sample, objective, min_trades),
        })
    # The out-of-sample parts joined: what trading the chosen parameters, window after window, would have made.
    growth = math.prod(1.0 + r["out_of_sample"]["total_return"] for r in rows)
    summary = {
        "total_return": growth - 1.0,
        "trades": sum(r["out_of_sample"]["trades"] for r in rows),
        "windows_flagged": sum(1 for r in rows if r["flags"]),
        "in_sample_total_return_mean": sum(r["in_sample"]["total_return"] for r in rows) / len(rows),
        "out_of_sample_total_return_mean": sum(r["out_of_sample"]["total_return"] for r in rows) / len(rows),
    }
    overall = sorted({flag for r in rows for flag in r["flags"]})
    return {"windows": rows, "out_of_sample": summary, "flags": overall, "cancelled": False}
