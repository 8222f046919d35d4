"""A bot's history beyond its live page: the chart endpoint its script asks on zoom, every fill a page at a
time, and CSV exports of its fills, its trades (closed positions) and its equity curve."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET

from bots.charts import bot_chart
from bots.models import Bot, Fill, PnLSnapshot, Position
from bots.templatetags.bot_display import base_currency, quote_currency
from strategies import charts
from strategies.csv_download import csv_response

FILLS_PER_PAGE = 50


def _bot(request, pk) -> Bot:
    return get_object_or_404(Bot.objects.for_user(request.user).select_related("exchange_account"), pk=pk)


@login_required
@require_GET
@gzip_page  # market data and the owner's own equity: no secret, no CSRF token
def chart(request, pk):
    """JSON like the backtest chart's: bars, equity and fill markers of [from, to] in at most `bars` buckets."""
    bot = _bot(request, pk)
    try:
        params = charts.range_params(request.GET)
    except charts.ChartRequestError as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse(bot_chart(bot, **params))


@login_required
@require_GET
def fills(request, pk):
    bot = _bot(request, pk)
    page = Paginator(Fill.objects.filter(bot=bot).select_related("order").order_by("-time", "-id"),
                     FILLS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"bot": bot, "fills": page, "quote": quote_currency(bot.symbol), "base": base_currency(bot.symbol)}
    if request.htmx and request.htmx.target == "fills-section":
        return render(request, "bots/parts/fill_page.html", context)
    return render(request, "bots/bot_fills.html", context)


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value else ""


def _slug(bot: Bot) -> str:
    return f"bot-{bot.pk}-{bot.symbol.replace('/', '-').replace(':', '-')}-{bot.timeframe}"


@login_required
@require_GET
def fills_csv(request, pk):
    bot = _bot(request, pk)
    rows = (
        [_iso(f.time), f.side, f.amount, f.price, f.fee, f.order.client_order_id, f.order.type, f.order.reason]
        for f in Fill.objects.filter(bot=bot).select_related("order").order_by("time", "id").iterator(chunk_size=2000)
    )
    return csv_response(f"{_slug(bot)}-fills.csv",
                        ["time", "side", "amount", "price", "fee", "client_order_id", "type", "reason"], rows)


@login_required
@require_GET
def trades_csv(request, pk):
    """Closed positions (entry to exit), oldest first; an open one is left out until it closes."""
    bot = _bot(request, pk)
    rows = (
        [_iso(p.opened_at), p.average_entry, _iso(p.closed_at), p.exit_price, p.entry_quantity, p.cost, p.proceeds,
         p.realised_pnl, p.exit_reason]
        for p in Position.objects.filter(bot=bot, status=Position.Status.CLOSED).order_by("opened_at", "id")
        .iterator(chunk_size=2000)
    )
    return csv_response(f"{_slug(bot)}-trades.csv",
                        ["entry_time", "entry_price", "exit_time", "exit_price", "quantity", "cost", "proceeds",
                         "pnl", "exit_reason"], rows)


@login_required
@require_GET
def equity_csv(request, pk):
    bot = _bot(request, pk)
    rows = (
        [_iso(time), equity, realised, unrealised]
        for time, equity, realised, unrealised in PnLSnapshot.objects.filter(bot=bot).order_by("time", "id")
        .values_list("time", "equity", "realised", "unrealised").iterator(chunk_size=5000)
    )
    return csv_response(f"{_slug(bot)}-equity.csv", ["time", "equity", "realised", "unrealised"], rows)
