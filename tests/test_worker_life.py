"""Worker life: `manage.py worker` processes are signalled and killed as an operator's bad day would do it.

- SIGTERM to the whole process group (make run, systemd, docker compose stop), to the main process only, or
  Ctrl-C: the bot being ticked is finished (here a live order the exchange answers only 4 s later), then
  every process exits within seconds.
- SIGKILL of the whole worker: a restarted one ticks every bot again within one candle or 60 s, whichever is
  longer (leases are short and renewed, not long and waited out), and a second worker beside it never
  ticks a candle twice.
- SIGKILL of only the main process or only the sentinel: what is left stops by itself.
Runs on SQLite and on PostgreSQL (DATABASE_URL, as in CI).
"""

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from bots import scheduler
from bots.models import Bot, Order, PnLSnapshot
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from bots.tests.test_tick import BUYS, show_history_until
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from exchanges.models import ExchangeAccount
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc and relies on PR_SET_PDEATHSIG"),
]

STOP_WITHIN = 8.0  # seconds from the signal (after the tick in progress ends) until every process is gone
RECOVER_WITHIN = 60.0  # one candle or 60 s, whichever is longer; the replay bots here close a candle a second


def start_worker(env: dict, log_path) -> subprocess.Popen:
    """`manage.py worker` in a process group (a session) of its own, as a terminal or a supervisor runs it."""
    return subprocess.Popen([PYTHON, "manage.py", "worker"], cwd=PROJECT_DIR, env=env, start_new_session=True,
                            stdout=open(log_path, "ab"), stderr=subprocess.STDOUT)


