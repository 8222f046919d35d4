"""The web door of the command service: the order ticket, close / cancel buttons, confirmations, the Alerts,
Portfolio and Activity pages, bot edit / clone / archive / delete, manual-trading limits. Every action is a
`submit` (door "web"); these views only read what was typed, find the user's own objects (404 otherwise)
and render the outcome. htmx posts get the outcome fragment; plain posts a message and a redirect."""

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from bots.forms import BotForm
from bots.models import Bot, Order, Position
from commands import portfolio
from commands.definitions import (
    ArchiveBot,
    CancelAlert,
    CancelOrders,
    CloneBot,
    ClosePosition,
    CreateAlert,
    DeleteBot,
    EditBot,
    ForceExit,
    PlaceOrder,
    SetManualLimits,
)
from commands.forms import AlertForm, ManualLimitsForm, OrderTicketForm
from commands.models import Activity, ManualLimits, PriceAlert, TradingPreferences
from commands.service import Outcome, cancel_pending, confirm, submit
from exchanges.models import ExchangeAccount
from tradingbot.json_errors import json_endpoint

ACTIVITY_ROWS = 200


def _respond(request, outcome: Outcome, *, fallback: str, ticket_scope: str = ""):
    """The outcome as an htmx fragment, or as a message on the page a plain form came from. A ticket gets a
    new request id with it (out of band): its next submission is a new order, a repeat of this one is not."""
    if outcome.code == "not_found":
        raise Http404(outcome.message)
    if request.htmx:
        response = render(request, "commands/parts/outcome.html", {
            "outcome": outcome, "ticket_scope": ticket_scope,
            "new_request_id": secrets.token_urlsafe(12) if ticket_scope else ""})
        if outcome.status in (Outcome.DONE, Outcome.UNKNOWN):
            response["HX-Trigger"] = "commandDone"  # lists of positions and orders on the page reload
        return response
    if outcome.needs_confirmation:
        messages.warning(request, _("%(sentence)s Confirm it on the Activity page.") % {"sentence": outcome.sentence})
        return redirect("commands:activity")
    (messages.success if outcome.status == Outcome.DONE else messages.error)(request, outcome.message)
    back = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = fallback
    return redirect(back or fallback)


# --- the order ticket ---

def ticket_context(account, symbol: str = "BTC/USDT", scope: str = "account") -> dict:
    form = OrderTicketForm(initial={"account": account.pk, "symbol": symbol,
                                    "request_id": secrets.token_urlsafe(12)})
    return {"ticket": form, "ticket_account": account, "ticket_scope": scope,
            "ticket_live": account.mode != ExchangeAccount.Mode.PAPER, "ticket_symbol": symbol}


@login_required
@require_GET
def account_trading(request, account_id):
    """The account page's trading section (loaded by htmx): the ticket, the manual positions, open orders."""
    account = get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=account_id)
    positions = (Position.objects.for_user(request.user)
                 .filter(bot__exchange_account=account, status=Position.Status.OPEN).select_related("bot"))
    orders = (Order.objects.for_user(request.user)
              .filter(bot__exchange_account=account, status__in=[Order.Status.OPEN, *Order.UNSETTLED])
              .exclude(type="bracket").select_related("bot"))
    context = {"account": account, "positions": positions, "orders": orders}
    if request.GET.get("part") == "books":
        return render(request, "commands/parts/account_books_wrapper.html", context)
    return render(request, "commands/parts/account_trading.html", {
        **ticket_context(account, request.GET.get("symbol") or "BTC/USDT"), **context,
        "limits": ManualLimits.of(account)})


@login_required
@require_POST
def ticket_submit(request):
    form = OrderTicketForm(request.POST)
    scope = request.POST.get("scope", "")
    scope = scope if scope.replace("-", "").isalnum() and len(scope) < 40 else ""
    if not form.is_valid():
        first = next(iter(form.errors.items()))
        outcome = Outcome(Outcome.REFUSED, f"{form.fields[first[0]].label}: {first[1][0]}", code="invalid")
        return _respond(request, outcome, fallback=reverse("commands:portfolio"), ticket_scope=scope)
    data = form.cleaned_data
    get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=data["account"])
    command = PlaceOrder(account_id=str(data["account"]), symbol=data["symbol"], side=data["side"],
                         amount=data["amount"], unit=data["unit"], order_type=data["order_type"],
                         price=data["price"] if data["order_type"] == "limit" else None)
    text = (f"ticket: {data['side']} {data['amount']} {data['unit']} {data['symbol']} {data['order_type']}"
            f"{' @ ' + str(data['price']) if data['price'] and data['order_type'] == 'limit' else ''}")
    outcome = submit(request.user, command, door="web", source_text=text,
                     idempotency_key=f"ticket:{data['request_id']}" if data["request_id"] else "")
    return _respond(request, outcome, fallback=reverse("exchanges:detail", args=[data["account"]]),
                    ticket_scope=scope)


