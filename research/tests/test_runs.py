"""Optimisation runs through the pages and the worker's job: a run is queued only from good input, the job
reports progress live (to the owner's notification group) up to 100 %, a cancel stops it within seconds,
the page after a reload shows the state, and a result row becomes a backtest or a strategy configuration."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from bots.live import notify_group
from bots.models import LiveMessage
from exchanges.candles import upsert_candles
from research.models import OptimizationRun
from research.tasks import run_optimization_job
from strategies.models import Backtest, StrategyConfig
from strategies.sweep import score
from strategies.tests.test_strategies import load_real

SERIES = "binance|BTC/USDT|5m"


@pytest.fixture
def alice(db):
    return get_user_model().objects.create_user("alice", password="a-long-password-1")


@pytest.fixture
def config(alice):
    return StrategyConfig.objects.create(owner=alice, name="rsi", strategy="rsi_cross", params={"rsi_period": 14})


@pytest.fixture
def candles(db):
    frame = load_real().iloc[:3000]
    upsert_candles("binance", "BTC/USDT", "5m", frame)
    return frame


@pytest.fixture
def web(client, alice):
    client.force_login(alice)
    return client


def form_data(config, **changes):
    data = {"config": config.pk, "series": SERIES, "cash": "10000", "fee": "0.1", "slippage": "0", "stake": "100",
            "stop_loss": "0", "take_profit": "0", "trailing_stop": "0", "grid": "rsi_period=5:15:5,oversold=20:40:10",
            "trials": "", "seed": "42", "objective": "total_return", "min_trades": "1", "walk_forward": "0"}
    return {**data, **changes}


@pytest.mark.parametrize("changes,message", [
    ({"grid": ""}, "This field is required"),
    ({"grid": "rsi_period=2:101:1,stop_loss=0:0.0999:0.0001,take_profit=0:0.099:0.001"},
     "the grid has 10,000,000 combinations; the limit is 100,000"),
    ({"grid": "rsi_period=five:10:1"}, "rsi_period: &#x27;five&#x27; is not a number"),
    ({"grid": "rsi_period=100"}, "3,000 candles in that range are too few: the grid&#x27;s longest warm-up"),
    ({"grid": "rsi_period=50", "walk_forward": "4"}, "1,284 candles in each window&#x27;s in-sample part are too few"),
])
def test_bad_input_queues_nothing(web, config, candles, changes, message):
    page = web.post(reverse("research:new"), form_data(config, **changes))
    assert page.status_code == 200
    assert message in page.content.decode()
    assert not OptimizationRun.objects.exists()


def test_a_grid_run_reports_progress_to_100_and_stores_the_results(web, alice, config, candles):
    page = web.post(reverse("research:new"), form_data(config, grid="rsi_period=5:15:5,oversold=20:40:10,"
                                                                   "stop_loss=0|0.01", walk_forward="2"))
    run = OptimizationRun.objects.get()
    assert page.url == reverse("research:detail", args=[run.pk])
    assert run.status == "queued" and run.total == 18 * 3 and run.params == {"overbought": 70.0}
    # Reloading the page of a queued run shows it queued, with a cancel button.
    queued = web.get(page.url).content.decode()
    assert 'data-status="queued"' in queued and "run-cancel" in queued

    assert run_optimization_job(run.pk).startswith("18 parameter sets")
    run.refresh_from_db()
    assert run.status == "done" and run.done == run.total and run.percent == 100
    assert len(run.results) == 18 and run.best == run.results[0]
    scores = [score(r["metrics"], "total_return", 1) for r in run.results]  # runs without trades last
    assert scores == sorted(scores, reverse=True)
    assert run.heatmap["x"] == "rsi_period" and run.heatmap["y"] == "oversold"
    assert len(run.heatmap["values"]) == 3 and len(run.heatmap["values"][0]) == 3
    assert len(run.report["windows"]) == 2
    # Progress went to the owner's pages over the live socket, ending at 100 %.
    pushed = list(LiveMessage.objects.filter(group=notify_group(alice.pk)).order_by("id"))
    assert len(pushed) >= 2 and all(f'id="run-progress-{run.pk}"' in m.html for m in pushed)
    assert 'data-percent="100"' in pushed[-1].html and 'data-status="done"' in pushed[-1].html

    page = web.get(reverse("research:detail", args=[run.pk])).content.decode()
    assert 'id="heatmap-svg"' in page and page.count("<rect ") == 9
    assert 'id="walk-forward"' in page and 'id="results"' in page and page.count('id="result-') == 18

    lines = b"".join(web.get(reverse("research:results_csv", args=[run.pk])).streaming_content).decode().splitlines()
    assert lines[0].startswith("rank,rsi_period,oversold,stop_loss,overbought,take_profit,trailing_stop,total_return")
    assert len(lines) == 19 and lines[1].split(",")[1] == str(run.best["params"]["rsi_period"])
    windows = b"".join(web.get(reverse("research:walk_forward_csv", args=[run.pk])).streaming_content).decode()
    assert windows.splitlines()[0].startswith("window,train_start,train_end,test_start,test_end,rsi_period")
    assert len(windows.splitlines()) == 3


def test_a_search_run_and_the_job_claims_a_run_once(web, config, candles):
    web.post(reverse("research:new"), form_data(config, grid="rsi_period=5:30:1,oversold=10:40:1", trials="12"))
    run = OptimizationRun.objects.get()
    assert run.total == 12
    run_optimization_job(run.pk)
    assert run_optimization_job(run.pk).startswith("not queued")
    run.refresh_from_db()
    assert run.status == "done" and 1 <= len(run.results) <= 12


def test_cancelling_a_queued_run_stops_it_before_it_starts(web, config, candles):
    web.post(reverse("research:new"), form_data(config))
    run = OptimizationRun.objects.get()
    web.post(reverse("research:cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "cancelled"
    assert run_optimization_job(run.pk).startswith("not queued")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_search_stops_it_within_seconds(client, alice, config, candles):
    client.force_login(alice)
    client.post(reverse("research:new"), form_data(config, grid="rsi_period=5:60:1,oversold=5:45:1,"
                                                                  "overbought=55:95:1", trials="3000"))
    run = OptimizationRun.objects.get()
    def work():
        try:
            run_optimization_job(run.pk)
        finally:
            connection.close()  # this thread's own connection, or PostgreSQL keeps the test database busy

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 60
    while not OptimizationRun.objects.filter(pk=run.pk, done__gt=0).exists():
        assert time.monotonic() < deadline, "no progress in 60 s"
        time.sleep(0.1)
    page = client.get(reverse("research:detail", args=[run.pk])).content.decode()
    assert 'data-status="running"' in page  # a reload mid-run shows the live state
    asked = time.monotonic()
    client.post(reverse("research:cancel", args=[run.pk]))
    worker.join(timeout=30)
    took = time.monotonic() - asked
    assert not worker.is_alive()
    run.refresh_from_db()
    assert run.status == "cancelled" and run.done < run.total
    print(f"stopped {took:.2f} s after the cancel, at {run.done} of {run.total} trials")
    assert took < 10


def test_backtest_this_set_and_save_it_as_a_config(web, alice, config, candles):
    web.post(reverse("research:new"), form_data(config, grid="rsi_period=5:15:5,stop_loss=0|0.01"))
    run = OptimizationRun.objects.get()
    run_optimization_job(run.pk)
    run.refresh_from_db()
    best = run.results[0]["params"]

    answer = web.post(reverse("research:backtest", args=[run.pk, 0]))
    backtest = Backtest.objects.get()
    assert answer.url == reverse("strategies:backtest_detail", args=[backtest.pk])
    assert backtest.params == {"rsi_period": best["rsi_period"], "oversold": 30.0, "overbought": 70.0}
    assert backtest.settings["stop_loss"] == best["stop_loss"] and backtest.settings["fee"] == 0.001
    assert (backtest.exchange, backtest.symbol, backtest.timeframe) == ("binance", "BTC/USDT", "5m")

    web.post(reverse("research:save", args=[run.pk, 0]))
    saved = StrategyConfig.objects.exclude(pk=config.pk).get()
    assert saved.name == f"rsi (optimised {run.pk})" and saved.params["rsi_period"] == best["rsi_period"]
    web.post(reverse("research:save", args=[run.pk, 0]))
    assert StrategyConfig.objects.filter(name=f"rsi (optimised {run.pk}, 2)").exists()
    assert web.post(reverse("research:save", args=[run.pk, 999])).status_code == 404


def test_another_user_sees_nothing(client, config, candles, alice):
    client.force_login(alice)
    client.post(reverse("research:new"), form_data(config))
    run = OptimizationRun.objects.get()
    mallory = get_user_model().objects.create_user("mallory", password="a-long-password-2")
    client.force_login(mallory)
    for name in ("research:detail", "research:results_csv", "research:walk_forward_csv"):
        assert client.get(reverse(name, args=[run.pk])).status_code == 404
    assert client.post(reverse("research:cancel", args=[run.pk])).status_code == 404
    assert client.post(reverse("research:save", args=[run.pk, 0])).status_code == 404
    assert "rsi_cross" not in client.get(reverse("research:list")).content.decode()


def test_a_run_whose_worker_died_can_be_cancelled_and_says_so(web, config, candles):
    from datetime import timedelta

    from django.utils import timezone

    web.post(reverse("research:new"), form_data(config))
    run = OptimizationRun.objects.get()
    # As a killed worker leaves it: claimed, reported a minute and a half ago, never finished.
    beat = timezone.now() - timedelta(seconds=90)
    OptimizationRun.objects.filter(pk=run.pk).update(status="running", started_at=beat, heartbeat_at=beat, done=3)
    page = web.get(reverse("research:detail", args=[run.pk])).content.decode()
    assert 'id="run-stale"' in page
    web.post(reverse("research:cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == "cancelled" and "stopped reporting" in run.error
    # A live run (recent report) is only asked to stop.
    web.post(reverse("research:new"), form_data(config))
    live = OptimizationRun.objects.latest("id")
    OptimizationRun.objects.filter(pk=live.pk).update(status="running", started_at=timezone.now(),
                                                      heartbeat_at=timezone.now())
    web.post(reverse("research:cancel", args=[live.pk]))
    live.refresh_from_db()
    assert live.status == "running" and live.cancel_requested
