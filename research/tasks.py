"""The optimisation job run by the django-q2 worker: claim the run, load its candles, sweep or search (and
walk forward), report progress live to the owner's pages, stop when cancelled, store the results."""

from __future__ import annotations  # sweep's types in annotations: the numba modules load when a run does

import logging
import time

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_q.tasks import async_task

from bots import live
from exchanges.candles import load_candles
from research.models import RESULTS_KEPT, OptimizationRun
from tradingbot.lazy_import import lazy_module

optimize = lazy_module("strategies.optimize")
sweep = lazy_module("strategies.sweep")
backtest = lazy_module("strategies.backtest")

log = logging.getLogger(__name__)
# Progress is written and pushed at most this often (and once at the end); the cancel flag is read as often.
REPORT_SECONDS = 0.5
# The cluster's timeout (120 s) suits backtests; a search of thousands of trials on years of candles needs more.
# A run past the broker's retry time is re-delivered, and the claim below makes the second delivery a no-op.
JOB_TIMEOUT = 6 * 3600


def enqueue_run(run: OptimizationRun) -> None:
    transaction.on_commit(lambda: async_task("research.tasks.run_optimization_job", run.pk,
                                             task_name=f"optimization-{run.pk}", timeout=JOB_TIMEOUT))


def publish_progress(run: OptimizationRun) -> None:
    """The run's progress fragment to every open page of its owner (the notification socket each page has)."""
    html = render_to_string("research/_progress.html", {"run": run, "oob": True})
    live.publish(live.notify_group(run.owner_id), html)


def dimensions_of(run: OptimizationRun) -> list[sweep.Dimension]:
    return sweep.parse_grid(run.grid, run.strategy, limit=None if run.trials else sweep.MAX_COMBINATIONS)


def planned_total(run: OptimizationRun, dimensions) -> int:
    per_window = run.trials or sweep.count_combinations(dimensions)
    return per_window * (run.walk_forward + 1)  # the windows, then the whole range


def heatmap(results: list[dict], dimensions, objective: str, min_trades: int) -> dict | None:
    """The best objective value per pair of values of the first two parameters that vary (the others at
    their best), for the results page's heatmap; None with fewer than two varying parameters."""
    varying = [d for d in dimensions if len(d) > 1]
    if len(varying) < 2:
        return None
    x, y = varying[0].name, varying[1].name
    xs = sorted({r["params"][x] for r in results})
    ys = sorted({r["params"][y] for r in results})
    cells: dict[tuple, float] = {}
    for r in results:
        value = sweep.score(r["metrics"], objective, min_trades)
        key = (r["params"][x], r["params"][y])
        if value != float("-inf") and (key not in cells or value > cells[key]):
            cells[key] = value
    return {"x": x, "y": y, "xs": xs, "ys": ys, "objective": objective,
            "values": [[cells.get((vx, vy)) for vx in xs] for vy in ys]}


def run_optimization_job(run_id: int) -> str:
    """Steps: 1. claim the queued run (a conditional UPDATE); 2. parse the grid and load the candles;
    3. grid, search or walk-forward, reporting progress and reading the cancel flag every REPORT_SECONDS;
    4. store the best results, the heatmap and the walk-forward report (or the error, or "cancelled").
    A failure is stored on the row as a readable error; the job never raises into the worker."""
    claimed = OptimizationRun.objects.filter(pk=run_id, status=OptimizationRun.Status.QUEUED,
                                             cancel_requested=False).update(
        status=OptimizationRun.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    if not claimed:
        return "not queued (already run, cancelled, or deleted)"
    run = OptimizationRun.objects.get(pk=run_id)
    try:
        dimensions = dimensions_of(run)
        settings = backtest.BacktestSettings(**run.settings)
        candles = load_candles(run.exchange, run.symbol, run.timeframe, run.start, run.end)
        total = planned_total(run, dimensions)
        OptimizationRun.objects.filter(pk=run_id).update(total=total, candle_count=len(candles))
        run.total, run.candle_count = total, len(candles)
        publish_progress(run)
        last = [0.0, 0.0]  # last report, last cancel check

        def progress(done, _total, best):
            now = time.monotonic()
            if now - last[0] < REPORT_SECONDS and done < total:
                return
            last[0] = now
            run.done, run.best = done, best
            OptimizationRun.objects.filter(pk=run_id).update(done=done, best=best, heartbeat_at=timezone.now())
            publish_progress(run)

        def should_stop():
            now = time.monotonic()
            if now - last[1] < REPORT_SECONDS:
                return False
            last[1] = now
            # The heartbeat also when a slow stretch reports no progress (a long indicator, a big chunk).
            OptimizationRun.objects.filter(pk=run_id).update(heartbeat_at=timezone.now())
            return OptimizationRun.objects.filter(pk=run_id, cancel_requested=True).exists()

        common = dict(objective=run.objective, min_trades=run.min_trades, base_params=run.params,
                      should_stop=should_stop)
        per_window = run.trials or sweep.count_combinations(dimensions)
        report = None
        cancelled = False
        started = time.perf_counter()
        if run.walk_forward:
            report = optimize.walk_forward(run.strategy, candles, dimensions, settings, run.walk_forward,
                                           trials=run.trials, seed=run.seed, progress=progress, **common)
            cancelled = report["cancelled"]
        if not cancelled:
            # The whole range too (after the windows, when walking forward): the table and the heatmap.
            offset = per_window * run.walk_forward

            def overall(done, _total, best):
                progress(offset + done, total, best)

            if run.trials:
                result = optimize.search(run.strategy, candles, dimensions, settings, run.trials, seed=run.seed,
                                         progress=overall, **common)
            else:
                result = sweep.run_grid(run.strategy, candles, dimensions, settings, progress=overall, **common)
            cancelled = result.cancelled
        if cancelled:
            OptimizationRun.objects.filter(pk=run_id).update(status=OptimizationRun.Status.CANCELLED,
                                                             finished_at=timezone.now())
            run.refresh_from_db()
            publish_progress(run)
            return "cancelled"
        with transaction.atomic():
            OptimizationRun.objects.filter(pk=run_id).update(
                status=OptimizationRun.Status.DONE, done=total, best=result.best, results=result.results[:RESULTS_KEPT],
                heatmap=heatmap(result.results, dimensions, run.objective, run.min_trades), report=report,
                evaluated=result.evaluated, skipped=result.skipped, seconds=time.perf_counter() - started,
                finished_at=timezone.now())
        run.refresh_from_db()
        publish_progress(run)
        return f"{result.evaluated} parameter sets, best {result.best['params'] if result.best else None}"
    except Exception as exc:
        log.exception("optimisation %s failed", run_id)
        OptimizationRun.objects.filter(pk=run_id).update(
            status=OptimizationRun.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now())
        run.refresh_from_db()
        publish_progress(run)
        return f"failed: {exc}"
