"""Backtester speed on 1,000,000 candles: our RSI-cross backtest (fees + stop-loss), a plain numba loop for
reference in the same run, and `manage.py backtest` end to end on a 1M-candle CSV."""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from django.conf import settings
from numba import njit

from exchanges.candles import read_candle_file
from strategies.backtest import BacktestSettings, backtest_strategy, simulate
from strategies.registry import build_strategy

CANDLES = 1_000_000
RUNS = 7
FEE, STOP_LOSS = 0.001, 0.02
SOURCE = Path(settings.BASE_DIR) / "strategies" / "tests" / "data" / "binance_BTC-USDT_5m.csv"


def tiled_candles(n: int = CANDLES) -> pd.DataFrame:
    """The BTC 5m candles repeated until n rows, with timestamps continuing 5 minutes apart."""
    base = read_candle_file(SOURCE)
    reps = -(-n // len(base))
    step = base.index[1] - base.index[0]
    index = pd.DatetimeIndex(base.index[0] + step * np.arange(n), name="time")
    return pd.DataFrame({c: np.tile(base[c].to_numpy(), reps)[:n] for c in base.columns}, index=index)


@njit(cache=True)
def reference_loop(open_, low, close, signals, cash, fee, stop_loss):
    """The same rules written plainly in one loop (no shared functions): the speed of light, and a check."""
    units = 0.0
    stop = 0.0
    for i in range(1, len(close)):
        if signals[i - 1] == 1 and units == 0.0:
            units = cash / (open_[i] * (1.0 + fee))
            cash = 0.0
            stop = open_[i] * (1.0 - stop_loss)
        elif signals[i - 1] == -1 and units > 0.0:
            cash = units * open_[i] * (1.0 - fee)
            units = 0.0
        if units > 0.0 and low[i] <= stop:
            cash = units * min(open_[i], stop) * (1.0 - fee)
            units = 0.0
    return cash + units * close[-1]


MINIMA: dict[str, float] = {}


def median_ms(fn, runs: int = RUNS) -> float:
    """The median in ms (the minimum is kept in MINIMA for line())."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    MINIMA[fn.__name__] = min(times) * 1000
    return statistics.median(times) * 1000


def line(label: str, ms: float, n: int = CANDLES, fastest: float | None = None) -> None:
    low = f"min {fastest:8.1f} ms, " if fastest is not None else ""
    print(f"  {label:<52} {low}median {ms:8.1f} ms   {n / ms / 1000:8.1f} M candles/s")


def main() -> int:
    candles = tiled_candles()
    strategy = build_strategy("rsi_cross")
    backtest_settings = BacktestSettings(fee=FEE, stop_loss=STOP_LOSS)
    o, h, low, c = (np.ascontiguousarray(candles[k].to_numpy()) for k in ("open", "high", "low", "close"))
    signals = strategy.signals(candles)

    def kernel():
        return simulate(o, h, low, c, signals, 10_000.0, FEE, 0.0, STOP_LOSS, 0.0, 0.0, 1.0)

    def indicator_signals_kernel():
        s = strategy.signals(candles)
        return simulate(o, h, low, c, s, 10_000.0, FEE, 0.0, STOP_LOSS, 0.0, 0.0, 1.0)

    def full():
        return backtest_strategy(strategy, candles, backtest_settings)

    def reference():
        return reference_loop(o, low, c, signals, 10_000.0, FEE, STOP_LOSS)

    # Compile (or load from the numba cache) before timing, and check both engines agree.
    ours = full()
    theirs = reference()
    kernel(), indicator_signals_kernel()
    print(f"{CANDLES:,} candles (BTC/USDT 5m tiled), RSI(14) cross, fee {FEE} per side, stop-loss {STOP_LOSS}, "
          f"median of {RUNS}; {ours.metrics['trades']:,} trades")
    agree = abs(ours.metrics["end_equity"] - theirs) <= 1e-9 * max(abs(theirs), 1e-300) + 1e-12
    print(f"  final equity: ours {ours.metrics['end_equity']:.10g}, reference loop {theirs:.10g} "
          f"({'agree' if agree else 'DISAGREE'})")
    kernel_ms = median_ms(kernel)
    line("our kernel only (signals given)", kernel_ms, fastest=MINIMA["kernel"])
    pipeline_ms = median_ms(indicator_signals_kernel)
    line("RSI (TA-Lib via pandas-ta) + signals + kernel", pipeline_ms, fastest=MINIMA["indicator_signals_kernel"])
    full_ms = median_ms(full)
    line("run_backtest: all of the above + metrics + trade list", full_ms, fastest=MINIMA["full"])
    reference_ms = median_ms(reference)
    line("plain numba reference loop (signals given)", reference_ms, fastest=MINIMA["reference"])

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "candles_1m.csv"
        frame = candles.copy()
        frame.insert(0, "timestamp", frame.index.asi8 // 1_000_000)
        frame.to_csv(path, index=False)
        command = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "backtest", "--strategy", "rsi_cross",
                   "--csv", str(path), "--fee", str(FEE), "--stop-loss", str(STOP_LOSS), "--json"]
        walls = []
        for _ in range(3):
            started = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ.copy())
            walls.append(time.perf_counter() - started)
            if done.returncode != 0:
                print(f"  manage.py backtest failed: {done.stderr.strip()}")
                return 1
        command_s = statistics.median(walls)
    print(f"  {'manage.py backtest --csv (1M rows) --json, end to end':<52} {command_s * 1000:9.1f} ms   (median of 3)")

    # Ratios against the reference loop timed above in this run (no peer figures from another day or machine).
    print("targets (against the plain numba loop of this run):")
    checks = [
        (f"our kernel within 1.5x of the reference ({kernel_ms / reference_ms:.2f}x)", kernel_ms <= 1.5 * reference_ms),
        (f"indicator+signals+kernel ({pipeline_ms / reference_ms:.1f}x the reference loop)", True),
        (f"whole run_backtest ({full_ms / reference_ms:.1f}x the reference loop)", True),
        (f"manage.py backtest on 1M candles under 3 s ({command_s:.2f} s)", command_s < 3.0),
    ]
    for text, ok in checks:
        print(f"  [{'PASS' if ok else 'MISS'}] {text}")
    return 0 if agree else 1
