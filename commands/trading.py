"""The trading commands: place an order by hand, close a bot's position, force-exit any position, cancel
orders. Each handler's `prepare` validates and checks risk (without sending anything); `run` trades."""

import dataclasses
import logging
from decimal import ROUND_DOWN, Decimal

from django.utils import timezone
from django.utils.translation import gettext as _

from bots import control, ledger
from bots.models import Bot, Order, Position
from bots.orders import PROTECTIVE_TYPES
from bots.templatetags.bot_display import money
from commands import execution
from commands.definitions import CancelOrders, ClosePosition, ForceExit, PlaceOrder
from commands.manual_book import book_for, find_book
from commands.risk_review import check_account_can_trade, review_manual_buy, track_day_and_peak
from commands.service import Done, Plan, Refusal, RunContext, handles
from exchanges.errors import ExchangeError
from exchanges.models import ExchangeAccount

log = logging.getLogger(__name__)
ZERO = Decimal("0")
PAPER_FEE = Decimal("0.001")


def mode_label(mode: str) -> str:
    return {"paper": _("paper"), "testnet": _("testnet"), "live": _("live"), "replay": _("replay")}.get(mode, mode)


def account_label(account: ExchangeAccount) -> str:
    return f"{account.label} ({account.exchange_id}, {mode_label(account.mode)})"


def book_label(book: Bot) -> str:
    if book.is_manual:
        return _("your manual %(symbol)s position on %(account)s") % {"symbol": book.symbol,
                                                                     "account": account_label(book.exchange_account)}
    return _("bot %(name)s (%(mode)s)") % {"name": book.name, "mode": mode_label(book.mode)}


def shown(value) -> str:
    return ledger.shown(Decimal(value))


def order_json(order: Order) -> dict:
    return {"id": order.pk, "client_order_id": order.client_order_id, "symbol": order.symbol, "side": order.side,
            "type": order.type, "amount": shown(order.amount), "price": shown(order.price) if order.price else None,
            "status": order.status, "filled": shown(order.filled),
            "average": shown(order.average) if order.average else None, "fee": shown(order.fee), "book": order.bot_id}


def command_order_id(ctx: RunContext, tag: str) -> str:
    """Our client order id for the order a command sends: derived from its audit entry, so running the same
    command again (a retry, a second confirmation) finds the same order instead of sending a new one."""
    return f"tc{ctx.activity.pk}-{tag}"


def _owned_account(user, account_id) -> ExchangeAccount:
    account = ExchangeAccount.objects.for_user(user).filter(pk=account_id).first()
    if account is None:
        raise Refusal(_("No such exchange account."), "not_found")
    return account


def _exchange_refusal(account, exc) -> Refusal:
    return Refusal(_("Could not check the order with %(exchange)s: %(error)s. Nothing was sent.")
                   % {"exchange": account.exchange_id, "error": exc}, "exchange_unavailable")


def quantize_down(amount: Decimal, step: Decimal | None) -> Decimal:
    if not step:
        return amount.quantize(Decimal("1e-8"), rounding=ROUND_DOWN)
    return (amount / step).to_integral_value(rounding=ROUND_DOWN) * step


def held_by_bots(account: ExchangeAccount, asset: str) -> Decimal:
    """What the account's live bots hold of `asset` (their positions share the exchange balance)."""
    if account.mode == account.Mode.PAPER:
        return ZERO  # a paper bot has its own simulated wallet
    total = ZERO
    for position in Position.objects.filter(bot__exchange_account=account, bot__kind=Bot.Kind.STRATEGY,
                                            status=Position.Status.OPEN).select_related("bot"):
        if position.symbol.split("/")[0] == asset:
            total += position.quantity
    return total


