"""What the metric helpers cost per call (metrics.instruments, multiprocess mode), against a reference measured in
the same run: a plain `collections.Counter` increment under a lock (the least a thread-safe counter costs). A bot
tick costs tens of milliseconds; observe_tick should stay in the tens of microseconds."""

import statistics
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

CALLS = 20_000
ROUNDS = 5


def _per_call(fn) -> tuple[float, float]:
    runs = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for _ in range(CALLS):
            fn()
        runs.append((time.perf_counter() - started) / CALLS * 1e6)
    return min(runs), statistics.median(runs)


def main() -> int:
    from metrics import instruments

    class Account:
        exchange_id = "binance"

    class Config:
        strategy = "rsi_cross"

    class BotRow:  # the attributes observe_tick reads from a Bot
        mode, timeframe, kind = "paper", "5m", "strategy"
        exchange_account, strategy = Account(), Config()

    class Result:
        outcome, seconds, publish_seconds = "ticked", 0.01, 0.003
        candle_at = datetime.now(UTC) - timedelta(minutes=6)

    bot, result = BotRow(), Result()
    counts, lock = Counter(), threading.Lock()

    def reference():
        with lock:
            counts[("paper", "rsi_cross", "ticked")] += 1

    ref = _per_call(reference)
    print(f"  reference (Counter increment under a lock): min {ref[0]:.2f} us, median {ref[1]:.2f} us")
    for name, fn in (("observe_tick (counter, 2 histograms, lateness)", lambda: instruments.observe_tick(bot, result)),
                     ("count_order", lambda: instruments.count_order("submitted", bot, "buy")),
                     ("count_live_message", lambda: instruments.count_live_message("bot-7"))):
        low, mid = _per_call(fn)
        print(f"  {name:<48} min {low:.2f} us, median {mid:.2f} us ({low / ref[0]:.0f}x the reference)")
    return 0
