"""Close a bot's position, force-exit any position, cancel orders: through the command service, with the
same confirmation rule (live waits), nothing sent on a refusal, and the protective exit taken care of."""

from decimal import Decimal as D

import pytest

from bots.models import Bot, BotEvent, Order, PnLSnapshot, Position
from bots.tests.factories import make_account, make_bot
from commands.definitions import CancelOrders, ClosePosition, ForceExit, PlaceOrder
from commands.models import Activity
from commands.service import Outcome, confirm, submit
from commands.tests.conftest import replay_bot_with_position
from exchanges.models import ExchangeAccount, SimOrder

pytestmark = pytest.mark.django_db


def test_closing_a_replay_bots_position_runs_at_once_and_cancels_its_bracket_first(alice, paper):
    bot = replay_bot_with_position(alice, paper)
    position = Position.objects.get(bot=bot, status="open")
    bracket = Order.objects.get(bot=bot, type="bracket")
    assert bracket.status == "open"
    outcome = submit(alice, ClosePosition(bot_id=bot.pk, stop_bot=True), door="web", source_text="button")
    assert outcome.done, outcome.message
    from bots.ledger import shown

    assert outcome.sentence.startswith(f"Stop bot replay rsi (replay), then sell {shown(position.quantity)} BTC")
    bot.refresh_from_db()
    assert bot.status == "stopped"
    bracket.refresh_from_db()
    assert bracket.status == "canceled"
    position.refresh_from_db()
    assert position.status == "closed" and position.exit_reason == "close_position"
    sell = Order.objects.get(client_order_id=f"tc{outcome.activity_id}-x")
    assert sell.status == "closed" and sell.filled == position.entry_quantity and sell.reason == "close_position"
    # Filled at the open of the candle in progress on the bot's replay clock, as a tick's exit would be.
    assert SimOrder.objects.get(client_order_id=sell.client_order_id).wallet.key == bot.wallet_key
    assert BotEvent.objects.filter(bot=bot, kind="order", source="web", actor=alice).exists()
    last = PnLSnapshot.objects.filter(bot=bot).order_by("-id").first()
    assert last.unrealised == 0 and last.realised == position.realised_pnl
    again = submit(alice, ClosePosition(bot_id=bot.pk), door="web")
    assert again.code == "no_position" and Order.objects.filter(bot=bot).count() == 3


def test_a_live_bots_close_waits_for_confirmation_and_refuses_if_the_position_changed(alice, live, fake):
    bot = make_bot(alice, account=live, name="live bot", mode=Bot.Mode.LIVE)
    position = Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.5"), entry_quantity=D("0.5"),
                                       average_entry=D("19000"), cost=D("9509.5"), opened_at="2026-01-01T00:00Z")
    pending = submit(alice, ClosePosition(bot_id=bot.pk), door="web")
    assert pending.needs_confirmation and "Sell 0.5 BTC, the whole position of bot live bot (live)" in pending.sentence
    assert fake.orders == []
    Position.objects.filter(pk=position.pk).update(quantity=D("0.4"))
    changed = confirm(alice, pending.pending_id, door="web")
    assert changed.code == "position_changed" and fake.orders == []
    Position.objects.filter(pk=position.pk).update(quantity=D("0.5"))
    pending = submit(alice, ClosePosition(bot_id=bot.pk), door="web")
    done = confirm(alice, pending.pending_id, door="web")
    assert done.done, done.message
    assert len(fake.orders) == 1 and fake.orders[0]["side"] == "SELL" and fake.orders[0]["origQty"] == "0.50000000"
    position.refresh_from_db()
    assert position.status == "closed" and position.realised_pnl > 0


def test_force_exit_of_a_manual_position(alice, paper, fake):
    bought = submit(alice, PlaceOrder(account_id=str(paper.pk), symbol="BTC/USDT", side="buy", amount="0.02"),
                    door="web")
    assert bought.done, bought.message
    position = Position.objects.get(status="open")
    outcome = submit(alice, ForceExit(position_id=position.pk), door="web")
    assert outcome.done and outcome.message.startswith("Sold 0.02 BTC"), outcome.message
    position.refresh_from_db()
    assert position.status == "closed" and position.exit_reason == "force_exit"


