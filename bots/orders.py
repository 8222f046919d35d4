"""Orders on the exchange's truth: send a recorded order, and settle one whose outcome is unknown.

Used by the tick (a bot's own orders) and by commands.execution (orders placed by hand), so both doors
follow the same rules (issue 16):
- The Order row (our client order id) exists before anything is sent; `sent_at` is stamped right before the
  request leaves, so an order that was never sent (a crash before it) is told apart from one that was.
- An order whose outcome is unknown (no answer, a 5xx, "duplicate order" while lookups do not show it yet)
  stays `unknown` until the exchange answers for it. It is looked up by its client order id on every tick,
  and while it is unknown the bot sends nothing else.
- Not found within the exchange's lookup window after it was sent (exchanges.capabilities): still unknown,
  the exchange may not show an accepted order at once. Not found after the window: `lost`, with an alert;
  it is never sent again (a stale order is not the order that was decided).
- Never sent at all (no `sent_at`): canceled as never sent; the same candle may send it again.
"""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from bots import ledger
from bots.crashpoints import crashpoint
from bots.models import BotEvent, Order
from exchanges.errors import OrderNotFound, OrderOutcomeUnknown, OrderRefused, TemporaryExchangeError
from metrics import instruments

NEVER_SENT = "Never reached the exchange"
# The exchange's order statuses, filled into stored events ("Order ... found on the exchange: closed, ..."):
# in the catalogue so tradingbot.stored_text shows them in the reader's language.
STATUS_WORDS = (gettext_noop("open"), gettext_noop("closed"), gettext_noop("canceled"), gettext_noop("rejected"),
                gettext_noop("expired"))
STOP_TYPES = ("stop_limit", "stop_market")  # a live position's stop-loss on the exchange
PROTECTIVE_TYPES = ("bracket", *STOP_TYPES)  # orders that protect a position (not canceled as "open orders")
STILL_LOOKING = "Outcome unknown"

# Outcomes of settle()
SETTLED, UNKNOWN, NEVER_ARRIVED, LOST = "settled", "unknown", "never_sent", "lost"


def _event(order: Order, kind: str, message: str, data: dict | None = None, source: str = "worker") -> None:
    BotEvent.objects.create(bot_id=order.bot_id, kind=kind, message=message[:1000], source=source,
                            data={"client_order_id": order.client_order_id, **(data or {})})


def send(order: Order, client, *, params: dict | None = None, stop_price=None, source: str = "worker",
         crash_prefix: str = ""):
    """Send a recorded order and book the answer. Returns the exchange's answer.

    OrderOutcomeUnknown: the order is `unknown` (and the error goes up: the caller stops here). Another
    temporary error (a rate-limit pause, markets not loading) means nothing was sent: it is canceled as never
    sent. OrderRefused: `rejected` with the exchange's reason."""
    crashpoint(f"{crash_prefix}before_order_sent")
    Order.objects.filter(pk=order.pk).update(sent_at=timezone.now())
    instruments.count_order("submitted", order.bot, order.side)
    try:
        answer = client.create_order(order.symbol, order.side, order.type, order.amount, order.price,
                                     client_order_id=order.client_order_id, stop_price=stop_price, params=params)
    except OrderOutcomeUnknown as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.UNKNOWN, error=f"{STILL_LOOKING}: {exc}"[:500])
        instruments.count_order("unknown", order.bot, order.side)
        _event(order, BotEvent.Kind.ORDER, gettext_noop(
            "Order %(order)s: the exchange did not say whether it took it; it is looked up by its client order id, "
            "and nothing else is sent meanwhile.") % {"order": order.client_order_id},
            {"error": str(exc)[:500], "temporary": True}, source=source)
        raise
    except TemporaryExchangeError as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.CANCELED, sent_at=None,
                                                 error=f"{NEVER_SENT}: {exc}"[:500])
        raise
    except OrderRefused as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REJECTED, error=exc.reason[:500])
        instruments.count_order("rejected", order.bot, order.side, reason=exc.reason)
        _event(order, BotEvent.Kind.ERROR, gettext_noop("Order %(order)s refused by the exchange: %(reason)s") % {
            "order": order.client_order_id, "reason": exc.reason}, {"reason": exc.reason}, source=source)
        raise
    crashpoint(f"{crash_prefix}after_order_sent")
    ledger.apply_result(order, answer, source=source)
    instruments.count_fill(order.bot, order.side, answer.filled)
    crashpoint(f"{crash_prefix}after_order_recorded")
    return answer


def settle(order: Order, client, *, source: str = "worker", now=None) -> str:
    """Ask the exchange about an unsettled order by its client order id. Returns SETTLED, UNKNOWN (ask again
    later), NEVER_ARRIVED (never sent) or LOST (sent, and not found after the lookup window)."""
    now = now or timezone.now()
    try:
        answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
    except OrderNotFound:
        return _not_found(order, client, source, now)
    except TemporaryExchangeError:
        return UNKNOWN
    changed = answer.status != order.status or answer.filled != order.filled
    ledger.apply_result(order, answer, source=source)
    if changed:
        _event(order, BotEvent.Kind.RECONCILE, gettext_noop(
            "Order %(order)s found on the exchange: %(status)s, filled %(filled)s.") % {
            "order": order.client_order_id, "status": answer.status, "filled": ledger.shown(answer.filled)},
            {"status": answer.status, "filled": answer.filled}, source=source)
    return SETTLED


def _not_found(order: Order, client, source: str, now) -> str:
    window = timedelta(seconds=client.capabilities.lookup_window)
    if order.sent_at is None:
        with transaction.atomic():
            changed = Order.objects.filter(pk=order.pk, status__in=Order.UNSETTLED).update(
                status=Order.Status.CANCELED,
                error=f"{NEVER_SENT} (the tick stopped before sending it); never sent for a later candle.")
            if changed:
                _event(order, BotEvent.Kind.RECONCILE, gettext_noop(
                    "Order %(order)s never reached the exchange: marked canceled.") % {"order": order.client_order_id},
                    source=source)
        return NEVER_ARRIVED
    waited = now - order.sent_at
    if waited < window:
        Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
            status=Order.Status.UNKNOWN, error=f"{STILL_LOOKING}: not shown by the exchange yet "
                                               f"({int(waited.total_seconds())} s after it was sent).")
        return UNKNOWN
    seconds = int(waited.total_seconds())
    with transaction.atomic():
        changed = Order.objects.filter(pk=order.pk, status__in=(*Order.UNSETTLED, Order.Status.OPEN)).update(
            status=Order.Status.LOST,
            error=f"Lost: the exchange has not known this order for {seconds} s since it was sent; not sent again.")
        if changed:
            reason = gettext_noop(
                "Order %(order)s (%(side)s %(amount)s %(symbol)s) is unknown to the exchange %(seconds)s s after it "
                "was sent: marked lost, not sent again. Check the exchange account.") % {
                "order": order.client_order_id, "side": order.side, "amount": ledger.shown(order.amount),
                "symbol": order.symbol, "seconds": seconds}
            _event(order, BotEvent.Kind.ERROR, reason, {"error": reason, "lost": True}, source=source)
    return LOST


def unsettled(bot) -> list[Order]:
    return list(Order.objects.filter(bot=bot, status__in=Order.UNSETTLED).order_by("created_at", "id"))