def group(pgid: int) -> list[tuple[int, int]]:
    """(pid, parent pid) of the live (not zombie) processes of a process group."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, ppid, pgrp = fields[0], int(fields[1]), int(fields[2])
        if pgrp == pgid and state != "Z":
            members.append((int(entry), ppid))
    return members


def wait_until(condition, timeout: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def ready(log_path) -> bool:
    return b"dispatching bots" in log_path.read_bytes() if log_path.exists() else False


def kill_group(proc: subprocess.Popen) -> None:
    for pid, _ in group(proc.pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    proc.wait(timeout=10)


def live_bot(fake) -> Bot:
    owner = make_user()
    account = make_account(owner, label="fake binance", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = fake.api_key, fake.api_secret
    account.save()
    return make_bot(owner, account=account, strategy=make_strategy_config(owner), mode=Bot.Mode.LIVE,
                    status=Bot.Status.RUNNING, stake=D("0.1"), stop_loss_pct=0, take_profit_pct=0)


@pytest.mark.parametrize("how", ["SIGTERM to the group", "SIGTERM to the main process", "Ctrl-C (SIGINT to the group)"])
def test_a_stop_finishes_the_bot_being_ticked_then_every_process_exits(fake_exchange, tmp_path, how):
    fake = fake_exchange
    show_history_until(fake, BUYS[0])
    bot = live_bot(fake)
    fake.timeout_delay = 4.0  # the exchange takes 4 s to answer the order (the client waits up to 10 s)
    fake.inject("timeout")
    log = tmp_path / "worker.log"
    proc = start_worker(env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url})), log)
    try:
        assert wait_until(lambda: fake.orders, 90), log.read_text()[-3000:]
        asked = time.monotonic()
        if how == "SIGTERM to the main process":
            os.kill(proc.pid, signal.SIGTERM)
        else:
            os.killpg(proc.pid, signal.SIGINT if how.startswith("Ctrl-C") else signal.SIGTERM)
        proc.wait(timeout=4 + STOP_WITHIN + 10)
        assert wait_until(lambda: not group(proc.pid), 5), group(proc.pid)
        took = time.monotonic() - asked
    finally:
        kill_group(proc)
    print(f"{how}: every process gone {took:.1f} s after the signal (the order's answer took 4 s of it)")
    assert proc.returncode == 0, log.read_text()[-3000:]
    assert took < 4 + STOP_WITHIN
    order = Order.objects.get(bot=bot)  # the tick went on to book the order the exchange filled
    assert order.status == Order.Status.CLOSED and order.filled == D(fake.orders[0]["executedQty"]) > 0
    assert len(fake.orders) == 1
    bot.refresh_from_db()
    assert bot.lease_until is None and bot.last_candle_at is not None, "the tick ended and gave its lease back"


def replay_bots(count: int) -> tuple[list[Bot], object]:
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:3000])
    candles = load_candles("binance", "BTC/USDT", "5m")
    owner = make_user()
    account, config = make_account(owner), make_strategy_config(owner)
    wall = timezone.now() + timedelta(seconds=5)  # every clock starts together, once a worker is up
    bots = [make_bot(owner, name=f"bot {k}", account=account, strategy=config, mode=Bot.Mode.REPLAY,
                     status=Bot.Status.RUNNING, replay_start=candles.index[500].to_pydatetime(), replay_speed=300,
                     replay_started_at=wall)
            for k in range(count)]
    return bots, candles


def test_a_killed_workers_bots_are_ticked_again_within_a_minute_and_never_twice(tmp_path):
    bots, candles = replay_bots(6)
    env = env_for_test_database()
    first = start_worker(env, tmp_path / "first.log")
    try:
        assert wait_until(lambda: PnLSnapshot.objects.values("bot").distinct().count() == len(bots)
                          and min(Counter(PnLSnapshot.objects.values_list("bot_id", flat=True)).values()) >= 5, 90)
        os.killpg(first.pid, signal.SIGKILL)
        killed = time.monotonic()
        first.wait(timeout=10)
        held = Bot.objects.filter(lease_until__gt=timezone.now()).count()
        at_kill = dict(Bot.objects.values_list("pk", "last_candle_at"))
    finally:
        kill_group(first)
    assert held <= 1, f"the killed worker held {held} bots: it should claim one at a time"

    # The supervisor (systemd, docker) starts a new worker.
    second = start_worker(env, tmp_path / "second.log")
    third = None
    try:
        recovered = {}
        while len(recovered) < len(bots) and time.monotonic() - killed < RECOVER_WITHIN + 30:
            for pk, last in Bot.objects.values_list("pk", "last_candle_at"):
                if pk not in recovered and last is not None and last > at_kill[pk]:
                    recovered[pk] = time.monotonic() - killed
            time.sleep(0.2)
        # A second worker beside it: the leases keep them off each other's bots.
        third = start_worker(env, tmp_path / "third.log")
        assert wait_until(lambda: ready(tmp_path / "third.log"), 60)
        time.sleep(6)
        for proc in (second, third):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in (second, third):
            proc.wait(timeout=30)
    finally:
        kill_group(second)
        if third is not None:
            kill_group(third)
    print(f"after SIGKILL: each bot ticked again after {', '.join(f'{s:.1f}' for s in sorted(recovered.values()))} s "
          f"(lease {scheduler.LEASE.seconds} s, a restarted worker included)")
    assert len(recovered) == len(bots) and max(recovered.values()) < RECOVER_WITHIN

    doubled = PnLSnapshot.objects.values("bot_id", "time").annotate(n=Count("id")).filter(n__gt=1)
    assert list(doubled) == []
    stored = list(candles.index)
    for bot in bots:
        times = list(PnLSnapshot.objects.filter(bot=bot).order_by("time").values_list("time", flat=True))
        first_at = stored.index(times[0])
        assert times == stored[first_at:first_at + len(times)], f"{bot.name} skipped or repeated a candle"
    assert not Bot.objects.filter(status=Bot.Status.ERROR).exists()


def test_what_is_left_of_a_killed_worker_stops_by_itself(tmp_path):
    env = env_for_test_database()
    # Only the main process is killed: its cluster (sentinel, workers, pusher, monitor) notices and stops.
    first = start_worker(env, tmp_path / "first.log")
    try:
        assert wait_until(lambda: ready(tmp_path / "first.log"), 90)
        assert len(group(first.pid)) >= 5
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        killed = time.monotonic()
        assert wait_until(lambda: not group(first.pid), 20), group(first.pid)
        print(f"main process killed: its cluster gone {time.monotonic() - killed:.1f} s later")
    finally:
        kill_group(first)

    # Only the sentinel is killed: its workers follow it (parent-death signal), and the main process exits
    # with an error so that its supervisor starts a whole new worker.
    second = start_worker(env, tmp_path / "second.log")
    try:
        assert wait_until(lambda: ready(tmp_path / "second.log"), 90)
        sentinel = next(pid for pid, ppid in group(second.pid) if ppid == second.pid)
        os.kill(sentinel, signal.SIGKILL)
        killed = time.monotonic()
        assert second.wait(timeout=30) == 1
        assert wait_until(lambda: not group(second.pid), 20), group(second.pid)
        print(f"sentinel killed: the worker gone {time.monotonic() - killed:.1f} s later")
    finally:
        kill_group(second)
