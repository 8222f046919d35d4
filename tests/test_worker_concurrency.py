"""Two worker processes run the dispatcher over the same replay bots at once: no candle is ticked twice.

Each tick that processes a candle books exactly one P&L snapshot for it, so a doubled tick shows up as
two snapshots of one bot for one candle. Runs on SQLite and on PostgreSQL (DATABASE_URL, as in CI).
"""

import subprocess
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from bots.models import Bot, BotEvent, PnLSnapshot
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.backends]

BOTS = 12
SECONDS = 6
DISPATCH = (f"from bots.scheduler import dispatch; print('claimed', dispatch(duration={SECONDS}, interval=0.02, "
            "inline=True))")


def test_two_dispatchers_never_double_a_tick():
    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:3000])
    start = load_candles("binance", "BTC/USDT", "5m").index[500].to_pydatetime()
    owner = make_user()
    account, config = make_account(owner), make_strategy_config(owner)
    # Both workers start a moment from now, with every replay clock already 100 candles past the last candle
    # each bot processed: plenty due at once (a replay bot catches up one candle per tick).
    wall = timezone.now() + timedelta(seconds=3)
    for k in range(BOTS):
        make_bot(owner, name=f"bot {k}", account=account, strategy=config, mode=Bot.Mode.REPLAY,
                 status=Bot.Status.RUNNING, replay_start=start, replay_speed=600, replay_started_at=wall,
                 replay_offset=timedelta(minutes=500), last_candle_at=start, max_open_positions=0)
    env = env_for_test_database()
    workers = [subprocess.Popen([PYTHON, "manage.py", "shell", "-c", DISPATCH], cwd=PROJECT_DIR, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    claimed = []
    for proc in workers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-3000:]
        claimed.append(int(out.split("claimed", 1)[1].split()[0]))

    assert all(n > 0 for n in claimed), f"both workers must have ticked bots: {claimed}"
    per_candle = PnLSnapshot.objects.values("bot_id", "time").annotate(n=Count("id"))
    doubled = [row for row in per_candle if row["n"] > 1]
    assert doubled == []
    ticks = Counter(PnLSnapshot.objects.values_list("bot_id", flat=True))
    assert len(ticks) == BOTS and min(ticks.values()) >= 5, ticks
    assert not BotEvent.objects.filter(kind="error").exists()
    # Every bot processed its candles in order, each once: its snapshots are consecutive candles.
    for bot_id in ticks:
        times = list(PnLSnapshot.objects.filter(bot_id=bot_id).order_by("time").values_list("time", flat=True))
        assert len(times) == len(set(times))


SCALE_BOTS = 36
SCALE_SECONDS = 15


@pytest.mark.skipif(not (settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and settings.REDIS_URL),
                    reason="scale-out runs on PostgreSQL + Redis (DATABASE_URL and REDIS_URL)")
def test_two_worker_processes_on_postgresql_and_redis_tick_every_bot_once_per_candle(tmp_path):
    """Two `manage.py worker` processes (dispatcher + task cluster each, their own database connections) on
    one PostgreSQL database with Redis: every bot processes every candle that closed, in order, exactly once."""
    import os
    import signal
    import time

    from tests.test_worker_life import ready, start_worker, wait_until

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:3000])
    candles = load_candles("binance", "BTC/USDT", "5m")
    first = 500
    start = candles.index[first].to_pydatetime()
    owner = make_user()
    account, config = make_account(owner), make_strategy_config(owner)
    wall = timezone.now() + timedelta(seconds=8)  # both workers are up by then
    for k in range(SCALE_BOTS):  # one 5m candle a second
        make_bot(owner, name=f"bot {k}", account=account, strategy=config, mode=Bot.Mode.REPLAY,
                 status=Bot.Status.RUNNING, replay_start=start, replay_speed=300, replay_started_at=wall,
                 max_open_positions=0)
    env = env_for_test_database()
    logs = [tmp_path / f"worker{k}.log" for k in range(2)]
    workers = [start_worker(env, log) for log in logs]
    try:
        assert all(wait_until(lambda log=log: ready(log), 60) for log in logs), [log.read_text()[-2000:]
                                                                                for log in logs]
        time.sleep(max(0.0, (wall - timezone.now()).total_seconds()) + SCALE_SECONDS)
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
    assert [proc.returncode for proc in workers] == [0, 0], [log.read_text()[-2000:] for log in logs]

    assert not BotEvent.objects.filter(kind="error").exists()
    doubled = PnLSnapshot.objects.values("bot_id", "time").annotate(n=Count("id")).filter(n__gt=1)
    assert list(doubled) == []
    stored = [t.to_pydatetime() for t in candles.index]
    for bot in Bot.objects.filter(owner=owner):
        times = list(PnLSnapshot.objects.filter(bot=bot).order_by("time").values_list("time", flat=True))
        assert len(times) >= SCALE_SECONDS // 2, (bot.name, len(times))
        # In order, none skipped, none twice: consecutive stored candles from the one at the replay start.
        at = stored.index(times[0])
        assert first - 1 <= at <= first, (bot.name, times[0])
        assert times == stored[at:at + len(times)], bot.name
