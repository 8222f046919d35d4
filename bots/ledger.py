"""The bot's books: orders as the exchange reports them, the fills they imply, the position and P&L.

Everything here is idempotent: applying the same exchange answer twice records nothing new, because a
fill is the difference between what the exchange says is filled and what the ledger already has.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_noop

from bots.models import Bot, BotEvent, Fill, Order, PnLSnapshot, Position


def shown(value: Decimal) -> str:
    """A ledger amount for a message: at most 8 decimals, no float noise, no exponent (the data keeps all)."""
    return format(value.quantize(Decimal("1e-8")).normalize(), "f")

ZERO = Decimal("0")
# Quantities below this are dust left by rounding, not a position.
DUST = Decimal("1e-12")


def client_order_id(bot_id: int, candle_at: datetime, side: str, tag: str = "") -> str:
    """Our order id for the order a bot places on a candle: the same inputs give the same id, so a
    repeated tick finds the order it already placed. Fits Binance's 36 characters."""
    return f"tb{bot_id}-{int(candle_at.timestamp()) // 60}-{side[0]}{tag}"


def client_order_prefix(bot_id: int) -> str:
    return f"tb{bot_id}-"


def dec(value) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def record_intent(bot: Bot, *, side: str, amount: Decimal, candle_at: datetime, reason: str,
                  type: str = "market", price: Decimal | None = None, tag: str = "") -> tuple[Order, bool]:
    """The Order row, written (status pending) BEFORE anything is sent, so a crash leaves a trace to
    reconcile. Returns (order, created); an existing order for the same bot, candle and side is reused."""
    cid = client_order_id(bot.pk, candle_at, side, tag)
    return Order.objects.get_or_create(
        client_order_id=cid,
        defaults={"bot": bot, "symbol": bot.symbol, "side": side, "type": type, "amount": amount, "price": price,
                  "candle_at": candle_at, "reason": reason},
    )


def _status(result_status: str) -> str:
    return result_status if result_status in Order.Status.values else Order.Status.UNKNOWN


def apply_result(order: Order, result, *, source: str = "worker") -> list[Fill]:
    """Bring an Order up to date with the exchange's answer and book the new fills on the position."""
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order.pk)
        new_filled = dec(result.filled)
        delta = new_filled - order.filled
        fills = []
        if delta > 0:
            average = dec(result.average) or dec(result.price)
            # The new part's price: what the whole filled amount cost, minus what was booked before.
            value = average * new_filled - (order.average or ZERO) * order.filled
            price = value / delta
            fee = dec(result.fee) - order.fee
            base, quote = split_symbol(order.symbol)
            fee_currency = result.fee_currency or quote
            base_fee = ZERO
            if fee_currency == base:
                # Taken from the coin itself (Binance without BNB): the account holds that much less.
                base_fee, fee = fee, fee * price
            elif fee_currency != quote:
                fee = ZERO  # paid in a third coin (BNB): not out of this position's cash nor its coins
            when = result.timestamp or timezone.now()
            fill = Fill.objects.create(order=order, bot_id=order.bot_id, side=order.side, amount=delta,
                                       price=price, fee=fee, base_fee=base_fee, time=when)
            fills.append(fill)
            _book(order, fill)
            paid = base_fee or dec(result.fee) - order.fee
            fee_text = f"{shown(paid)} {fee_currency}" if fee_currency != quote else shown(fee)
            BotEvent.objects.create(
                bot_id=order.bot_id, kind=BotEvent.Kind.FILL, source=source,
                message=gettext_noop("%(side)s %(amount)s %(symbol)s at %(price)s (fee %(fee)s, %(reason)s)") % {
                    "side": order.side, "amount": shown(delta), "symbol": order.symbol, "price": shown(fill.price),
                    "fee": fee_text, "reason": order.reason or "order"},
                data={"client_order_id": order.client_order_id, "amount": delta, "price": fill.price, "fee": fee,
                      "base_fee": base_fee, "fee_currency": fee_currency, "exchange_time": when},
            )
        order.exchange_order_id = result.exchange_order_id or order.exchange_order_id
        order.status = _status(result.status)
        order.filled = new_filled
        order.average = dec(result.average) if result.average else order.average
        order.fee = dec(result.fee)
        order.fee_currency = result.fee_currency or ""
        if result.amount:
            order.amount = dec(result.amount)  # a buy by quote amount learns its size from the exchange
        elif order.status == Order.Status.CLOSED:
            order.amount = new_filled
        order.raw = _jsonable(result.raw)
        order.exchange_time = result.timestamp
        if result.price is not None and order.price is None:
            order.price = dec(result.price)
        order.save()
    return fills


def _jsonable(raw):
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    try:
        return json.loads(json.dumps(raw or {}, cls=DjangoJSONEncoder, default=str))
    except (TypeError, ValueError):
        return {"repr": repr(raw)[:2000]}


