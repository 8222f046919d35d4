"""Pages: strategy configurations (list, create, edit, delete) and backtests (new, list, progress, result)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
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
    rules = [{"name": cls.name, "label": _(cls.label), "description": cls.description()} for cls in STRATEGIES.values()]
    return render(request, "strategies/config_list.html", {"configs": configs, "rules": rules})


@login_required
@require_http_methods(["GET", "POST"])
def config_create(request):
    return _config_form(request, StrategyConfig(owner=request.user))


@login_required
@require_http_methods(["GET", "POST"])
def config_edit(request, pk):
    return _config_form(request, get_object_or_404(StrategyConfig.objects.for_user(request.user), pk=pk))


# Bots in these states trade with their configuration (a paused one resumes with it). Through the reverse
# relation `config.bots`: this app never imports bots.
BOTS_IN_USE = ("running", "paused", "halted")


def _config_form(request, config):
    """A configuration used by a running (or paused, halted) bot is not changed under it: saving is refused
    while it is in use, and "Save as a new strategy" keeps the bots on the old one."""
    strategy = request.GET.get("strategy")
    in_use = list(config.bots.filter(status__in=BOTS_IN_USE)) if config.pk else []
    if request.method == "POST":
        as_copy = bool(config.pk) and "save_as_copy" in request.POST
        if as_copy:
            original = config.name
            config = StrategyConfig(owner=request.user, strategy=config.strategy, params=config.params)
            data = request.POST.copy()
            if data.get("name", "").strip() == original:
                data["name"] = _copy_name(request.user, original)
        form = StrategyConfigForm(data if as_copy else request.POST, instance=config, owner=request.user)
        if form.is_valid() and in_use and not as_copy:
            form.add_error(None, _("Used by %(bots)s: its settings cannot change while a bot trades with it. "
                                   "Stop the bot first, or save your changes as a new strategy.")
                           % {"bots": ", ".join(b.name for b in in_use)})
        if form.is_valid():
            form.save()
            messages.success(request, _("Saved “%(name)s”.") % {"name": form.instance.name})
            return redirect("strategies:list")
    else:
        initial = {"name": request.GET["name"]} if request.GET.get("name") else None
        form = StrategyConfigForm(instance=config, owner=request.user, strategy=strategy, initial=initial)
    stopped = list(config.bots.exclude(status__in=BOTS_IN_USE).filter(archived_at__isnull=True)) if config.pk else []
    return render(request, "strategies/config_form.html",
                  {"form": form, "config": config, "in_use": in_use, "stopped_bots": stopped})


def _copy_name(owner, name: str) -> str:
    taken = set(StrategyConfig.objects.for_user(owner).values_list("name", flat=True))
    for n in range(2, 1000):
        candidate = f"{name} ({n})"[:100]
        if candidate not in taken:
            return candidate
    return name


@login_required
@require_http_methods(["GET", "POST"])
def config_delete(request, pk):
    config = get_object_or_404(StrategyConfig.objects.for_user(request.user), pk=pk)
    users = list(config.bots.filter(archived_at__isnull=True))
    if request.method == "POST":
        name = config.name
        try:
            with transaction.atomic():
                # Archived bots keep their trades, not a claim on the configuration.
                config.bots.filter(archived_at__isnull=False).update(strategy=None)
                config.delete()
        except ProtectedError:
            # A bot that trades with this configuration keeps it alive: the page links to each one.
            messages.error(request, _("“%(name)s” is used by a bot (%(bots)s): give the bot another strategy "
                                      "(edit it), or archive or delete the bot first.")
                           % {"name": name, "bots": ", ".join(b.name for b in users)})
            return redirect("strategies:delete", pk=config.pk)
        messages.success(request, _("Deleted “%(name)s”. Its past backtests are kept.") % {"name": name})
        return redirect("strategies:list")
    return render(request, "strategies/config_confirm_delete.html", {"config": config, "used_by": users})


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
    messages.success(request, _("Backtest deleted."))
    return redirect("strategies:backtests")
