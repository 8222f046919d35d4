"""Bot ticks: one worker process ticking 2,000 replay bots of 100 users on 1m candles across 20 symbols, live
updates on (bot-ticks per second, tick time and lateness min/median/p99, peak memory, candle fetches).

The 1m candles shipped in exchanges/data (XRP/ETH) are stored under 20 symbol names. Every bot replays at
BENCH_BOT_SPEED (default 6: one 1m candle every 10 s), so keeping 2,000 bots on time needs 200 ticks a second.
Live updates on: every bot page and every user's dashboard is watched (BENCH_WATCHED, the fraction of bots
whose page is open, default 1), as if the pages were open, so each tick renders what a page would get; the
dashboard totals are coalesced as the dispatcher does. Lateness counts every candle that closed during the
run: one no tick processed is late by the time from its close to the end of the run (a bot that never ticked
is reported, not left out). The work runs in a child process on a throwaway SQLite database under var/.
"""

import os
import subprocess
import sys
import time
from pathlib import Path

BOTS = int(os.environ.get("BENCH_BOTS", "2000"))
SYMBOLS = int(os.environ.get("BENCH_SYMBOLS", "20"))
SPEED = int(os.environ.get("BENCH_BOT_SPEED", "6"))
SECONDS = int(os.environ.get("BENCH_BOT_SECONDS", "60"))
USERS = int(os.environ.get("BENCH_USERS", "100"))  # 20 bots per user: the dashboard update sums a user's bots
WATCHED = float(os.environ.get("BENCH_WATCHED", "1"))
TARGET_P99_MS = 50.0
TARGET_LATENESS_P99 = 5.0

PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_PATH = PROJECT_DIR / "var" / "bench-bot-ticks.sqlite3"
SOURCE = PROJECT_DIR / "exchanges" / "data" / "binance_XRP-ETH_1m.csv"


def main() -> int:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "SQLITE_PATH": str(DB_PATH), "DJANGO_SETTINGS_MODULE": "tradingbot.settings"}
    env.pop("DATABASE_URL", None)  # always the throwaway database
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=PROJECT_DIR, env=env,
                   check=True)
    child = subprocess.run([sys.executable, "-m", "bench.bot_ticks_bench", "--child"], cwd=PROJECT_DIR, env=env)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{DB_PATH}{suffix}").unlink(missing_ok=True)
    return child.returncode


