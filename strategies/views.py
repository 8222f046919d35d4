"""Pages: strategy configurations (list, create, edit, delete) and backtests (new, list, progress, result)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRefresh

from strategies.forms import BacktestForm, StrategyConfigForm
from strategies.models import Backtest, StrategyConfig
from strategies.registry import STRATEGIES
from strategies.tasks import enqueue_backtest

TRADES_PER_PAGE = 50
RUNS_LISTED = 200


@login_required
def config_list(request):
    configs = StrategyConfig.objects.for_user(request.user)
    rules = [{"name": cls.name, "label": cls.label, "description": cls.description()} for cls in STRATEGIES.values()]
    return render(request, "strategies/config_list.html", {"configs": configs, "rules": rules})


@login_required
@require_http_methods(["GET", "POST"])
def config_create(request):
    return _config_form(request, StrategyConfig(owner=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def config_edit(request, pk):
    return _config_form(request, get_object_or_404(StrategyConfig.objects.for_user(request.user), pk=pk))


def _config_form(request, config):
    strategy = request.GET.get("strategy")
    if request.method == "POST":
        form = StrategyConfigForm(request.POST, instance=config, owner=request.user)
        if form.is_valid():
            form.save()
            messages.success(request, f"Saved “{form.instance.name}”.")
            return redirect("strategies:list")
    else:
        initial = {"name": request.GET["name"]} if request.GET.get("name") else None
        form = StrategyConfigForm(instance=config, owner=request.user, strategy=strategy, initial=initial)
    return render(request, "strategies/config_form.html", {"form": form, "config": config})


@login_required
@require_http_methods(["GET", "POST"])
def config_delete(request, pk):
    config = get_object_or_404(StrategyConfig.objects.for_user(request.user), pk=pk)
    if request.method == "POST":
        name = config.name
        try:
            config.delete()
        except ProtectedError:
            # A bot that trades with this configuration keeps it alive.
            messages.error(request, f"“{name}” is used by a bot; change or delete the bot first.")
            return redirect("strategies:list")
        messages.success(request, f"Deleted “{name}”. Its past backtests are kept.")
        return redirect("strategies:list")
    return render(request, "strategies/config_confirm_delete.html", {"config": config})


@login_required
def backtest_list(request):
    runs = Backtest.objects.for_user(request.user)
    backtests = runs.select_related("config").defer("trades", "equity", "chart_candles")[:RUNS_LISTED]
    preselected = request.GET.get("compare", "")
    return render(request, "strategies/backtest_list.html",
                  {"backtests": backtests, "hidden": max(runs.count() - RUNS_LISTED, 0),
                   "preselected": int(preselected) if preselected.isdigit() else None})


@login_required
@require_http_methods(["GET", "POST"])
def backtest_new(request):
    initial = {}
    if request.GET.get("config"):
        initial["config"] = request.GET["config"]
    form = BacktestForm(request.POST or None, owner=request.user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        config = data["config"]
        row = form.series[data["series"]]
        backtest = Backtest.objects.create(
            owner=request.user, config=config, strategy=config.strategy, params=config.build().values,
            exchange=row["exchange"], symbol=row["symbol"], timeframe=row["timeframe"],
            start=data["start_time"], end=data["end_time"], settings=form.settings().as_dict(),
        )
        enqueue_backtest(backtest)
        return redirect("strategies:backtest_detail", pk=backtest.pk)
    has_configs = StrategyConfig.objects.for_user(request.user).exists()
    return render(request, "strategies/backtest_form.html",
                  {"form": form, "has_series": bool(form.series), "has_configs": has_configs})


@login_required
def backtest_detail(request, pk):
    """The result: metrics, the interactive chart (its data comes from result_views.backtest_chart) and
    the trades, a page at a time (htmx swaps only the trade table when a page link is followed)."""
    backtest = get_object_or_404(Backtest.objects.for_user(request.user), pk=pk)
    context = {"backtest": backtest}
    if backtest.status == Backtest.Status.DONE:
        trades = Paginator(backtest.trades, TRADES_PER_PAGE).get_page(request.GET.get("page"))
        context.update(trades=trades, quote=backtest.symbol.split("/")[-1].split(":")[0])
        if request.htmx and request.htmx.target == "trades-section":
            return render(request, "strategies/_backtest_trades.html", context)
    return render(request, "strategies/backtest_detail.html", context)


@login_required
def backtest_status(request, pk):
    """The progress fragment htmx polls; once the run has finished, the page reloads to show the result."""
    backtest = get_object_or_404(Backtest.objects.for_user(request.user).only("status", "progress", "error"), pk=pk)
    if backtest.finished and request.htmx:
        return HttpResponseClientRefresh()
    return render(request, "strategies/_backtest_status.html", {"backtest": backtest})


@login_required
@require_http_methods(["POST"])
def backtest_delete(request, pk):
    backtest = get_object_or_404(Backtest.objects.for_user(request.user), pk=pk)
    backtest.delete()
    messages.success(request, "Backtest deleted.")
    return redirect("strategies:backtests")
