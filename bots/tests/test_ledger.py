"""bots.ledger: exchange answers become fills and positions exactly once, with Decimal money."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from bots import ledger
from bots.models import Bot, BotEvent, Fill, Order, Position
from bots.tests.factories import make_bot, make_user
from exchanges.clients.base import OrderResult

pytestmark = pytest.mark.django_db
CANDLE = datetime(2023, 1, 2, 16, 45, tzinfo=UTC)


def result(order: Order, *, filled, average, fee, status="closed") -> OrderResult:
    return OrderResult(
        client_order_id=order.client_order_id, exchange_order_id="X" + order.client_order_id, symbol=order.symbol,
        side=order.side, type=order.type, amount=order.amount, price=None, status=status, filled=D(filled),
        average=D(average) if average else None, fee=D(fee), fee_currency="USDT",
        timestamp=CANDLE + timedelta(minutes=5),
        raw={"status": "FILLED", "when": CANDLE},
    )


def test_client_order_id_is_stable_and_fits_binance():
    cid = ledger.client_order_id(123456, CANDLE, "buy")
    assert cid == f"tb123456-{int(CANDLE.timestamp()) // 60}-b"
    assert cid == ledger.client_order_id(123456, CANDLE, "buy") != ledger.client_order_id(123456, CANDLE, "sell")
    assert len(ledger.client_order_id(10**9, datetime(2099, 1, 1, tzinfo=UTC), "sell", "x")) <= 36


def test_the_same_intent_twice_is_one_order():
    bot = make_bot(make_user())
    first, created = ledger.record_intent(bot, side="buy", amount=D("0.5"), candle_at=CANDLE, reason="signal")
    again, created_again = ledger.record_intent(bot, side="buy", amount=D("0.7"), candle_at=CANDLE, reason="signal")
    assert created and not created_again and first.pk == again.pk and again.amount == D("0.5")
    assert first.status == Order.Status.PENDING


def test_a_round_trip_books_fills_position_and_pnl_once():
    bot = make_bot(make_user(), starting_balance=D("10000"))
    buy, _ = ledger.record_intent(bot, side="buy", amount=D("0.5"), candle_at=CANDLE, reason="signal")
    # A partial fill, then the rest, then the same answer again: three applications, two fills.
    ledger.apply_result(buy, result(buy, filled="0.2", average="100", fee="0.02", status="open"))
    ledger.apply_result(buy, result(buy, filled="0.5", average="101.2", fee="0.0506"))
    assert ledger.apply_result(buy, result(buy, filled="0.5", average="101.2", fee="0.0506")) == []
    fills = list(Fill.objects.filter(order=buy).values_list("amount", "price", "fee"))
    assert fills == [(D("0.2"), D("100"), D("0.02")), (D("0.3"), D("102"), D("0.0306"))]
    position = Position.objects.get(bot=bot)
    assert position.quantity == D("0.5") and position.average_entry == D("101.2")
    assert position.cost == D("50.6506")
    assert ledger.books(bot, D("110")) == ledger.Books(D("0"), D("4.3494"), D("10004.3494"), D("0.5"))

    sell, _ = ledger.record_intent(bot, side="sell", amount=D("0.5"), candle_at=CANDLE + timedelta(hours=1),
                                   reason="signal")
    ledger.apply_result(sell, result(sell, filled="0.5", average="110", fee="0.055"))
    position.refresh_from_db()
    assert position.status == Position.Status.CLOSED and position.quantity == 0
    assert position.exit_price == D("110") and position.proceeds == D("54.945")
    assert position.realised_pnl == D("54.945") - D("50.6506")
    assert ledger.books(bot, D("1")).equity == D("10000") + position.realised_pnl
    buy.refresh_from_db()
    assert buy.status == "closed" and buy.exchange_order_id == "X" + buy.client_order_id
    assert buy.raw["when"].startswith("2023-01-02")
    assert BotEvent.objects.filter(bot=bot, kind="fill").count() == 3


def test_a_sell_with_no_position_is_kept_and_reported():
    bot = make_bot(make_user())
    sell, _ = ledger.record_intent(bot, side="sell", amount=D("1"), candle_at=CANDLE, reason="signal")
    ledger.apply_result(sell, result(sell, filled="1", average="100", fee="0.1"))
    assert Fill.objects.filter(order=sell).count() == 1
    assert BotEvent.objects.get(bot=bot, kind="error").message.startswith("A sell of 1 filled with no open position")


def test_loss_streak_counts_the_latest_losses_in_a_row():
    bot = make_bot(make_user())
    for k, pnl in enumerate(["5", "-1", "-2", "-3"]):
        Position.objects.create(bot=bot, symbol=bot.symbol, status="closed", realised_pnl=D(pnl),
                                opened_at=CANDLE, closed_at=CANDLE + timedelta(hours=k))
    assert ledger.loss_streak(bot) == (3, CANDLE + timedelta(hours=3))
    assert ledger.loss_streak(make_bot(make_user("bob"))) == (0, None)
    assert Bot.objects.count() == 2


def test_amounts_in_messages_have_no_float_noise():
    from bots.ledger import shown

    assert shown(D("16675.0000000000000088883")) == "16675"
    assert shown(D("0.0599101048876161")) == "0.0599101"
    assert shown(D("0.999000999000999")) == "0.999001"
    assert shown(D("1E+2")) == "100"