@handles(PlaceOrder)
class PlaceOrderHandler:
    def prepare(self, user, cmd: PlaceOrder) -> Plan:
        account = _owned_account(user, cmd.account_id)
        check_account_can_trade(account)
        client = execution.account_client(account)
        try:
            markets = client.load_markets()
            market = markets.get(cmd.symbol)
            if market is None or not market.active:
                raise Refusal(_("%(exchange)s has no market %(symbol)s.")
                              % {"exchange": account.exchange_id, "symbol": cmd.symbol}, "unknown_symbol")
            if cmd.order_type == "limit":
                price = cmd.price
            else:
                ticker = client.fetch_ticker(cmd.symbol)
                price = (ticker.ask if cmd.side == "buy" else ticker.bid) or ticker.last
                if not price:
                    raise Refusal(_("%(exchange)s gives no price for %(symbol)s right now; nothing was sent.")
                                  % {"exchange": account.exchange_id, "symbol": cmd.symbol}, "no_price")
            balances = client.fetch_balance()
        except ExchangeError as exc:
            raise _exchange_refusal(account, exc)
        finally:
            client.close()
        base, quote = market.base, market.quote
        fee = PAPER_FEE if account.mode == account.Mode.PAPER else (market.taker_fee or PAPER_FEE)
        quote_balance, base_balance = balances.get(quote), balances.get(base)
        quote_free = quote_balance.free if quote_balance else ZERO
        base_free = base_balance.free if base_balance else ZERO
        if cmd.unit == "base":
            amount = cmd.amount
        elif cmd.unit == "quote":
            amount = cmd.amount / (price * (1 + fee)) if cmd.side == "buy" else cmd.amount / price
        elif cmd.side == "buy":
            amount = quote_free * cmd.amount / 100 / (price * (1 + fee))
        else:
            amount = max(base_free - held_by_bots(account, base), ZERO) * cmd.amount / 100
        amount = quantize_down(amount, market.amount_step)
        cost = amount * price
        minimum = []
        if amount <= 0 or (market.min_amount and amount < market.min_amount):
            minimum.append(f"{shown(market.min_amount or market.amount_step or Decimal('1e-8'))} {base}")
        if market.min_cost and cost < market.min_cost:
            minimum.append(money(market.min_cost, quote))
        if minimum:
            raise Refusal(_("%(amount)s %(base)s is below the smallest order of %(symbol)s on %(exchange)s "
                            "(%(minimum)s). Nothing was sent.")
                          % {"amount": shown(amount), "base": base, "symbol": cmd.symbol,
                             "exchange": account.exchange_id, "minimum": " / ".join(minimum)}, "below_minimum")
        if cmd.side == "buy":
            needed = cost * (1 + fee)
            if needed > quote_free:
                raise Refusal(_("Not enough %(quote)s: the order needs about %(needed)s, %(free)s is free.")
                              % {"quote": quote, "needed": money(needed, quote), "free": money(quote_free, quote)},
                              "insufficient_funds")
            equity = (quote_balance.total if quote_balance else ZERO) + (
                base_balance.total if base_balance else ZERO) * price
            review_manual_buy(account, find_book(account, cmd.symbol), owner=user, equity=equity, price=price,
                              cost=cost, now=timezone.now())
        elif amount > base_free:
            raise Refusal(_("Not enough %(base)s: the order sells %(amount)s, %(free)s is free.")
                          % {"base": base, "amount": shown(amount), "free": shown(base_free)}, "insufficient_funds")
        values = {"amount": shown(amount), "base": base, "account": account_label(account),
                  "cost": money(cost, quote), "price": money(price, quote)}
        sentence = {
            ("buy", "market"): _("Buy %(amount)s %(base)s at market on %(account)s, about %(cost)s?"),
            ("sell", "market"): _("Sell %(amount)s %(base)s at market on %(account)s, about %(cost)s?"),
            ("buy", "limit"): _("Buy %(amount)s %(base)s at %(price)s or less (limit) on %(account)s, %(cost)s?"),
            ("sell", "limit"): _("Sell %(amount)s %(base)s at %(price)s or more (limit) on %(account)s, %(cost)s?"),
        }[(cmd.side, cmd.order_type)] % values
        resolved = dataclasses.replace(cmd, amount=amount, unit="base")
        return Plan(resolved, sentence, real_money=account.mode != account.Mode.PAPER, trades=True,
                    context={"account": account, "base": base, "quote": quote})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        cmd: PlaceOrder = plan.command
        account = plan.context["account"]
        book = book_for(account, cmd.symbol)
        client = execution.account_client(account)
        try:
            with execution.holding(book):
                order = execution.place_order(
                    book, client, client_order_id=command_order_id(ctx, cmd.side[0]), side=cmd.side,
                    type=cmd.order_type, amount=cmd.amount, price=cmd.price, reason="manual", source=ctx.door,
                    actor=ctx.actor)
                if order.filled > 0:
                    snapshot_book(book, order.average or order.price, order.exchange_time)
        finally:
            client.close()
        publish_update(book)
        return Done(order_message(order, plan.context["base"], plan.context["quote"]),
                    {"order": order_json(order), "book_id": book.pk}, settled=order.status not in Order.UNSETTLED)


