"""Bot events that users hear about: fills (orders filled, stop-loss / take-profit exits), halts, and a
bot going to error. Wired as a post_save receiver of BotEvent (notify.apps). In the tick's process only a
check after its transaction has committed (is the owner's chat linked?) and, if so, a queued task: the
rest runs in a worker, and nothing here can raise into the tick."""

import logging
from decimal import Decimal

from django.db import transaction

from bots.models import BotEvent, Fill, Order, Position
from bots.templatetags.bot_display import amount, base_currency, money, quote_currency
from notify.outbox import notify

log = logging.getLogger(__name__)

EXIT_REASONS = ("stop_loss", "take_profit", "trailing_stop")


def on_bot_event(sender, instance: BotEvent, created: bool, raw: bool = False, **kwargs) -> None:
    if not created or raw or not _worth_telling(instance):
        return
    from telegram_bot import config

    if not config.enabled():
        return
    event_id = instance.pk
    transaction.on_commit(lambda: tell_about(event_id))


def _worth_telling(event: BotEvent) -> bool:
    if event.kind in (BotEvent.Kind.FILL, BotEvent.Kind.HALT):
        return True
    # An error that stopped the bot (not a temporary one it retries next candle, not a refused order that
    # is followed by the bot's own error event).
    return event.kind == BotEvent.Kind.ERROR and bool((event.data or {}).get("error")) \
        and not (event.data or {}).get("temporary")


def tell_about(event_id: int) -> None:
    """After the commit, in the process that made the event: one query, and when the owner has a linked
    chat a django-q2 task (`tell`) that does the rest in a worker. Never raises."""
    from telegram_bot.models import TelegramLink

    try:
        if TelegramLink.objects.filter(active=True, user__bots__events__pk=event_id).exists():
            from django_q.tasks import async_task

            async_task("notify.events.tell", event_id, group="notifications", save=False)
    except Exception:
        log.warning("notification of bot event %s could not be queued", event_id, exc_info=True)


def tell(event_id: int) -> None:
    """The worker's part: the event's details, and `notify()`."""
    _tell(BotEvent.objects.select_related("bot").get(pk=event_id))


def _tell(event: BotEvent) -> None:
    bot = event.bot
    data = event.data or {}
    if event.kind == BotEvent.Kind.HALT:
        message = event.message.split("): ", 1)[-1]
        notify(bot.owner_id, "bot_problem", "bot_halted", bot=bot.name, rule=data.get("rule", ""), message=message)
        return
    if event.kind == BotEvent.Kind.ERROR:
        notify(bot.owner_id, "bot_problem", "bot_error", bot=bot.name, reason=str(data.get("error", ""))[:400])
        return
    order = Order.objects.filter(client_order_id=data.get("client_order_id", "")).first()
    if order is None:
        return
    base, quote = base_currency(order.symbol), quote_currency(order.symbol)
    params = {"bot": bot.name, "amount": amount(Decimal(str(data["amount"])), base),
              "price": amount(Decimal(str(data["price"])), quote), "fee": money(Decimal(str(data["fee"])), quote)}
    if order.side == Order.Side.SELL:
        params["pnl"] = _trade_pnl(order, quote)
    if order.side == Order.Side.SELL and order.reason in EXIT_REASONS:
        notify(bot.owner_id, "exit_hit", "exit_hit", reason=order.reason, **params)
    else:
        notify(bot.owner_id, "order_filled", f"{order.side}_filled", **params)


def _trade_pnl(order: Order, quote: str) -> str:
    """The realised P&L of the trade this sell closed ("" while the position is still partly open)."""
    fill = Fill.objects.filter(order=order).order_by("-id").first()
    if fill is None:
        return ""
    position = Position.objects.filter(bot_id=order.bot_id, status=Position.Status.CLOSED, closed_at=fill.time) \
        .order_by("-id").first()
    if position is None:
        return ""
    pnl = position.realised_pnl
    return ("+" if pnl > 0 else "") + money(pnl, quote)