def _book(order: Order, fill: Fill) -> None:
    """A buy opens or adds to the bot's position; a sell reduces it and closes it at zero."""
    position = Position.objects.select_for_update().filter(bot_id=order.bot_id, status=Position.Status.OPEN).first()
    if fill.side == Order.Side.BUY:
        if position is None:
            position = Position(bot_id=order.bot_id, symbol=order.symbol, opened_at=fill.time)
        held = fill.amount - fill.base_fee  # what the account holds of it
        total = position.quantity + held
        position.average_entry = (position.average_entry * position.quantity + fill.price * fill.amount) / total
        position.quantity = total
        position.entry_quantity += held
        # The quote spent: price x amount, plus a quote fee (a base fee is already the smaller quantity).
        position.cost += fill.amount * fill.price + (ZERO if fill.base_fee else fill.fee)
        position.save()
        return
    if position is None:
        # Selling what the ledger does not hold: keep the fill, and let reconciliation say so.
        BotEvent.objects.create(
            bot_id=order.bot_id, kind=BotEvent.Kind.ERROR,
            message=gettext_noop("A sell of %(amount)s filled with no open position in the ledger.") % {
                "amount": shown(fill.amount)},
            data={"client_order_id": order.client_order_id},
        )
        return
    previous_sold = position.entry_quantity - position.quantity
    position.quantity -= fill.amount
    position.proceeds += fill.amount * fill.price - fill.fee
    sold = previous_sold + fill.amount
    position.exit_price = ((position.exit_price or ZERO) * previous_sold + fill.price * fill.amount) / sold
    position.exit_reason = order.reason or position.exit_reason
    if position.quantity <= DUST:
        position.quantity = ZERO
        position.status = Position.Status.CLOSED
        position.closed_at = fill.time
        position.realised_pnl = position.proceeds - position.cost
    position.save()


def split_symbol(symbol: str) -> tuple[str, str]:
    base, _, quote = symbol.partition("/")
    return base, quote.split(":")[0]


def close_as_dust(position: Position) -> None:
    """Close a position whose rest is below the market's amount step (it cannot be sold): the rest is kept as
    `dust` on the position and said in an event, and the bot may enter again."""
    with transaction.atomic():
        position = Position.objects.select_for_update().get(pk=position.pk)
        if position.status != Position.Status.OPEN:
            return
        dust = position.quantity
        position.dust, position.quantity = dust, ZERO
        position.status, position.closed_at = Position.Status.CLOSED, timezone.now()
        position.exit_reason = position.exit_reason or "dust"
        position.realised_pnl = position.proceeds - position.cost
        position.save()
        base = split_symbol(position.symbol)[0]
        BotEvent.objects.create(
            bot_id=position.bot_id, kind=BotEvent.Kind.ORDER,
            message=gettext_noop("Position closed: %(dust)s %(base)s left below the market's amount step is dust "
                                 "(it cannot be sold; the bot may enter again).") % {"dust": shown(dust), "base": base},
            data={"dust": dust, "position": position.pk},
        )


def open_position(bot: Bot) -> Position | None:
    return Position.objects.filter(bot=bot, status=Position.Status.OPEN).first()


@dataclass(frozen=True)
class Books:
    realised: Decimal
    unrealised: Decimal
    equity: Decimal
    quantity: Decimal


def books(bot: Bot, price: Decimal, position: Position | None | bool = False) -> Books:
    """Equity of the bot at `price`: its starting balance, plus realised P&L, plus the open position
    valued at `price` against what it cost (the backtester values an open position the same way)."""
    realised = (
        Position.objects.filter(bot=bot, status=Position.Status.CLOSED).aggregate(total=Sum("realised_pnl"))["total"]
        or ZERO
    )
    if position is False:  # not given: look it up
        position = open_position(bot)
    quantity = position.quantity if position else ZERO
    unrealised = quantity * price - position.cost if position else ZERO
    return Books(realised, unrealised, bot.starting_balance + realised + unrealised, quantity)


def snapshot(bot: Bot, time: datetime, price: Decimal, known: Books | None = None) -> PnLSnapshot:
    b = known or books(bot, price)
    return PnLSnapshot.objects.create(bot=bot, time=time, equity=b.equity, realised=b.realised,
                                      unrealised=b.unrealised)


def loss_streak(bot: Bot) -> tuple[int, datetime | None]:
    """How many of the latest closed trades lost money in a row, and when the last of them closed."""
    count, last = 0, None
    for pnl, closed_at in (
        Position.objects.filter(bot=bot, status=Position.Status.CLOSED).order_by("-closed_at", "-id")
        .values_list("realised_pnl", "closed_at")[:100]
    ):
        if pnl >= 0:
            break
        count += 1
        last = last or closed_at
    return count, last
