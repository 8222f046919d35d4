"""The glue between a command and the order layer: record the intent, send it, book the answer.

Kept to a few small functions against a narrow interface (bots.ledger and the exchange client) so that
the order layer being rebuilt (issue 16: unknown-state handling, lookups by client order id) can replace
them in one place:
- `place_order(book, client, ...)`: the Order row (our client order id) is written BEFORE anything is
  sent; the answer is booked with bots.ledger.apply_result; a temporary error leaves it `unknown`.
- `settle(order, client)`: asks the exchange about an unsettled order by its client order id (as
  bots.tick.settle_unknown_orders does for a bot's own orders); one that never arrived is never sent late.
- `cancel_order(order, client)`: cancel and book what the exchange says (a fill that raced the cancel too).
- `holding(book)`: the book's lease (bots.scheduler), so a command never trades beside a tick of the same
  bot, nor beside another command on the same manual book.
- `client_for_book(book)`: the exchange client a book trades through.
"""

import time
from contextlib import contextmanager
from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext_noop

from bots import ledger, scheduler
from bots.crashpoints import crashpoint
from bots.models import Bot, BotEvent, Order
from exchanges.errors import OrderNotFound, OrderRefused, TemporaryExchangeError
from metrics import instruments

NEVER_SENT = "Never reached the exchange"  # the same words bots.tick uses, so pages read alike
BUSY_WAIT = 5.0  # seconds a command waits for a tick of the same bot to finish


class BookBusy(Exception):
    """The bot is ticking (or another command runs on this book) and did not finish in time."""


# A form or a chat waits for these answers: one quick retry, not a tick's patient backoff.
QUICK = {"retries": 1, "backoff": 0.2, "timeout": 8.0}


def account_client(account):
    """The client for trading by hand on an exchange account: a paper account's own simulated wallet
    (`account:<id>`, 10,000 USDT to start, real prices), or the exchange itself with the account's keys."""
    from exchanges.clients import client_for
    from strategies import trade_defaults

    if account.mode == account.Mode.PAPER:
        return client_for(account, mode="paper", wallet_key=manual_wallet_key(account),
                          starting_balance=trade_defaults.STARTING_BALANCE, quote_currency="USDT",
                          fee=float(trade_defaults.FEE), **QUICK)
    return client_for(account, mode=account.mode, **QUICK)


def manual_wallet_key(account) -> str:
    return f"account:{account.pk}"


def client_for_book(book: Bot):
    """A manual book trades on its account (see account_client); a bot through its own client (its simulated
    wallet and, for replay, its replay clock)."""
    if book.is_manual:
        return account_client(book.exchange_account)
    from bots.tick import client_for_bot

    return client_for_bot(book)


@contextmanager
def holding(book: Bot, wait: float = BUSY_WAIT):
    """Hold the book's lease while trading on it; give it back with the next due time it had."""
    deadline = time.monotonic() + wait
    while True:
        token = scheduler.claim_any(book.pk)
        if token is not None:
            break
        if time.monotonic() >= deadline:
            raise BookBusy(book.pk)
        time.sleep(0.1)
    next_tick_at = Bot.objects.filter(pk=book.pk).values_list("next_tick_at", flat=True).first()
    try:
        yield token
    finally:
        scheduler.release(book.pk, token, next_tick_at)