def order_message(order: Order, base: str, quote: str) -> str:
    values = {"filled": shown(order.filled), "amount": shown(order.amount), "base": base,
              "average": money(order.average, quote) if order.average else "—", "fee": money(order.fee, quote),
              "price": money(order.price, quote) if order.price else "—"}
    if order.status in Order.UNSETTLED:
        return _("Sent, but the exchange did not confirm it: it is checked by its order id within a minute, "
                 "and never sent twice.")
    if order.status == Order.Status.CLOSED:
        return (_("Bought %(filled)s %(base)s at %(average)s (fee %(fee)s).") if order.side == "buy"
                else _("Sold %(filled)s %(base)s at %(average)s (fee %(fee)s).")) % values
    if order.status == Order.Status.OPEN:
        return _("Order placed: %(amount)s %(base)s at %(price)s, open (filled %(filled)s so far).") % values
    if order.status == Order.Status.CANCELED and order.error.startswith(execution.NEVER_SENT):
        return _("The order never reached the exchange; nothing was traded.")
    if order.status == Order.Status.LOST:
        return _("The exchange never showed this order after it was sent: it is marked lost and not sent again. "
                 "Check the exchange account.")
    return _("The order ended %(status)s with %(filled)s %(base)s filled.") % {
        **values, "status": order.get_status_display().lower()}


def snapshot_book(book: Bot, price, when=None) -> None:
    """A P&L snapshot right after a trade, so pages show it before the next tick (or minute, for a manual
    book) values it again."""
    if not price:
        return
    known = ledger.books(book, Decimal(price))
    if book.is_manual:  # a bot's tick keeps its own day start and peak
        track_day_and_peak(book, known.equity, timezone.now())
    ledger.snapshot(book, when or timezone.now(), Decimal(price), known)


def publish_update(book: Bot) -> None:
    from bots.live import publish_bot_update

    publish_bot_update(book.pk)


class _ClosingHandler:
    """Shared by close position (a bot's) and force exit (any position, manual ones too)."""

    def plan(self, book: Bot, position: Position, cmd, *, stop_bot: bool) -> Plan:
        check_account_can_trade(book.exchange_account)
        if cmd.quantity is not None and cmd.quantity != position.quantity:
            raise Refusal(_("The position changed since you asked (it is now %(quantity)s %(base)s): nothing was "
                            "sent. Ask again.") % {"quantity": shown(position.quantity),
                                                   "base": position.symbol.split("/")[0]}, "position_changed")
        values = {"amount": shown(position.quantity), "base": position.symbol.split("/")[0],
                  "book": book_label(book), "account": account_label(book.exchange_account)}
        sentence = (_("Stop %(book)s, then sell %(amount)s %(base)s, its whole position, at market on %(account)s?")
                    if stop_bot else
                    _("Sell %(amount)s %(base)s, the whole position of %(book)s, at market on %(account)s?")) % values
        return Plan(dataclasses.replace(cmd, quantity=position.quantity), sentence,
                    real_money=book.mode == Bot.Mode.LIVE, trades=True, context={"book": book})

    def close(self, book: Bot, ctx: RunContext, *, stop_bot: bool, reason: str) -> Done:
        if stop_bot and book.status in control.STOP_FROM:
            try:
                control.stop_bot(book, actor=ctx.actor, source=ctx.door)
            except control.BotControlError:
                pass  # stopped meanwhile
        base, quote = book.symbol.split("/")[0], book.symbol.split("/")[1].split(":")[0]
        client = execution.client_for_book(book)
        try:
            with execution.holding(book):
                position = ledger.open_position(book)
                if position is None:
                    return Done(_("The position was already closed; nothing was sent."), {"book_id": book.pk})
                # The protective order first (a bracket, or a live bot's stop on the exchange, which holds the coins).
                for bracket in Order.objects.filter(bot=book, type__in=PROTECTIVE_TYPES, status=Order.Status.OPEN):
                    execution.cancel_order(bracket, client, source=ctx.door, actor=ctx.actor)
                position.refresh_from_db()
                if position.status != Position.Status.OPEN:
                    return Done(_("The position's stop-loss or take-profit closed it first; nothing more was sent."),
                                {"book_id": book.pk})
                amount = position.quantity
                # A simulated wallet holds exactly what was bought (the ledger's last digits may round up); a
                # live account may hold less than was bought (a fee taken from the coin): sell what is there.
                held = client.fetch_balance().get(base)
                amount = min(amount, held.free) if held is not None else amount
                order = execution.place_order(
                    book, client, client_order_id=command_order_id(ctx, "x"), side="sell", type="market",
                    amount=amount, reason=reason, source=ctx.door, actor=ctx.actor)
                if order.filled > 0:
                    snapshot_book(book, order.average, order.exchange_time)
        finally:
            client.close()
        publish_update(book)
        return Done(order_message(order, base, quote), {"order": order_json(order), "book_id": book.pk},
                    settled=order.status not in Order.UNSETTLED)


