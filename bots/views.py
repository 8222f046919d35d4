"""The trader's pages: dashboard, bot list, create bot, bot page with its controls. Live parts are the same
templates bots.live renders for each websocket update."""

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bots import live
from bots.forms import BotForm, MarketsUnavailable, market_symbols
from bots.models import Bot, PnLSnapshot
from exchanges.models import ExchangeAccount


@login_required
def dashboard(request):
    started = time.perf_counter()
    bots = list(Bot.objects.for_user(request.user).listed().select_related("exchange_account"))
    latest = dict(
        PnLSnapshot.objects.filter(pk__in=live.latest_snapshot_ids([b.pk for b in bots])).values_list("bot_id", "pk")
    )
    snapshots = PnLSnapshot.objects.in_bulk(list(latest.values()))
    open_positions = {
        p.bot_id: p for p in live.open_positions_for([b.pk for b in bots])
    }
    rows = []
    for bot in bots:
        snapshot = snapshots.get(latest.get(bot.pk))
        rows.append({
            "bot": bot, "quote": live.quote_currency(bot.symbol), "base": live.base_currency(bot.symbol),
            "position": open_positions.get(bot.pk), **live.bot_money(bot, snapshot, known=True),
        })
    live.watch([live.user_group(request.user.pk)])  # the worker renders this dashboard's updates from now on
    context = {
        "rows": rows,
        **live.dashboard_totals(request.user, {s.bot_id: s.equity for s in snapshots.values()}),
        "health": system_health(request.user),
        "live_after": live.last_message_id(live.user_group(request.user.pk), live.notify_group(request.user.pk)),
        "has_accounts": ExchangeAccount.objects.for_user(request.user).exists(),
    }
    response = render(request, "bots/dashboard.html", context)
    response["Server-Timing"] = f"render;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def system_health(user) -> dict:
    """The worker's heartbeat and the state of the user's exchange accounts, for the dashboard."""
    from tradingbot.health import check_worker

    worker_problem = check_worker()
    accounts = list(ExchangeAccount.objects.for_user(user).only("id", "label", "exchange_id", "mode", "status",
                                                                "status_detail"))
    return {"worker_ok": worker_problem is None, "worker_problem": worker_problem, "accounts": accounts}


@login_required
def bot_list(request):
    mine = Bot.objects.for_user(request.user).select_related("exchange_account", "strategy")
    return render(request, "bots/bot_list.html", {
        "bots": mine.listed(), "archived": mine.filter(kind=Bot.Kind.STRATEGY, archived_at__isnull=False)})


@login_required
def bot_create(request):
    form = BotForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        bot = form.save(commit=False)
        bot.owner = request.user
        bot.save()
        messages.success(request, _("Bot %(bot)s created. Start it when you are ready.") % {"bot": bot.name})
        return redirect("bots:detail", bot.pk)
    return render(request, "bots/bot_form.html", {
        "form": form,
        "has_accounts": ExchangeAccount.objects.for_user(request.user).exists(),
        "has_strategies": form.fields["strategy"].queryset.exists(),
    })


@login_required
@require_GET
def symbol_options(request):
    """The <datalist> of the chosen account's markets, swapped into the create form when the account changes."""
    account = None
    account_id = request.GET.get("exchange_account")
    if account_id:
        try:
            account = ExchangeAccount.objects.for_user(request.user).filter(pk=account_id).first()
        except Exception:  # not a UUID
            account = None
    mode = request.GET.get("mode") or Bot.Mode.PAPER
    symbols, error = [], ""
    if account is None:
        error = _("Choose an exchange account to see its markets.")
    else:
        try:
            symbols = market_symbols(account, mode)
        except MarketsUnavailable as exc:
            error = _("Could not load the markets of %(exchange)s: %(error)s. You can still type a symbol.") % {
                "exchange": account.exchange_id, "error": exc}
    return render(request, "bots/parts/symbol_options.html", {"symbols": symbols, "error": error})


def owned_bot(request, pk) -> Bot:
    return get_object_or_404(Bot.objects.for_user(request.user).select_related("exchange_account", "strategy"),
                             pk=pk)


@login_required
def bot_detail(request, pk):
    bot = owned_bot(request, pk)
    live.watch([live.bot_group(bot.pk)])  # the worker renders this bot's updates from now on
    context = {**live.bot_page_context(bot),
               "live_after": live.last_message_id(live.bot_group(bot.pk), live.notify_group(request.user.pk))}
    return render(request, "bots/bot_detail.html", context)


@login_required
@require_POST
def bot_action(request, pk, action):
    """Start, stop, pause or resume, through the command service (door "web"). htmx gets the changed fragments
    back; a plain form post a redirect."""
    from bots.control import ACTIONS
    from commands.definitions import ControlBot
    from commands.service import submit

    bot = owned_bot(request, pk)
    if action not in ACTIONS:
        raise Http404("No such action")
    outcome = submit(request.user, ControlBot(bot_id=bot.pk, action=action), door="web",
                     source_text=f"{action} button on the bot page")
    error = "" if outcome.done else outcome.message
    bot.refresh_from_db()
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, _("%(bot)s: %(status)s.") % {
                "bot": bot.name, "status": bot.get_status_display().lower()})
        return redirect("bots:detail", bot.pk)
    html = render_to_string("bots/live/bot_fragments.html", {**live.bot_page_context(bot), "oob": True})
    flash = render_to_string("bots/parts/flash.html", {"bot": bot, "error": error, "oob": True})
    return HttpResponse(flash + html)