# --- confirmations ---

@login_required
@require_POST
def confirm_pending(request, pending_id):
    _own_pending(request, pending_id)
    outcome = confirm(request.user, pending_id, door="web")
    return _respond(request, outcome, fallback=reverse("commands:activity"))


@login_required
@require_POST
def cancel_pending_view(request, pending_id):
    _own_pending(request, pending_id)
    outcome = cancel_pending(request.user, pending_id, door="web")
    return _respond(request, outcome, fallback=reverse("commands:activity"))


def _own_pending(request, pending_id) -> Activity:
    return get_object_or_404(Activity.objects.for_user(request.user), pending_id=pending_id)


# --- close, exit, cancel ---

@login_required
@require_POST
def close_position(request, pk):
    bot = get_object_or_404(Bot.objects.for_user(request.user), pk=pk)
    stop = request.POST.get("stop") == "1"
    outcome = submit(request.user, ClosePosition(bot_id=bot.pk, stop_bot=stop), door="web",
                     source_text="close position button" + (" (and stop)" if stop else ""))
    return _respond(request, outcome, fallback=reverse("bots:detail", args=[bot.pk]))


@login_required
@require_POST
def force_exit(request, pk):
    position = get_object_or_404(Position.objects.for_user(request.user), pk=pk)
    outcome = submit(request.user, ForceExit(position_id=position.pk), door="web", source_text="exit button")
    return _respond(request, outcome, fallback=reverse("commands:portfolio"))


@login_required
@require_POST
def cancel_order(request, pk):
    order = get_object_or_404(Order.objects.for_user(request.user), pk=pk)
    outcome = submit(request.user, CancelOrders(order_id=order.pk), door="web", source_text="cancel order button")
    return _respond(request, outcome, fallback=reverse("commands:portfolio"))


@login_required
@require_POST
def cancel_bot_orders(request, pk):
    bot = get_object_or_404(Bot.objects.for_user(request.user), pk=pk)
    outcome = submit(request.user, CancelOrders(bot_id=bot.pk), door="web", source_text="cancel all orders button")
    return _respond(request, outcome, fallback=reverse("bots:detail", args=[bot.pk]))


@login_required
@require_POST
def cancel_account_orders(request, account_id):
    account = get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=account_id)
    outcome = submit(request.user, CancelOrders(account_id=str(account.pk), symbol=request.POST.get("symbol") or None),
                     door="web", source_text="cancel all orders of the account button")
    return _respond(request, outcome, fallback=reverse("exchanges:detail", args=[account.pk]))


# --- alerts ---

def _alert_sources(user):
    return (ExchangeAccount.objects.for_user(user),
            Bot.objects.for_user(user).listed().filter(mode=Bot.Mode.REPLAY))


@login_required
@require_http_methods(["GET", "POST"])
def alerts(request):
    accounts, replay_bots = _alert_sources(request.user)
    form = AlertForm(request.POST or None, accounts=accounts, replay_bots=replay_bots,
                     initial={"source": request.GET.get("source", "")})
    outcome = None
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            outcome = submit(request.user, CreateAlert(symbol=data["symbol"], direction=data["direction"],
                                                       price=data["price"], repeat=data["repeat"], note=data["note"],
                                                       **form.source_fields()),
                             door="web",
                             source_text=f"alert form: {data['symbol']} {data['direction']} {data['price']}")
            if outcome.done and not request.htmx:
                messages.success(request, outcome.message)
                return redirect("commands:alerts")
        else:
            first = next(iter(form.errors.items()))
            label = form.fields[first[0]].label if first[0] in form.fields else ""
            outcome = Outcome(Outcome.REFUSED, f"{label}: {first[1][0]}" if label else first[1][0], code="invalid")
    return render(request, "commands/alerts.html", {
        "form": form, "outcome": outcome, "has_sources": bool(accounts) or replay_bots.exists(),
        "alerts": PriceAlert.objects.for_user(request.user).select_related("exchange_account", "bot")[:200]})


@login_required
@require_POST
def cancel_alert(request, pk):
    alert = get_object_or_404(PriceAlert.objects.for_user(request.user), pk=pk)
    outcome = submit(request.user, CancelAlert(alert_id=alert.pk), door="web", source_text="cancel alert button")
    return _respond(request, outcome, fallback=reverse("commands:alerts"))


# --- portfolio ---

@login_required
@require_GET
def portfolio_page(request):
    """Orders and bots render at once; balances and positions (which ask the exchanges for prices) load with
    htmx, so a slow exchange never holds the page."""
    data = portfolio.gather_local(request.user)
    return render(request, "commands/portfolio.html", data)


@login_required
@require_GET
def portfolio_balances(request):
    return render(request, "commands/parts/portfolio_prices.html", portfolio.gather(request.user))


@json_endpoint(methods=("GET",))
def portfolio_json(request):
    return JsonResponse(portfolio.as_json(portfolio.gather(request.user)))


