"""The glue between a command and the order layer: record the intent, send it, book the answer.

Orders placed by hand go through the bots' own order layer (bots.orders), so they follow the same rules:
- `place_order(book, client, ...)`: the Order row (our client order id) is written BEFORE anything is
  sent (bots.orders.send); an unknown outcome leaves it `unknown`, never sent again under another id.
- `settle(order, client)`: asks the exchange about an unsettled order by its client order id
  (bots.orders.settle, as the tick does): unknown until the exchange's lookup window has passed, then lost;
  one that was never sent is never sent late.
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

from bots import ledger, orders, scheduler
from bots.models import Bot, BotEvent, Order
from exchanges.errors import OrderNotFound, OrderOutcomeUnknown, TemporaryExchangeError

# The values the stored order events below fill in, in the catalogue so tradingbot.stored_text shows them
# translated too ("BUY 0.1 BTC/USDT market" reads "ซื้อ 0.1 BTC/USDT ราคาตลาด" on a Thai page).
STORED_WORDS = (gettext_noop("BUY"), gettext_noop("SELL"), gettext_noop("market"), gettext_noop("limit"))
NEVER_SENT = orders.NEVER_SENT  # the same words as the tick's, so pages read alike
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
    try:
        orders.send(order, client, params=params, source=source, crash_prefix="command_")
    except (OrderOutcomeUnknown, TemporaryExchangeError):
        pass  # unknown (settled later by its client order id), or never sent (nothing was traded)
    order.refresh_from_db()
    return order


def settle(order: Order, client) -> bool:
    """Ask the exchange about an order we do not know the outcome of; True when it is settled now (found,
    never sent, or lost after the exchange's lookup window: a manual order is never sent late)."""
    return orders.settle(order, client, source="command") != orders.UNKNOWN


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
