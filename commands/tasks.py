"""The worker's minute: price alerts, manual books valued, unsettled command orders settled, stale pending
commands expired. A django-q2 schedule (migration 0002) runs `every_minute`; each step is guarded so one
failing never stops the others, and the next minute tries again."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from bots import ledger
from bots.models import Bot, Order, Position
from commands import alerts, execution
from commands.models import Activity
from commands.risk_review import track_day_and_peak
from commands.service import expire_pending

log = logging.getLogger(__name__)

SETTLE_AFTER = timedelta(seconds=30)  # a command still running has this long to book its own answer
INTERRUPTED_AFTER = timedelta(minutes=10)


def every_minute() -> dict:
    board = alerts.TickerBoard()
    steps = (("alerts", lambda: alerts.check_alerts(board)), ("manual_books", lambda: value_manual_books(board)),
             ("settled", settle_command_orders), ("interrupted", finish_interrupted), ("expired", expire_pending))
    results = {}
    for name, step in steps:
        try:
            results[name] = step()
        except Exception:
            log.exception("commands minute: %s failed", name)
            results[name] = "error"
    return results


def value_manual_books(board: alerts.TickerBoard) -> int:
    """A P&L snapshot of every manual book with an open position, at the ticker shared with the alerts, so
    the dashboard's totals include manual trades at a fresh price."""
    now = timezone.now()
    count, users = 0, {}
    books = Bot.objects.filter(kind=Bot.Kind.MANUAL, positions__status=Position.Status.OPEN).select_related(
        "exchange_account").distinct()
    for book in books:
        price = board.for_account(book.exchange_account, book.symbol)
        if price is None:
            continue
        known = ledger.books(book, price)
        track_day_and_peak(book, known.equity, now)
        ledger.snapshot(book, now, price, known)
        users.setdefault(book.owner_id, book.pk)
        count += 1
    from bots.live import publish_bot_update

    for book_id in users.values():  # one dashboard update per user: its totals carry every book
        publish_bot_update(book_id)
    return count


def activity_of(order: Order) -> Activity | None:
    """The command an order came from (client order id tc<activity id>-<tag>)."""
    cid = order.client_order_id
    if not cid.startswith("tc") or "-" not in cid:
        return None
    head = cid[2:].split("-", 1)[0]
    return Activity.objects.filter(pk=int(head)).first() if head.isdigit() else None


def settle_command_orders(now=None) -> int:
    """Orders commands sent whose outcome is unknown (a timeout, a crash between sending and booking): asked
    by client order id; their command's activity then says what happened."""
    from commands.trading import order_message

    now = now or timezone.now()
    settled = 0
    unsettled = (Order.objects.filter(status__in=Order.UNSETTLED, client_order_id__startswith="tc",
                                      updated_at__lt=now - SETTLE_AFTER).select_related("bot", "bot__exchange_account"))
    for order in unsettled:
        book = order.bot
        try:
            client = execution.client_for_book(book)
        except Exception:
            log.exception("no client to settle order %s", order.client_order_id)
            continue
        try:
            with execution.holding(book, wait=0):
                done = execution.settle(order, client)
        except execution.BookBusy:
            continue  # a tick or a command holds the book: next minute
        finally:
            client.close()
        if not done:
            continue
        settled += 1
        order.refresh_from_db()
        activity = activity_of(order)
        if activity is not None and activity.status == Activity.Status.RUNNING:
            base, quote = order.symbol.split("/")[0], order.symbol.split("/")[1]
            failed = order.status in (Order.Status.CANCELED, Order.Status.LOST)
            status = Activity.Status.FAILED if failed else Activity.Status.DONE
            code = "" if not failed else ("lost" if order.status == Order.Status.LOST else "never_sent")
            Activity.objects.filter(pk=activity.pk, status=Activity.Status.RUNNING).update(
                status=status, code=code,
                message=order_message(order, base, quote), updated_at=now)
        from bots.live import publish_bot_update

        publish_bot_update(book.pk)
    return settled


def finish_interrupted(now=None) -> int:
    """A command left running by a crashed process: done if its orders are settled, failed if it never sent
    anything, left alone while one of its orders is still unknown."""
    from commands.trading import order_message

    now = now or timezone.now()
    finished = 0
    for activity in Activity.objects.filter(status=Activity.Status.RUNNING, updated_at__lt=now - INTERRUPTED_AFTER):
        orders = list(Order.objects.filter(Q(client_order_id__startswith=f"tc{activity.pk}-")))
        if any(o.status in Order.UNSETTLED for o in orders):
            continue
        if orders:
            order = orders[-1]
            status, message = Activity.Status.DONE, order_message(order, order.symbol.split("/")[0],
                                                                   order.symbol.split("/")[1])
        else:
            status, message = Activity.Status.FAILED, "Interrupted before anything was sent; nothing was traded."
        finished += Activity.objects.filter(pk=activity.pk, status=Activity.Status.RUNNING).update(
            status=status, message=message, code="interrupted", updated_at=now)
    return finished
