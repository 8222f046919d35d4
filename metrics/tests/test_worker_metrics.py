"""A real `manage.py worker` process ticks replay bots; the scrape in this process sees its ticks (the
multiprocess folder is shared through PROMETHEUS_MULTIPROC_DIR, which the worker inherits)."""

import os
import signal
import time

import pytest

from bots.models import PnLSnapshot
from metrics import instruments
from metrics.tests.scrape import TOKEN, scrape, value
from tests.process_env import env_for_test_database
from tests.test_worker_life import kill_group, replay_bots, start_worker, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_the_workers_ticks_reach_the_scrape(client, settings, tmp_path):
    settings.METRICS_TOKEN = TOKEN
    bots, _ = replay_bots(3)
    before = value(scrape(client), "tradingbot_ticks_total", mode="replay")
    env = env_for_test_database(PROMETHEUS_MULTIPROC_DIR=str(instruments.FOLDER))
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        assert wait_until(lambda: PnLSnapshot.objects.count() >= 3 * len(bots), 90), \
            (tmp_path / "worker.log").read_text()[-3000:]
        # The ticks happened in the worker (this process ticked nothing): the scrape adds its files up.
        assert wait_until(lambda: value(scrape(client), "tradingbot_ticks_total", mode="replay") - before
                          >= 3 * len(bots), 30)
        text = scrape(client)
        assert value(text, "tradingbot_tick_duration_seconds_count", mode="replay") >= 3 * len(bots)
        assert value(text, "tradingbot_bots_running", mode="replay") == len(bots)
        assert value(text, "tradingbot_worker_clusters") >= 1
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except Exception:
            kill_group(worker)
    time.sleep(0.1)
    # The worker's counters outlive it (a counter never goes down); its live gauges are gone.
    assert value(scrape(client), "tradingbot_ticks_total", mode="replay") - before >= 3 * len(bots)