# --- activity ---

@login_required
@require_GET
def activity(request):
    rows = Activity.objects.for_user(request.user)
    kind = request.GET.get("command")
    if kind:
        rows = rows.filter(command=kind)
    return render(request, "commands/activity.html", {
        "rows": rows.select_related("actor")[:ACTIVITY_ROWS],
        "waiting": [a for a in Activity.objects.for_user(request.user).filter(status=Activity.Status.PENDING)
                    if a.waiting],
        "preferences": TradingPreferences.of(request.user)})


@login_required
@require_GET
def activity_detail(request, pk):
    entry = get_object_or_404(Activity.objects.for_user(request.user), pk=pk)
    return render(request, "commands/activity_detail.html", {"entry": entry})


@login_required
@require_POST
def preferences(request):
    prefs = TradingPreferences.of(request.user)
    prefs.confirm_simulated = request.POST.get("confirm_simulated") == "1"
    prefs.save()
    messages.success(request, _("Paper and replay orders now run at once.") if not prefs.confirm_simulated
                     else _("Paper and replay orders now wait for your confirmation too."))
    return redirect("commands:activity")


# --- bot edit, clone, archive, delete ---

def _strategy_bot(request, pk) -> Bot:
    return get_object_or_404(Bot.objects.for_user(request.user).filter(kind=Bot.Kind.STRATEGY)
                             .select_related("exchange_account", "strategy"), pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def bot_edit(request, pk):
    from commands.bot_changes import ACTIVE, WHILE_RUNNING

    bot = _strategy_bot(request, pk)
    running = bot.status in ACTIVE
    form = BotForm(request.POST or None, instance=bot, user=request.user)
    if running:
        for name, field in form.fields.items():
            if name not in WHILE_RUNNING:
                field.disabled = True
    if request.method == "POST" and form.is_valid():
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        changes = {name: value.pk if hasattr(value, "pk") else value for name, value in changes.items()}
        if not changes:
            messages.info(request, _("Nothing changed."))
            return redirect("bots:detail", bot.pk)
        outcome = submit(request.user, EditBot(bot_id=bot.pk, changes=changes), door="web",
                         source_text=f"bot edit form: {', '.join(sorted(changes))}")
        if outcome.done:
            messages.success(request, outcome.message)
            return redirect("bots:detail", bot.pk)
        form.add_error(None, outcome.message)
    bot.refresh_from_db()
    return render(request, "commands/bot_edit.html", {"form": form, "bot": bot, "running": running})


@login_required
@require_POST
def bot_clone(request, pk):
    bot = _strategy_bot(request, pk)
    outcome = submit(request.user, CloneBot(bot_id=bot.pk), door="web", source_text="clone button")
    if outcome.done:
        messages.success(request, outcome.message)
        return redirect("commands:bot_edit", outcome.result["bot_id"])
    messages.error(request, outcome.message)
    return redirect("bots:detail", bot.pk)


@login_required
@require_POST
def bot_archive(request, pk, restore=False):
    bot = _strategy_bot(request, pk)
    outcome = submit(request.user, ArchiveBot(bot_id=bot.pk, restore=restore), door="web",
                     source_text="restore button" if restore else "archive button")
    (messages.success if outcome.done else messages.error)(request, outcome.message)
    return redirect("bots:detail" if restore or not outcome.done else "bots:list", *([bot.pk] if (
        restore or not outcome.done) else []))


@login_required
@require_http_methods(["GET", "POST"])
def bot_delete(request, pk):
    from commands.bot_changes import holds_something

    bot = _strategy_bot(request, pk)
    if request.method == "POST":
        outcome = submit(request.user, DeleteBot(bot_id=bot.pk), door="web", source_text="delete button")
        (messages.success if outcome.done else messages.error)(request, outcome.message)
        return redirect("bots:list") if outcome.done else redirect("bots:detail", bot.pk)
    return render(request, "commands/bot_confirm_delete.html", {
        "bot": bot, "problem": holds_something(bot), "trades": Position.objects.filter(bot=bot).count()})


@login_required
@require_http_methods(["GET", "POST"])
def manual_limits(request, account_id):
    account = get_object_or_404(ExchangeAccount.objects.for_user(request.user), pk=account_id)
    limits = ManualLimits.of(account)
    form = ManualLimitsForm(request.POST or None, instance=limits)
    if request.method == "POST" and form.is_valid():
        outcome = submit(request.user, SetManualLimits(account_id=str(account.pk), limits={
            name: form.cleaned_data[name] for name in ManualLimits.FIELDS}), door="web",
            source_text="manual-trading limits form")
        if outcome.done:
            messages.success(request, outcome.message)
            return redirect("exchanges:detail", account.pk)
        form.add_error(None, outcome.message)
    return render(request, "commands/manual_limits.html", {"form": form, "account": account})
