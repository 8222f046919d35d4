"""Stored candles: loading and upserting 1,000,000 candles, against reading the same candles from a CSV file.

The reference (read_candle_file on a CSV of the same rows, validation included) is timed in the same run.
Targets (issue 17): load within 2x of the CSV read, upsert under 5 s. Min and median of BENCH_CANDLE_RUNS
runs. SQLite always (a throwaway file under var/); PostgreSQL too when BENCH_DATABASE_URL is set.
"""

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_CANDLES", "1000000"))
RUNS = int(os.environ.get("BENCH_CANDLE_RUNS", "3"))
PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_PATH = PROJECT_DIR / "var" / "bench-candles.sqlite3"
CSV_PATH = PROJECT_DIR / "var" / "bench-candles.csv"


def main() -> int:
    failed = 0
    targets = [("SQLite", {"SQLITE_PATH": str(DB_PATH)})]
    if os.environ.get("BENCH_DATABASE_URL"):
        targets.append(("PostgreSQL", {"DATABASE_URL": os.environ["BENCH_DATABASE_URL"]}))
    for name, extra in targets:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingbot.settings", **extra}
        if "DATABASE_URL" not in extra:
            env.pop("DATABASE_URL", None)
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env,
                       check=True)
        print(f"### {name}")
        failed += subprocess.run([sys.executable, "-m", "bench.candles_bench", "--child"], cwd=PROJECT_DIR,
                                 env=env).returncode != 0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    CSV_PATH.unlink(missing_ok=True)
    return 1 if failed else 0


def timed(fn, runs=RUNS) -> tuple[float, float, object]:
    seconds, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - started)
    return min(seconds), statistics.median(seconds), result


def child() -> int:
    import django

    django.setup()
    import numpy as np
    import pandas as pd

    from exchanges.candles import CSV_HEADER, load_candles, read_candle_file, upsert_candles
    from exchanges.models import Candle

    Candle.objects.filter(exchange="bench").delete()
    rng = np.random.default_rng(17)
    ms = 1_600_000_020_000 + np.arange(ROWS, dtype="int64") * 60_000
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.001, ROWS)))
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * 1.001
    low = np.minimum(open_, close) * 0.999
    volume = rng.uniform(1, 100, ROWS)
    CSV_PATH.parent.mkdir(exist_ok=True)
    pd.DataFrame(dict(zip(CSV_HEADER, [ms, open_, high, low, close, volume], strict=True))).to_csv(CSV_PATH,
                                                                                                 index=False)
    csv_min, csv_med, frame = timed(lambda: read_candle_file(CSV_PATH, "1m"))
    print(f"reference: read_candle_file, {ROWS:,} rows: min {csv_min:.3f} s, median {csv_med:.3f} s")

    first_min, _, _ = timed(lambda: upsert_candles("bench", "B/T", "1m", frame), runs=1)
    print(f"upsert {ROWS:,} new candles: {first_min:.2f} s (target < 5 s: {'yes' if first_min < 5 else 'NO'})")
    up_min, up_med, _ = timed(lambda: upsert_candles("bench", "B/T", "1m", frame))
    print(f"upsert {ROWS:,} stored candles, same values (a re-import: rows left alone): min {up_min:.2f} s, "
          f"median {up_med:.2f} s (target < 5 s: {'yes' if up_min < 5 else 'NO'})")
    changed = frame.assign(close=frame["close"] * 1.0001, high=frame["high"] * 1.0001)
    ch_min, _, _ = timed(lambda: upsert_candles("bench", "B/T", "1m", changed), runs=1)
    print(f"upsert {ROWS:,} stored candles, every one changed: {ch_min:.2f} s "
          f"(target < 5 s: {'yes' if ch_min < 5 else 'NO'})")
    upsert_candles("bench", "B/T", "1m", frame)
    load_min, load_med, loaded = timed(lambda: load_candles("bench", "B/T", "1m"))
    ratio = load_min / csv_min
    print(f"load {ROWS:,} stored candles: min {load_min:.3f} s, median {load_med:.3f} s = {ratio:.2f}x the CSV read "
          f"(target within 2x: {'yes' if ratio <= 2 else 'NO'})")
    same = loaded.index.equals(frame.index) and np.array_equal(loaded.to_numpy(), frame.to_numpy())
    print(f"loaded candles equal the file's: {'yes' if same else 'NO'}")
    Candle.objects.filter(exchange="bench").delete()
    print(f"machine load (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(child() if "--child" in sys.argv else main())
