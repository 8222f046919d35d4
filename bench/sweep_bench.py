"""Parameter sweep speed (issue 15): 1,000 RSI-cross combinations on 1,000,000 candles through
strategies.sweep, against two references measured in the same run: the single backtest looped over a sample
of the combinations (scaled to 1,000), and a fused parallel numba loop (RSI given; signal rule and a plain
all-in simulation with stop-loss in one loop, no statistics) as the speed of light."""

import math
import random
import time

import numpy as np
from numba import njit, prange

from bench.backtest_bench import tiled_candles
from strategies import indicators, sweep
from strategies.backtest import BacktestSettings, run_backtest
from strategies.registry import build_strategy

GRID = "rsi_period=5:29:1,oversold=20:35:5,overbought=60:78:2"  # 25 x 4 x 10 = 1,000
SMALL_GRID = "rsi_period=10:14:1,oversold=25:30:5,overbought=60:78:2"  # 5 x 2 x 10 = 100 (issue 17's target)
FEE, STOP_LOSS = 0.001, 0.02
SAMPLE = 20
TARGET_SECONDS = 10.0


@njit(cache=True, parallel=True)
def fused_reference(open_, low, close, rsi, levels, cash, fee, stop_loss):
    """Each (oversold, overbought): the RSI-cross rule and an all-in long with a stop, written plainly in one
    loop per combination; returns the final equities."""
    k = levels.shape[0]
    out = np.empty(k)
    for j in prange(k):
        oversold, overbought = levels[j, 0], levels[j, 1]
        money, units, stop = cash, 0.0, 0.0
        for i in range(2, len(close)):
            previous, current = rsi[i - 2], rsi[i - 1]
            buy = previous <= oversold and current > oversold
            sell = previous >= overbought and current < overbought
            if buy and not sell and units == 0.0:
                units = money / (open_[i] * (1.0 + fee))
                money = 0.0
                stop = open_[i] * (1.0 - stop_loss)
            elif sell and not buy and units > 0.0:
                money = units * open_[i] * (1.0 - fee)
                units = 0.0
            if units > 0.0 and low[i] <= stop:
                money = units * min(open_[i], stop) * (1.0 - fee)
                units = 0.0
        out[j] = money + units * close[-1]
    return out


def fused_run(candles, combos):
    """The fused reference over the combinations: RSI once per period (as the sweep does), then the loop."""
    o, low, c = (np.ascontiguousarray(candles[k].to_numpy()) for k in ("open", "low", "close"))
    finals = {}
    for period in sorted({combo["rsi_period"] for combo in combos}):
        levels = np.array(sorted({(x["oversold"], x["overbought"]) for x in combos if x["rsi_period"] == period}))
        rsi = indicators.rsi(candles["close"], period)
        for (oversold, overbought), final in zip(levels, fused_reference(o, low, c, rsi, levels, 10_000.0, FEE,
                                                                          STOP_LOSS), strict=True):
            finals[(period, oversold, overbought)] = final
    return finals


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def main() -> int:
    candles = tiled_candles()
    settings = BacktestSettings(fee=FEE, stop_loss=STOP_LOSS)
    dimensions = sweep.parse_grid(GRID, "rsi_cross")
    combos = sweep.grid_combinations(dimensions)
    # Compile (or load from the numba cache) on a small slice first.
    sweep.run_grid("rsi_cross", candles.iloc[:5000], dimensions, settings)
    fused_run(candles.iloc[:5000], combos[:10])

    result, sweep_s = timed(lambda: sweep.run_grid("rsi_cross", candles, dimensions, settings))
    finals, fused_s = timed(lambda: fused_run(candles, combos))
    by_params = {tuple(r["params"][k] for k in ("rsi_period", "oversold", "overbought")): r for r in result.results}
    fused_agree = sum(math.isclose(finals[key], r["metrics"]["end_equity"], rel_tol=1e-9)
                      for key, r in by_params.items())

    small_dims = sweep.parse_grid(SMALL_GRID, "rsi_cross")
    small_combos = sweep.grid_combinations(small_dims)
    small_s = min(timed(lambda: sweep.run_grid("rsi_cross", candles, small_dims, settings))[1] for _ in range(3))
    small_fused_s = min(timed(lambda: fused_run(candles, small_combos))[1] for _ in range(3))

    sample = random.Random(1).sample(combos, SAMPLE)
    started = time.perf_counter()
    agree = 0
    for combo in sample:
        single = run_backtest(candles, build_strategy("rsi_cross", combo).signals(candles), settings).metrics
        got = by_params[(combo["rsi_period"], combo["oversold"], combo["overbought"])]["metrics"]
        agree += got["trades"] == single["trades"] and abs(got["total_return"] - single["total_return"]) <= 1e-9
    single_s = (time.perf_counter() - started) / SAMPLE * len(combos)

    print(f"{len(candles):,} candles (BTC/USDT 5m tiled), RSI cross grid {GRID} = {len(combos):,} combinations, "
          f"fee {FEE}, stop-loss {STOP_LOSS}; {result.evaluated:,} evaluated, best {result.best['params']}")
    print(f"  {'strategies.sweep.run_grid (metrics for every combination)':<68} {sweep_s:8.2f} s   "
          f"{len(combos) / sweep_s:7.1f} combinations/s")
    print(f"  {'single backtest looped (sample of ' + str(SAMPLE) + ', scaled)':<68} {single_s:8.2f} s   "
          f"({single_s / sweep_s:.1f}x slower than the sweep)")
    print(f"  {'fused parallel numba reference (RSI + rule + fills, final equity)':<68} {fused_s:8.2f} s   "
          f"(the sweep takes {sweep_s / fused_s:.2f}x its time)")
    print(f"  {'100 combinations ' + SMALL_GRID:<68} {small_s:8.2f} s   "
          f"(fused reference {small_fused_s:.2f} s: {small_s / small_fused_s:.2f}x; best of 3)")
    print(f"  sampled combinations equal to single backtests: {agree} of {SAMPLE}; "
          f"final equity equal to the fused loop: {fused_agree} of {len(by_params)}")
    print("targets:")
    checks = [
        (f"1,000 RSI-cross combinations on 1M candles under {TARGET_SECONDS:g} s ({sweep_s:.2f} s)",
         sweep_s < TARGET_SECONDS),
        (f"100 RSI combinations within 1.5x of the fused parallel loop ({small_s / small_fused_s:.2f}x)",
         small_s <= 1.5 * small_fused_s),
        (f"sampled combinations equal single backtests ({agree}/{SAMPLE})", agree == SAMPLE),
        (f"every combination's final equity equals the fused loop's ({fused_agree}/{len(by_params)})",
         fused_agree == len(by_params)),
    ]
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'MISS'}] {text}")
    return 0 if agree == SAMPLE and fused_agree == len(by_params) else 1
