"""Pages: optimisation runs (new, list, live progress, results with heatmap and walk-forward), cancel, and
the two actions on a result row: backtest this set, save it as a strategy configuration."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from research.forms import OBJECTIVE_LABELS, OptimizationForm
from research.heatmap import heatmap_svg
from research.models import OptimizationRun
from research.tasks import enqueue_run, planned_total, publish_progress
from strategies.csv_download import csv_response
from strategies.models import Backtest, StrategyConfig
from strategies.registry import STRATEGIES
from strategies.tasks import enqueue_backtest
from tradingbot.lazy_import import lazy_module

sweep = lazy_module("strategies.sweep")  # numba: loaded by the pages that use it, not at start-up
backtester = lazy_module("strategies.backtest")

RUNS_LISTED = 100
ROWS_SHOWN = 100


@login_required
def run_list(request):
    runs = OptimizationRun.objects.for_user(request.user).defer("results", "heatmap", "report")[:RUNS_LISTED]
    return render(request, "research/run_list.html", {"runs": runs})


@login_required
@require_http_methods(["GET", "POST"])
def run_new(request):
    initial = {"config": request.GET["config"]} if request.GET.get("config") else {}
    form = OptimizationForm(request.POST or None, owner=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        config = data["config"]
        row = form.series[data["series"]]
        run = OptimizationRun(
            owner=request.user, config=config, strategy=config.strategy, params=data["base_params"],
            exchange=row["exchange"], symbol=row["symbol"], timeframe=row["timeframe"],
            start=data["start_time"], end=data["end_time"], settings=form.settings().as_dict(),
            grid=data["grid"].strip(), trials=data["trials"], seed=data["seed"], objective=data["objective"],
            min_trades=data["min_trades"], walk_forward=data["walk_forward"] or 0)
        run.total = planned_total(run, data["dimensions"])
        run.save()
        enqueue_run(run)
        return redirect("research:detail", pk=run.pk)
    return render(request, "research/run_form.html", {
        "form": form, "has_series": bool(form.series),
        "has_configs": StrategyConfig.objects.for_user(request.user).exists(),
        "strategy_params": [(cls.name, ", ".join(p.name for p in cls.params)) for cls in STRATEGIES.values()],
    })


def _ordered(run, params: dict) -> list[str]:
    """A set's parameter names in the strategy's order, then the exits (a jsonb column keeps no key order)."""
    known = [p.name for p in STRATEGIES[run.strategy].params] + list(sweep.EXIT_PARAMS)
    return [n for n in known if n in params] + sorted(n for n in params if n not in known)


def _columns(run) -> list[str]:
    """The parameters that vary in the grid first, then the rest of the set."""
    if not run.results:
        return []
    names = _ordered(run, run.results[0]["params"])
    try:
        varying = [d.name for d in sweep.parse_grid(run.grid, run.strategy, limit=None) if len(d) > 1]
    except sweep.GridError:
        varying = []
    return varying + [n for n in names if n not in varying]


@login_required
def run_detail(request, pk):
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    columns = _columns(run)
    rows = [{"rank": k + 1, "index": k, "values": [r["params"].get(c) for c in columns], "metrics": r["metrics"]}
            for k, r in enumerate(run.results[:ROWS_SHOWN])]
    windows = [{**w, "pairs": [(n, w["params"][n]) for n in _ordered(run, w["params"])]}
               for w in ((run.report or {}).get("windows") or [])]
    return render(request, "research/run_detail.html", {
        "run": run, "columns": columns, "rows": rows, "heatmap": heatmap_svg(run.heatmap), "windows": windows,
        "objective_label": OBJECTIVE_LABELS.get(run.objective, run.objective),
        "configs_exists": bool(run.config_id),
    })


@login_required
@require_POST
def run_cancel(request, pk):
    """Queued: cancelled at once. Running: the worker sees the flag within a second and stops. Running with no
    report for a minute (its worker was killed): cancelled at once too, or it would read "running" forever."""
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    OptimizationRun.objects.filter(pk=run.pk, status=OptimizationRun.Status.QUEUED).update(
        status=OptimizationRun.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now())
    if run.stale:
        OptimizationRun.objects.filter(pk=run.pk, status=OptimizationRun.Status.RUNNING).update(
            status=OptimizationRun.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now(),
            error=_("The worker stopped reporting (killed or restarted); start the run again."))
    OptimizationRun.objects.filter(pk=run.pk, status=OptimizationRun.Status.RUNNING).update(cancel_requested=True)
    run.refresh_from_db()
    publish_progress(run)
    messages.info(request, _("Cancelled.") if run.status == OptimizationRun.Status.CANCELLED
                  else _("Cancelling: the worker stops within a second or two."))
    return redirect("research:detail", pk=run.pk)


def _result(run, index: str) -> dict:
    try:
        return run.results[int(index)]
    except (ValueError, IndexError):
        raise Http404("no such result row") from None


def _split(run, entry) -> tuple[dict, dict]:
    params, exits = sweep.split_params(run.strategy, entry["params"])
    return {**run.params, **params}, exits


@login_required
@require_POST
def run_backtest(request, pk, index):
    """A backtest of the row's parameters and exits on the run's candles and costs (the result page shows its
    trades and chart)."""
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    params, exits = _split(run, _result(run, index))
    settings = backtester.BacktestSettings(**{**run.settings, **exits}).as_dict()
    config = run.config if run.config_id else None
    with transaction.atomic():
        backtest = Backtest.objects.create(
            owner=request.user, config=config, strategy=run.strategy, params=STRATEGIES[run.strategy](**params).values,
            exchange=run.exchange, symbol=run.symbol, timeframe=run.timeframe, start=run.start, end=run.end,
            settings=settings)
        enqueue_backtest(backtest)
    return redirect("strategies:backtest_detail", pk=backtest.pk)


@login_required
@require_POST
def run_save(request, pk, index):
    """A new strategy configuration with the row's strategy parameters (the exits belong to a bot's risk
    settings, so the message lists them to copy there)."""
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    params, exits = _split(run, _result(run, index))
    base = (run.config.name if run.config_id else run.strategy)[:80]
    taken = set(StrategyConfig.objects.for_user(request.user).values_list("name", flat=True))
    name = next(candidate for candidate in
                (f"{base} (optimised {run.pk})" if n == 1 else f"{base} (optimised {run.pk}, {n})"
                 for n in range(1, 1000)) if candidate not in taken)
    config = StrategyConfig(owner=request.user, name=name, strategy=run.strategy,
                            params=STRATEGIES[run.strategy](**params).values)
    config.full_clean()
    config.save()
    used = ", ".join(f"{k.replace('_', '-')} {v * 100:g} %" for k, v in exits.items() if v)
    messages.success(request, _("Saved “%(name)s”.") % {"name": name} + (
        " " + _("Its exits (%(exits)s) are a bot's risk settings: set them on the bot.") % {"exits": used}
        if used else ""))
    return redirect("strategies:edit", pk=config.pk)


CSV_METRICS = ("total_return", "trades", "sharpe", "sortino", "calmar", "profit_drawdown", "max_drawdown",
               "win_rate", "profit_factor", "exposure", "end_equity", "buy_and_hold_return", "candles")


@login_required
def run_results_csv(request, pk):
    """Every kept result row (best first): rank, the parameters, the metrics."""
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    columns = _columns(run)
    rows = ([k + 1, *[r["params"].get(c) for c in columns], *[r["metrics"].get(m) for m in CSV_METRICS]]
            for k, r in enumerate(run.results))
    name = f"optimization-{run.pk}-{run.strategy}-{run.symbol.replace('/', '-')}-{run.timeframe}.csv"
    return csv_response(name, ["rank", *columns, *CSV_METRICS], rows)


@login_required
def run_walk_forward_csv(request, pk):
    """One row per walk-forward window: its periods, the chosen parameters, in- and out-of-sample figures."""
    run = get_object_or_404(OptimizationRun.objects.for_user(request.user), pk=pk)
    windows = (run.report or {}).get("windows") or []
    if not windows:
        raise Http404("no walk-forward in this run")
    names = _ordered(run, windows[0]["params"])
    figures = ("total_return", "trades", "sharpe", "max_drawdown")
    header = ["window", "train_start", "train_end", "test_start", "test_end", *names,
              *[f"in_sample_{f}" for f in figures], *[f"out_of_sample_{f}" for f in figures], "flags"]
    rows = ([w["window"], *w["train"], *w["test"], *[w["params"].get(n) for n in names],
             *[w["in_sample"].get(f) for f in figures], *[w["out_of_sample"].get(f) for f in figures],
             " ".join(w["flags"])] for w in windows)
    return csv_response(f"optimization-{run.pk}-walk-forward.csv", header, rows)
