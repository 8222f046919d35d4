"""The backtest job run by the django-q2 worker: claim, load candles, backtest, store the results."""

import logging

from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from exchanges.candles import load_candles, timeframe_seconds
from metrics import instruments
from strategies.charts import build_level, downsample_ohlc, downsample_series
from strategies.models import Backtest, BacktestChart
from strategies.registry import build_strategy

log = logging.getLogger(__name__)


def enqueue_backtest(backtest: Backtest) -> None:
    """Queue the run once the row is committed (the worker must see it)."""
    transaction.on_commit(lambda: async_task("strategies.tasks.run_backtest_job", backtest.pk,
                                             task_name=f"backtest-{backtest.pk}"))


def _progress(backtest_id: int, value: int) -> None:
    Backtest.objects.filter(pk=backtest_id, status=Backtest.Status.RUNNING).update(progress=value)


def store_chart(backtest: Backtest, candles, equity) -> BacktestChart:
    """Save the run's chart level (strategies.charts.build_level): every candle and the equity at each close,
    in at most LEVEL_ROWS buckets."""
    bucket, level = build_level(candles, equity, timeframe_seconds(backtest.timeframe))
    chart, _ = BacktestChart.objects.update_or_create(backtest=backtest, defaults={
        "bucket": bucket, "first_candle": candles.index[0].to_pydatetime(),
        "last_candle": candles.index[-1].to_pydatetime(), "rows": level.to_bytes()})
    return chart


def run_backtest_job(backtest_id: int) -> str:
    """Steps: 1. claim the queued row (a conditional UPDATE: only one worker runs it); 2. load the stored
    candles; 3. signals and backtest; 4. store metrics, trades, downsampled equity and chart candles, and
    the chart level (in one transaction with the result).
    Any failure is stored on the row as a readable error; the job never raises into the worker.
    """
    claimed = Backtest.objects.filter(pk=backtest_id, status=Backtest.Status.QUEUED).update(
        status=Backtest.Status.RUNNING, progress=5)
    if not claimed:
        return "not queued (already run, or deleted)"
    backtest = Backtest.objects.get(pk=backtest_id)
    from strategies.backtest import BacktestSettings, backtest_strategy  # numba: not when Django starts

    try:
        strategy = build_strategy(backtest.strategy, backtest.params)
        settings = BacktestSettings(**backtest.settings)
        candles = load_candles(backtest.exchange, backtest.symbol, backtest.timeframe, backtest.start, backtest.end)
        if len(candles) < 2:
            raise ValueError(f"no stored candles for {backtest.exchange} {backtest.symbol} {backtest.timeframe} "
                             "in that range any more")
        _progress(backtest_id, 40)
        with instruments.backtest_run(backtest.strategy):
            result = backtest_strategy(strategy, candles, settings)
        _progress(backtest_id, 80)
        with transaction.atomic():
            store_chart(backtest, candles, result.equity)
            Backtest.objects.filter(pk=backtest_id).update(
                status=Backtest.Status.DONE, progress=100, metrics=result.metrics, trades=result.trades,
                equity=downsample_series(result.equity), chart_candles=downsample_ohlc(candles),
                candle_count=len(candles), finished_at=timezone.now(),
            )
        return f"{len(result.trades)} trades, total return {result.metrics['total_return']:+.4%}"
    except Exception as exc:
        log.exception("backtest %s failed", backtest_id)
        Backtest.objects.filter(pk=backtest_id).update(
            status=Backtest.Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:2000],
            finished_at=timezone.now(),
        )
        return f"failed: {exc}"