@handles(ClosePosition)
class ClosePositionHandler(_ClosingHandler):
    def prepare(self, user, cmd: ClosePosition) -> Plan:
        book = Bot.objects.for_user(user).select_related("exchange_account").filter(pk=cmd.bot_id).first()
        if book is None:
            raise Refusal(_("No such bot."), "not_found")
        position = ledger.open_position(book)
        if position is None:
            raise Refusal(_("%(bot)s has no open position.") % {"bot": book.name}, "no_position")
        return self.plan(book, position, cmd, stop_bot=cmd.stop_bot and not book.is_manual)

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        return self.close(plan.context["book"], ctx, stop_bot=plan.command.stop_bot, reason="close_position")


@handles(ForceExit)
class ForceExitHandler(_ClosingHandler):
    def prepare(self, user, cmd: ForceExit) -> Plan:
        position = (Position.objects.for_user(user).select_related("bot", "bot__exchange_account")
                    .filter(pk=cmd.position_id).first())
        if position is None:
            raise Refusal(_("No such position."), "not_found")
        if position.status != Position.Status.OPEN:
            raise Refusal(_("This position is already closed."), "no_position")
        return self.plan(position.bot, position, cmd, stop_bot=False)

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        return self.close(plan.context["book"], ctx, stop_bot=False, reason="force_exit")


@handles(CancelOrders)
class CancelOrdersHandler:
    def prepare(self, user, cmd: CancelOrders) -> Plan:
        mine = Order.objects.for_user(user).select_related("bot", "bot__exchange_account")
        orders = mine.filter(status=Order.Status.OPEN).exclude(type__in=PROTECTIVE_TYPES)
        if cmd.order_ids:
            orders = orders.filter(pk__in=cmd.order_ids)
        elif cmd.order_id is not None:
            order = mine.filter(pk=cmd.order_id).first()
            if order is None:
                raise Refusal(_("No such order."), "not_found")
            if order.type in PROTECTIVE_TYPES:
                raise Refusal(_("This is the position's protective stop-loss/take-profit; close the position "
                                "instead."), "protective_order")
            if order.status != Order.Status.OPEN:
                raise Refusal(_("This order is not open (it is %(status)s).")
                              % {"status": order.get_status_display().lower()}, "not_open")
            orders = orders.filter(pk=order.pk)
        elif cmd.bot_id is not None:
            if not Bot.objects.for_user(user).filter(pk=cmd.bot_id).exists():
                raise Refusal(_("No such bot."), "not_found")
            orders = orders.filter(bot_id=cmd.bot_id)
        elif cmd.account_id is not None:
            account = _owned_account(user, cmd.account_id)
            orders = orders.filter(bot__exchange_account=account)
        if cmd.symbol:
            orders = orders.filter(symbol=cmd.symbol)
        orders = list(orders.order_by("pk"))
        if not orders:
            raise Refusal(_("No open orders to cancel."), "no_open_orders")
        for account in {o.bot.exchange_account for o in orders}:
            check_account_can_trade(account)
        described = [f"{o.side} {shown(o.amount)} {o.symbol} {o.type}"
                     f"{f' @ {shown(o.price)}' if o.price else ''} ({o.bot.name})" for o in orders[:5]]
        more = len(orders) - len(described)
        sentence = _("Cancel %(count)s open order(s): %(orders)s?") % {
            "count": len(orders), "orders": "; ".join(described) + (f"; … +{more}" if more else "")}
        return Plan(dataclasses.replace(cmd, order_ids=tuple(o.pk for o in orders)), sentence,
                    real_money=any(o.bot.mode == Bot.Mode.LIVE for o in orders), trades=True,
                    context={"orders": orders})

    def run(self, user, plan: Plan, ctx: RunContext) -> Done:
        by_book: dict[int, list[Order]] = {}
        for order in plan.context["orders"]:
            by_book.setdefault(order.bot_id, []).append(order)
        canceled, filled, failed = [], [], {}
        for orders in by_book.values():
            book = orders[0].bot
            client = execution.client_for_book(book)
            try:
                with execution.holding(book):
                    for order in orders:
                        try:
                            after = execution.cancel_order(order, client, source=ctx.door, actor=ctx.actor)
                        except ExchangeError as exc:
                            failed[order.client_order_id] = str(exc)[:200]
                            continue
                        (filled if after.status == Order.Status.CLOSED else canceled).append(order.client_order_id)
            finally:
                client.close()
            publish_update(book)
        message = _("Canceled %(count)s order(s).") % {"count": len(canceled)}
        if filled:
            message += " " + _("%(count)s had filled before the cancel arrived.") % {"count": len(filled)}
        if failed:
            message += " " + _("%(count)s could not be canceled: %(reasons)s") % {
                "count": len(failed), "reasons": "; ".join(failed.values())}
        return Done(message, {"canceled": canceled, "filled": filled, "failed": failed})
