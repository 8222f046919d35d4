"""A finished backtest's data beyond its page: the chart endpoint the page's script asks on zoom, CSV
exports of the trades and of the equity curve, and the comparison of several runs."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from strategies.csv_download import csv_response
from strategies.models import Backtest
from tradingbot.lazy_import import lazy_module

charts = lazy_module("strategies.charts")  # numpy and pandas: imported by the first chart, not at start-up

COMPARE_MAX = 8
SERIES_COLOURS = ["#3fb6ff", "#f0b429", "#c678dd", "#26a269", "#e5534b", "#56d4dd", "#ff8c42", "#a0a0a0"]


class BadRequest(ValueError):
    """A bad choice of runs to compare; the message says why."""


def _finished(request, pk) -> Backtest:
    backtest = get_object_or_404(Backtest.objects.for_user(request.user), pk=pk)
    if backtest.status != Backtest.Status.DONE:
        raise Http404("This backtest has no result (yet).")
    return backtest


@login_required
@require_GET
@gzip_page  # market data only (no secret, no CSRF token): a full view's ~0.5 MB of JSON becomes ~0.1 MB
def backtest_chart(request, pk):
    """JSON: bars, equity and trade markers of [from, to] (epoch seconds) in at most `bars` buckets.
    `align`: the page's overview bucket in seconds, so the answer replaces whole overview bars."""
    backtest = _finished(request, pk)
    try:
        params = charts.range_params(request.GET)
    except charts.ChartRequestError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(charts.backtest_chart(backtest, **params))


def _slug(backtest: Backtest) -> str:
    return f"backtest-{backtest.pk}-{backtest.symbol.replace('/', '-').replace(':', '-')}-{backtest.timeframe}"


@login_required
@require_GET
def backtest_trades_csv(request, pk):
    backtest = _finished(request, pk)
    fields = ["entry_time", "entry_price", "exit_time", "exit_price", "size", "fee", "pnl", "exit_reason"]
    rows = ([trade.get(f, "") for f in fields] for trade in backtest.trades)
    return csv_response(f"{_slug(backtest)}-trades.csv", fields, rows)


@login_required
@require_GET
def backtest_equity_csv(request, pk):
    """The equity at every candle's close (rebuilt from the run's candles and trades), or, when those
    candles are no longer stored, the saved overview: the file name then says so."""
    backtest = _finished(request, pk)
    rows, every_candle = charts.backtest_equity_rows(backtest)
    name = f"{_slug(backtest)}-equity{'' if every_candle else '-downsampled'}.csv"
    return csv_response(name, ["time", "equity"], rows)


def _ids(request) -> list[int]:
    values = []
    for raw in request.GET.getlist("ids"):
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise BadRequest(_("“%(value)s” is not a backtest number.") % {"value": part[:40]})
            if int(part) not in values:
                values.append(int(part))
    return values


@login_required
@require_GET
def backtest_compare(request):
    """Two or more finished runs side by side: a metrics table and their equity curves on one chart, as
    returns from each run's starting cash (runs with different cash compare fairly)."""
    error = ""
    runs = []
    try:
        ids = _ids(request)
        if len(ids) < 2:
            raise BadRequest(_("Choose two or more finished backtests to compare."))
        if len(ids) > COMPARE_MAX:
            raise BadRequest(_("Compare at most %(max)s backtests at a time, not %(count)s.") % {
                "max": COMPARE_MAX, "count": len(ids)})
    except BadRequest as exc:
        error = str(exc)
    else:
        found = {b.pk: b for b in Backtest.objects.for_user(request.user).filter(pk__in=ids)
                 .select_related("config")}
        if len(found) != len(ids):
            raise Http404("No such backtest.")
        runs = [found[i] for i in ids]
        unfinished = [b.pk for b in runs if b.status != Backtest.Status.DONE]
        if unfinished:
            error = _("Backtest %(ids)s has not finished: only finished runs can be compared.") % {
                "ids": ", ".join(f"#{i}" for i in unfinished)}
            runs = []
    series = []
    for index, run in enumerate(runs):
        cash = run.settings.get("cash", 10_000.0) or 1.0
        points = charts.equity_overview(run)
        series.append({"id": run.pk, "label": f"#{run.pk} {run.config_name}", "colour":
                       SERIES_COLOURS[index % len(SERIES_COLOURS)],
                       "points": [[t, round((v / cash - 1.0) * 100, 6)] for t, v in points]})
    status = 400 if error else 200
    return render(request, "strategies/backtest_compare.html", {
        "runs": runs, "error": error, "series": series,
        "pairs": list(zip(runs, series, strict=True)),
    }, status=status)
