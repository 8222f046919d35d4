"""The seed's JSON endpoints for scripts: POST /bot/start, POST /bot/stop, GET /dashboard/pnl.

Session-authenticated (401 JSON when not logged in; POSTs need the CSRF token like any form, and a missing
one is a 403 JSON, tradingbot.json_errors) and scoped to the user: someone else's bot is a 404, exactly like
one that does not exist. Start and stop go through the command service (door "api"), which audits them.
"""

import json
from decimal import Decimal

from django.db.models import Sum
from django.http import JsonResponse

from bots.models import Bot, PnLSnapshot, Position
from tradingbot.json_errors import json_endpoint


def bot_json(bot: Bot) -> dict:
    return {
        "id": bot.pk, "name": bot.name, "symbol": bot.symbol, "timeframe": bot.timeframe, "mode": bot.mode,
        "status": bot.status, "status_reason": bot.status_reason,
        "last_candle_at": bot.last_candle_at.isoformat() if bot.last_candle_at else None,
    }


def _bot_id(request):
    """bot_id from a JSON body or a form field; (id, None) or (None, error message)."""
    raw = request.POST.get("bot_id")
    if raw is None and request.body:
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError):
            return None, "The body is not valid JSON; send {\"bot_id\": <id>}."
        if not isinstance(body, dict):
            return None, "The body must be a JSON object like {\"bot_id\": <id>}."
        raw = body.get("bot_id", body.get("bot_run_id"))
    return parse_bot_id(raw)


def parse_bot_id(raw):
    if raw is None or raw == "":
        return None, "bot_id is required."
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        return None, f"bot_id must be a whole number, not {raw!r}."
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None, f"bot_id must be a whole number, not {raw!r}."
    if value <= 0:
        return None, f"bot_id must be a positive whole number, not {raw!r}."
    return value, None


def _control(request, action: str):
    from commands.definitions import ControlBot
    from commands.service import submit

    bot_id, error = _bot_id(request)
    if error:
        return JsonResponse({"error": error}, status=400)
    bot = Bot.objects.for_user(request.user).listed().filter(pk=bot_id).first()
    if bot is None:
        return JsonResponse({"error": f"No bot {bot_id}."}, status=404)
    outcome = submit(request.user, ControlBot(bot_id=bot.pk, action=action), door="api",
                     source_text=f"{request.method} {request.path} bot_id={bot_id}")
    bot.refresh_from_db()
    if not outcome.done:
        return JsonResponse({"error": outcome.message, "code": outcome.code, "bot": bot_json(bot)},
                            status=404 if outcome.code == "not_found" else 409)
    return JsonResponse({"bot": bot_json(bot)})


@json_endpoint(methods=("POST",))
def start(request):
    return _control(request, "start")


@json_endpoint(methods=("POST",))
def stop(request):
    return _control(request, "stop")


def _money(value: Decimal) -> float:
    return float(round(value, 8))


@json_endpoint(methods=("GET",))
def pnl(request):
    """Total P&L (realised plus the open positions' unrealised at their last valuation), closed trades,
    win rate and the 20 most recent trades, over the user's bots and manual books (or one bot with ?bot_id=)."""
    bots = Bot.objects.for_user(request.user)
    if request.GET.get("bot_id"):
        bot_id, error = parse_bot_id(request.GET["bot_id"])
        if error:
            return JsonResponse({"error": error}, status=400)
        bots = bots.filter(pk=bot_id)
        if not bots.exists():
            return JsonResponse({"error": f"No bot {bot_id}."}, status=404)
    closed = Position.objects.filter(bot__in=bots, status=Position.Status.CLOSED)
    realised = closed.aggregate(total=Sum("realised_pnl"))["total"] or Decimal("0")
    unrealised = Decimal("0")
    for bot_id in Position.objects.filter(bot__in=bots, status=Position.Status.OPEN).values_list("bot_id", flat=True):
        last = PnLSnapshot.objects.filter(bot_id=bot_id).order_by("-time", "-id").first()
        unrealised += last.unrealised if last else Decimal("0")
    trades = closed.count()
    wins = closed.filter(realised_pnl__gt=0).count()
    recent = closed.select_related("bot").order_by("-closed_at", "-id")[:20]
    return JsonResponse({
        "total_pnl": _money(realised + unrealised),
        "realised_pnl": _money(realised),
        "unrealised_pnl": _money(unrealised),
        "trades": trades,
        "win_rate": round(wins / trades, 4) if trades else None,
        "recent_trades": [
            {"bot_id": p.bot_id, "bot": p.bot.name, "symbol": p.symbol, "quantity": _money(p.entry_quantity),
             "entry_price": _money(p.average_entry), "exit_price": _money(p.exit_price or 0),
             "pnl": _money(p.realised_pnl), "exit_reason": p.exit_reason,
             "opened_at": p.opened_at.isoformat(), "closed_at": p.closed_at.isoformat() if p.closed_at else None}
            for p in recent
        ],
    })
