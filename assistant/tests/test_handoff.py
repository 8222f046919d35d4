"""The hand-off: a READY resolution becomes one command for the command service; nothing else does.

The command service (issue 11) is not on main yet, so `build` is shown with dataclasses that have the
planned names; when it lands, these tests switch to its module.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest

from assistant.handoff import COMMAND_CLASSES, NotReady, build, command_for
from assistant.offline import parse_offline
from assistant.resolution import resolve
from assistant.understanding import understand
from bots.models import Position
from bots.tests.factories import make_account, make_bot, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(fake_exchange):
    user = make_user("alice")
    make_account(user, label="paper")
    return user


def proposed(text, user):
    return command_for(resolve(parse_offline(text), user))


def test_a_buy_becomes_an_order_command_that_must_be_confirmed(alice):
    result = understand("buy 100 usdt of btc", user=alice)
    command = command_for(result.resolution, request=result.request)
    assert command.kind == "buy" and command.confirm
    assert command.fields == {"account_id": result.resolution.account.pk, "symbol": "BTC/USDT", "side": "buy",
                              "amount": Decimal(100), "amount_unit": "quote", "order_type": "market", "price": None}
    assert command.assistant_request_id == result.request.pk and command.origin_text == "buy 100 usdt of btc"
    assert command.origin == "assistant"


def test_every_changing_command_asks_for_confirmation_and_queries_do_not(alice):
    bot = make_bot(alice, name="alpha")
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=Decimal("0.1"), entry_quantity=Decimal("0.1"),
                            average_entry=Decimal("20000"), opened_at=datetime.now(UTC))
    cases = {
        "sell half my btc": ("sell", True), "close my btc position": ("close_position", True),
        "cancel all orders": ("cancel_order", True), "alert me when btc goes above 70k": ("alert", True),
        "start bot alpha": ("bot_start", True), "stop all bots": ("bot_stop", True),
        "price of btc": ("price", False), "what's my balance": ("portfolio", False),
        "bot status": ("bot_status", False),
    }
    for text, (kind, confirm) in cases.items():
        command = proposed(text, alice)
        assert (command.kind, command.confirm) == (kind, confirm), text
    assert proposed("close my btc position", alice).fields["position_ids"] == [bot.positions.get().pk]
    assert proposed("start bot alpha", alice).fields == {"bot_ids": [bot.pk]}
    alert = proposed("alert me when btc goes above 70k", alice).fields
    assert (alert["direction"], alert["price"], alert["symbol"]) == ("above", Decimal(70000), "BTC/USDT")


@pytest.mark.parametrize("text", ["buy BTC", "hello", "help", "buy 1 sol"])
def test_anything_not_ready_is_not_a_command(alice, text):
    with pytest.raises(NotReady):
        proposed(text, alice)


def test_build_makes_the_command_services_dataclass(alice):
    @dataclass
    class PlaceOrder:
        account_id: object
        symbol: str
        side: str
        amount: Decimal
        amount_unit: str
        order_type: str
        price: Decimal | None

    service = SimpleNamespace(PlaceOrder=PlaceOrder)
    command = build(proposed("sell 0.5 eth at 4,200", alice), service)
    assert isinstance(command, PlaceOrder)
    assert (command.side, command.amount, command.amount_unit, command.order_type, command.price) == (
        "sell", Decimal("0.5"), "base", "limit", Decimal(4200))
    assert set(COMMAND_CLASSES) == {"buy", "sell", "close_position", "cancel_order", "alert", "bot_start",
                                    "bot_stop", "price", "portfolio", "bot_status"}