def child() -> int:
    import resource
    from collections import Counter
    from datetime import timedelta
    from decimal import Decimal

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from bots import live, scheduler, tick
    from bots.models import Bot, PnLSnapshot
    from exchanges.candles import read_candle_file, upsert_candles
    from exchanges.models import ExchangeAccount
    from strategies.models import StrategyConfig

    started = time.perf_counter()
    candles = read_candle_file(SOURCE, "1m")
    symbols = [f"X{k:02d}/ETH" for k in range(SYMBOLS)]
    for symbol in symbols:
        upsert_candles("binance", symbol, "1m", candles)
    owners = []
    for k in range(USERS):
        user = get_user_model().objects.create_user(f"bench{k}")  # no password: hashing 50 would be the setup
        account = ExchangeAccount.objects.create(owner=user, label="paper", exchange_id="binance", mode="paper")
        config = StrategyConfig.objects.create(owner=user, name="rsi", strategy="rsi_cross", params={})
        owners.append((user, account, config))
    # The replay starts after the strategy's warm-up and the bots start a moment from now, together.
    replay_start = candles.index[450].to_pydatetime()
    wall_start = timezone.now() + timedelta(seconds=2)
    Bot.objects.bulk_create([
        Bot(owner=owners[k % USERS][0], name=f"bench {k}", exchange_account=owners[k % USERS][1],
            strategy=owners[k % USERS][2], symbol=symbols[k % SYMBOLS],
            timeframe="1m", mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, replay_start=replay_start,
            replay_speed=SPEED, replay_started_at=wall_start, starting_balance=Decimal("10"),
            max_open_positions=0, needs_reconcile=False)
        for k in range(BOTS)
    ])
    print(f"setup: {BOTS} bots of {USERS} users on {SYMBOLS} symbols ({len(candles)} 1m candles each) in "
          f"{time.perf_counter() - started:.1f} s; replay speed {SPEED}x (a candle every {60 / SPEED:g} s)")

    bot_ids = list(Bot.objects.order_by("pk").values_list("pk", "owner_id"))
    watched_bots = bot_ids[:round(len(bot_ids) * WATCHED)]
    pages = [live.bot_group(b) for b, _ in watched_bots] + sorted({live.user_group(u) for _, u in watched_bots})

    step = timedelta(minutes=1)
    durations, cores, lateness, outcomes = [], [], [], {}
    processed: dict[int, set] = {pk: set() for pk, _ in bot_ids}
    time.sleep(max(0.0, (wall_start - timezone.now()).total_seconds()))
    deadline = time.monotonic() + SECONDS
    run_started = time.perf_counter()
    renewed = -live.RENEW_SECONDS
    with live.coalescing():  # as bots.scheduler.dispatch runs its ticks
        while time.monotonic() < deadline:
            if time.monotonic() - renewed >= live.RENEW_SECONDS:  # the open pages' sockets renew their watches
                live.watch(pages)
                renewed = time.monotonic()
            claimed = scheduler.claim_due_bots()
            for bot_id, token in claimed:
                result = tick.tick_bot(bot_id, lease=token)
                live.flush_dashboards()
                outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
                if result.outcome != "ticked":
                    continue
                durations.append(result.seconds)
                cores.append(result.seconds - result.publish_seconds)
                processed[bot_id].add(result.candle_at)
                # How long after the candle closed (by the replay clock, in wall time) the tick finished.
                closed_wall = wall_start + (result.candle_at + step - replay_start) / SPEED
                lateness.append((timezone.now() - closed_wall).total_seconds())
            if not claimed:
                time.sleep(0.02)
    elapsed = time.perf_counter() - run_started
    # Every candle that closed during the run and was not processed is late by (end - its close), at least.
    ended = timezone.now()
    closed = [replay_start + step * k for k in range(int((ended - wall_start).total_seconds() * SPEED / 60))]
    never = 0
    for pk, _ in bot_ids:
        missed = [c for c in closed if c not in processed[pk]]
        never += not processed[pk]
        lateness += [(ended - (wall_start + (c + step - replay_start) / SPEED)).total_seconds() for c in missed]

    played = int(SECONDS * SPEED / 60)  # candles each bot should have processed (roughly)
    per_bot = list(PnLSnapshot.objects.values_list("bot_id", flat=True))
    ticked_per_bot = Counter(per_bot)
    counts = [ticked_per_bot.get(pk, 0) for pk, _ in bot_ids] or [0]
    durations.sort()
    cores.sort()
    lateness.sort()
    quantile = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")  # noqa: E731
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p99_ms = quantile(durations, 0.99) * 1000
    fetches_expected = SYMBOLS * max(counts)
    print(f"bot-ticks: {len(durations)} in {elapsed:.1f} s = {len(durations) / elapsed:.1f} ticks/s "
          f"(outcomes {outcomes})")
    print(f"tick time: min {durations[0] * 1000 if durations else float('nan'):.1f} ms, "
          f"p50 (median) {quantile(durations, 0.5) * 1000:.1f} ms, p99 {p99_ms:.1f} ms, "
          f"max {durations[-1] * 1000 if durations else float('nan'):.1f} ms (target p99 < {TARGET_P99_MS:g} ms)")
    print(f"  of which the tick without its live update: p50 {quantile(cores, 0.5) * 1000:.1f} ms, "
          f"p99 {quantile(cores, 0.99) * 1000:.1f} ms")
    print(f"lateness after candle close (unprocessed candles included): min "
          f"{lateness[0] if lateness else float('nan'):.2f} s, p50 (median) {quantile(lateness, 0.5):.2f} s, "
          f"p99 {quantile(lateness, 0.99):.2f} s, max {lateness[-1] if lateness else float('nan'):.2f} s "
          f"(candle every {60 / SPEED:g} s; target p99 < {TARGET_LATENESS_P99:g} s)")
    print(f"candles processed per bot: min {min(counts)}, max {max(counts)} of ~{played} played; "
          f"bots that ticked: {len(set(per_bot))}/{BOTS} ({never} never ticked); "
          f"pages watched: {len(watched_bots)} bots, {len({u for _, u in watched_bots})} dashboards")
    print(f"machine load (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"candle fetches: {tick.candle_fetches} for {len(durations)} ticks "
          f"(one per symbol per candle would be about {fetches_expected})")
    print(f"peak memory: {peak_mb:.0f} MB")
    on_time = bool(lateness) and quantile(lateness, 0.99) < TARGET_LATENESS_P99 and never == 0
    print(f"all {BOTS} on time: {'yes' if on_time else 'NO'}; p99 under {TARGET_P99_MS:g} ms: "
          f"{'yes' if p99_ms < TARGET_P99_MS else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(child() if "--child" in sys.argv else main())