@pytest.mark.parametrize("make, code", [
    (lambda alice, bob, bot: ClosePosition(bot_id=bot.pk + 1000), "not_found"),
    (lambda alice, bob, bot: ClosePosition(bot_id=make_bot(bob, name="bob's").pk), "not_found"),
    (lambda alice, bob, bot: ClosePosition(bot_id=bot.pk), "account_halted"),
    (lambda alice, bob, bot: ForceExit(position_id=999_999), "not_found"),
])
def test_close_refusals_send_nothing(alice, bob, live, fake, make, code):
    bot = make_bot(alice, account=live, name="live bot", mode=Bot.Mode.LIVE)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.5"), entry_quantity=D("0.5"),
                            opened_at="2026-01-01T00:00Z")
    ExchangeAccount.objects.filter(pk=live.pk).update(status=ExchangeAccount.Status.INVALID)
    outcome = submit(alice, make(alice, bob, bot), door="web")
    assert outcome.code == code, outcome
    assert fake.requests == [] and Order.objects.count() == 0


def limit_order(alice, live, price="19000"):
    pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.01",
                                       order_type="limit", price=price), door="web")
    assert confirm(alice, pending.pending_id, door="web").done
    return Order.objects.order_by("-pk").first()


def test_cancel_one_order_on_a_live_account_after_confirmation(alice, live, fake):
    order = limit_order(alice, live)
    pending = submit(alice, CancelOrders(order_id=order.pk), door="web")
    assert pending.needs_confirmation and "Cancel 1 open order(s): buy 0.01 BTC/USDT limit @ 19000" in pending.sentence
    assert fake.orders[0]["status"] == "NEW"
    done = confirm(alice, pending.pending_id, door="web")
    assert done.done and done.result["canceled"] == [order.client_order_id], done
    assert fake.orders[0]["status"] == "CANCELED"
    order.refresh_from_db()
    assert order.status == "canceled"
    again = submit(alice, CancelOrders(order_id=order.pk), door="web")
    assert again.code == "not_open"


def test_cancel_all_orders_of_an_account_and_of_a_symbol(alice, live, fake):
    first, second = limit_order(alice, live, "19000"), limit_order(alice, live, "18000")
    pending = submit(alice, CancelOrders(account_id=str(live.pk), symbol="BTC/USDT"), door="web")
    assert "Cancel 2 open order(s)" in pending.sentence
    # A new order placed before the confirmation is not canceled: the confirmation cancels what was shown.
    third = limit_order(alice, live, "17000")
    assert confirm(alice, pending.pending_id, door="web").done
    assert [o.status for o in Order.objects.filter(pk__in=[first.pk, second.pk, third.pk]).order_by("pk")] == [
        "canceled", "canceled", "open"]
    assert submit(alice, CancelOrders(symbol="ETH/USDT"), door="web").code == "no_open_orders"


def test_a_protective_bracket_is_not_cancelled_by_hand(alice, paper):
    bot = replay_bot_with_position(alice, paper)
    bracket = Order.objects.get(bot=bot, type="bracket")
    assert submit(alice, CancelOrders(order_id=bracket.pk), door="web").code == "protective_order"
    assert submit(alice, CancelOrders(bot_id=bot.pk), door="web").code == "no_open_orders"
    bracket.refresh_from_db()
    assert bracket.status == "open"


def test_someone_elses_orders_are_not_found(alice, bob, live, fake):
    order = limit_order(alice, live)
    for command in (CancelOrders(order_id=order.pk), CancelOrders(bot_id=order.bot_id),
                    CancelOrders(account_id=str(live.pk))):
        outcome = submit(bob, command, door="web")
        assert outcome.code == "not_found", command
    assert submit(bob, CancelOrders(symbol="BTC/USDT"), door="web").code == "no_open_orders"
    order.refresh_from_db()
    assert order.status == "open" and fake.orders[0]["status"] == "NEW"
    assert Activity.objects.filter(owner=bob, status="refused").count() == 4


def test_a_testnet_account_also_waits_for_confirmation(alice, fake):
    testnet = make_account(alice, label="Testnet", mode=ExchangeAccount.Mode.TESTNET)
    testnet.api_key, testnet.api_secret = fake.api_key, fake.api_secret
    testnet.save()
    outcome = submit(alice, PlaceOrder(account_id=str(testnet.pk), symbol="BTC/USDT", side="buy", amount="0.01"),
                     door="web")
    assert outcome.status == Outcome.NEEDS_CONFIRMATION, outcome.message
    assert Order.objects.count() == 0