def place_order(book: Bot, client, *, client_order_id: str, side: str, type: str, amount, price=None,
                params: dict | None = None, reason: str, source: str, actor=None,
                when: datetime | None = None) -> Order:
    """Record, send, book. The same client order id twice is the same order: it is looked up, never sent
    again. Raises OrderRefused (booked as rejected); a temporary error leaves the order `unknown`."""
    order, created = Order.objects.get_or_create(
        client_order_id=client_order_id,
        defaults={"bot": book, "symbol": book.symbol, "side": side, "type": type, "amount": amount, "price": price,
                  "candle_at": when or timezone.now(), "reason": reason},
    )
    if not created:
        if order.status in Order.UNSETTLED:
            settle(order, client)
            order.refresh_from_db()
        return order
    BotEvent.objects.create(
        bot=book, kind=BotEvent.Kind.ORDER, source=source, actor=actor if getattr(actor, "pk", None) else None,
        message=(gettext_noop("%(side)s %(amount)s %(symbol)s %(type)s (%(reason)s, %(source)s)") if price is None else
                 gettext_noop("%(side)s %(amount)s %(symbol)s %(type)s at %(price)s (%(reason)s, %(source)s)")) % {
            "side": side.upper(), "amount": ledger.shown(amount), "symbol": book.symbol, "type": type,
            "price": ledger.shown(price) if price is not None else "", "reason": reason, "source": source},
        data={"client_order_id": client_order_id, "amount": amount, "price": price, "type": type},
    )
    crashpoint("command_before_order_sent")
    instruments.count_order("submitted", book, side)
    try:
        answer = client.create_order(book.symbol, side, type, amount, price, client_order_id=client_order_id,
                                     params=params)
    except TemporaryExchangeError as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.UNKNOWN, error=str(exc)[:500])
        instruments.count_order("unknown", book, side)
        order.refresh_from_db()
        return order
    except OrderRefused as exc:
        Order.objects.filter(pk=order.pk).update(status=Order.Status.REJECTED, error=exc.reason[:500])
        instruments.count_order("rejected", book, side, reason=exc.reason)
        BotEvent.objects.create(bot=book, kind=BotEvent.Kind.ERROR, source=source,
                                message=(gettext_noop("Order %(order)s refused by the exchange: %(reason)s") % {
                                    "order": client_order_id, "reason": exc.reason})[:1000],
                                data={"client_order_id": client_order_id, "reason": exc.reason})
        raise
    crashpoint("command_after_order_sent")
    ledger.apply_result(order, answer, source=source)
    instruments.count_fill(book, side, answer.filled)
    order.refresh_from_db()
    return order


def settle(order: Order, client) -> bool:
    """Ask the exchange about an order we do not know the outcome of; True when it is settled now.

    Not found means it never arrived: it is marked canceled and never sent later (a manual order sent
    minutes late is not the order the user asked for). A temporary error leaves it unknown for next time."""
    try:
        answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
    except OrderNotFound:
        Order.objects.filter(pk=order.pk, status__in=Order.UNSETTLED).update(
            status=Order.Status.CANCELED, error=f"{NEVER_SENT}; not sent later.")
        BotEvent.objects.create(bot_id=order.bot_id, kind=BotEvent.Kind.RECONCILE,
                                message=gettext_noop("Order %(order)s never reached the exchange: marked canceled.") % {
                                    "order": order.client_order_id},
                                data={"client_order_id": order.client_order_id})
        return True
    except TemporaryExchangeError:
        return False
    ledger.apply_result(order, answer, source="command")
    BotEvent.objects.create(bot_id=order.bot_id, kind=BotEvent.Kind.RECONCILE,
                            message=gettext_noop(
                                "Order %(order)s found on the exchange: %(status)s, filled %(filled)s.") % {
                                "order": order.client_order_id, "status": answer.status,
                                "filled": ledger.shown(answer.filled)},
                            data={"client_order_id": order.client_order_id, "status": answer.status,
                                  "filled": answer.filled})
    return True


def cancel_order(order: Order, client, *, source: str, actor=None) -> Order:
    """Cancel an open order; book what the exchange says (it may have filled meanwhile)."""
    try:
        answer = client.cancel_order(order.symbol, client_order_id=order.client_order_id)
    except OrderNotFound:
        answer = client.fetch_order(order.symbol, client_order_id=order.client_order_id)
    ledger.apply_result(order, answer, source=source)
    BotEvent.objects.create(bot_id=order.bot_id, kind=BotEvent.Kind.ORDER, source=source,
                            actor=actor if getattr(actor, "pk", None) else None,
                            message=gettext_noop("Cancel %(order)s: %(status)s, filled %(filled)s.") % {
                                "order": order.client_order_id, "status": answer.status,
                                "filled": ledger.shown(answer.filled)},
                            data={"client_order_id": order.client_order_id, "status": answer.status})
    order.refresh_from_db()
    return order
