"""Manual orders through the command service: the real ccxt client against the fake Binance (live), and the
paper exchange at the fake's public prices. Success, every refusal (with nothing sent or booked), units,
precision, the risk rules, and that the ledger and the dashboard count manual trades but no bot does."""

from decimal import Decimal as D

import pytest

from bots import live as bots_live
from bots.models import Bot, Fill, Order, PnLSnapshot, Position
from bots.tests.factories import make_account, make_bot
from commands.definitions import PlaceOrder
from commands.models import Activity, ManualLimits, TradingPreferences
from commands.service import Outcome, submit
from commands.tests.conftest import paper_balances
from exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db


def order(account, **fields) -> PlaceOrder:
    fields.setdefault("symbol", "BTC/USDT")
    fields.setdefault("side", "buy")
    return PlaceOrder(account_id=str(account.pk), **fields)


def nothing_booked():
    assert Order.objects.count() == 0 and Fill.objects.count() == 0 and Position.objects.count() == 0


def test_paper_buy_in_quote_units_runs_at_once_and_is_booked_in_the_manual_book(alice, paper, fake):
    outcome = submit(alice, order(paper, amount="1000", unit="quote"), door="web", source_text="ticket")
    assert outcome.status == Outcome.DONE, outcome.message
    ask = D("20000") * (1 + D("0.0001"))  # the fake's ask: last plus half the spread
    # 1000 USDT with the fee out of it, rounded down to the market's step of 0.00001 BTC.
    assert "Buy 0.04994 BTC at market on Paper (binance, paper), about" in outcome.sentence
    assert outcome.message.startswith("Bought 0.04994 BTC at 20,002.00 USDT")
    book = Bot.objects.get(kind=Bot.Kind.MANUAL)
    assert (book.exchange_account, book.symbol, book.owner, book.strategy) == (paper, "BTC/USDT", alice, None)
    placed = Order.objects.get()
    assert placed.bot == book and placed.client_order_id == f"tc{outcome.activity_id}-b"
    # The simulated fill's price comes back through float arithmetic: equal to 1e-12.
    assert placed.status == "closed" and placed.filled == D("0.04994") and abs(placed.average - ask) < D("1e-8")
    position = Position.objects.get(bot=book, status="open")
    assert position.quantity == D("0.04994")
    wallet = paper_balances(paper)
    assert wallet["BTC"] == D("0.04994")
    assert abs(wallet["USDT"] - (D("10000") - D("0.04994") * ask * D("1.001"))) < D("1e-8")
    assert fake.orders == []  # paper: simulated fills, nothing sent to the exchange
    activity = Activity.objects.get(pk=outcome.activity_id)
    assert (activity.status, activity.door, activity.command, activity.text) == ("done", "web", "place_order", "ticket")
    assert activity.payload["amount"] == "0.04994" and activity.payload["unit"] == "base"
    assert PnLSnapshot.objects.filter(bot=book).exists()


def test_manual_trades_count_in_the_dashboard_totals_but_in_no_bots_pnl(alice, paper, fake):
    bot = make_bot(alice, account=paper, name="rsi")
    PnLSnapshot.objects.create(bot=bot, time="2026-01-01T00:00Z", equity=D("10100"), realised=D("100"),
                               unrealised=0)
    submit(alice, order(paper, amount="1000", unit="quote"), door="web")
    fake.set_price("BTC/USDT", "22000")
    outcome = submit(alice, order(paper, side="sell", amount="100", unit="percent"), door="web")
    assert outcome.done, outcome.message
    book = Bot.objects.get(kind=Bot.Kind.MANUAL)
    closed = Position.objects.get(bot=book)
    assert closed.status == "closed" and closed.realised_pnl > D("90")
    totals = bots_live.dashboard_totals(alice)["totals"][0]
    manual = PnLSnapshot.objects.filter(bot=book).order_by("-id").first().equity
    assert manual == closed.realised_pnl
    assert totals["pnl"] == D("100") + manual and totals["manual_pnl"] == manual
    assert totals["equity"] == D("10100") and [b.pk for b in totals["bots"]] == [bot.pk]
    assert bots_live.bot_money(bot)["total_pnl"] == D("100")  # the bot's own P&L: its trades only
    page = bots_live.render_dashboard_fragments(bot)
    assert "of which manual trades" in page


def test_live_buy_waits_for_confirmation_and_runs_once(alice, live, fake):
    outcome = submit(alice, order(live, amount="0.01"), door="web")
    assert outcome.needs_confirmation and outcome.pending_id and outcome.expires_at
    assert outcome.sentence == "Buy 0.01 BTC at market on Binance (binance, live), about 200.02 USDT?"
    assert fake.orders == [] and Order.objects.count() == 0
    from commands.service import confirm

    done = confirm(alice, outcome.pending_id, door="telegram")
    assert done.done, done.message
    assert len(fake.orders) == 1 and fake.orders[0]["origQty"] == "0.01000000"
    assert fake.balances["BTC"]["free"] == D("1.01")
    assert Order.objects.get().status == "closed" and Position.objects.get().quantity == D("0.01")
    activity = Activity.objects.get(pk=outcome.activity_id)
    assert activity.status == "done" and activity.confirmed_door == "telegram" and activity.door == "web"
    again = confirm(alice, outcome.pending_id, door="web")
    assert again.status == Outcome.REFUSED and again.code == "already_done"
    assert len(fake.orders) == 1 and Order.objects.count() == 1


@pytest.mark.parametrize("fields, code, words", [
    ({"symbol": "DOGE/USDT", "amount": "1"}, "unknown_symbol", "binance has no market DOGE/USDT"),
    ({"amount": "0.000001"}, "below_minimum", "below the smallest order"),
    ({"amount": "5"}, "insufficient_funds", "Not enough USDT"),
    ({"side": "sell", "amount": "2"}, "insufficient_funds", "Not enough BTC"),
    ({"amount": "0.2"}, "risk_max_position", "max_position"),
    ({"amount": "150", "unit": "percent"}, "invalid", "at most 100"),
    ({"amount": "-1"}, "invalid", "positive number"),
    ({"amount": "1", "order_type": "limit"}, "missing", "price is required"),
    ({"amount": "1", "side": "hold"}, "invalid", "side must be one of buy, sell"),
    ({"amount": "1", "symbol": "BTCUSDT"}, "invalid", "BASE/QUOTE"),
])
def test_refusals_say_why_and_send_and_book_nothing(alice, live, fake, fields, code, words):
    outcome = submit(alice, order(live, **fields), door="api", source_text=str(fields))
    assert outcome.status == Outcome.REFUSED and outcome.code == code and words in outcome.message, outcome
    assert fake.private_requests("/order", "POST") == []
    nothing_booked()
    assert Activity.objects.get(pk=outcome.activity_id).status == "refused"


def test_someone_elses_account_is_not_found_and_untouched(alice, bob, fake):
    bobs = make_account(bob, label="Bob's", mode=ExchangeAccount.Mode.LIVE)
    outcome = submit(alice, order(bobs, amount="0.01"), door="web")
    assert outcome.code == "not_found" and outcome.message == "No such exchange account."
    assert fake.requests == [] and not Bot.objects.exists()
    nothing_booked()


def test_an_account_with_rejected_keys_is_halted_for_every_order(alice, live, fake):
    ExchangeAccount.objects.filter(pk=live.pk).update(status=ExchangeAccount.Status.INVALID)
    for side in ("buy", "sell"):
        outcome = submit(alice, order(live, side=side, amount="0.01"), door="web")
        assert outcome.code == "account_halted" and "rejected keys" in outcome.message
    assert fake.requests == []
    nothing_booked()


def test_daily_loss_halt_refuses_manual_buys_but_not_sells(alice, live, fake):
    assert submit(alice, order(live, amount="0.01"), door="command").needs_confirmation is True
    from commands.service import confirm

    TradingPreferences.objects.create(user=alice)
    first = submit(alice, order(live, amount="0.05"), door="command")
    assert confirm(alice, first.pending_id, door="command").done
    ManualLimits.objects.create(account=live, max_position_pct=D("1"), daily_loss_limit_pct=D("0.01"))
    fake.set_price("BTC/USDT", "10000")  # the manual position halves: a loss of 500 USDT on a ~20,500 account
    refused = submit(alice, order(live, amount="0.01"), door="command")
    assert refused.code == "risk_daily_loss" and "Daily loss" in refused.message
    sell = submit(alice, order(live, side="sell", amount="0.05"), door="command")
    assert sell.needs_confirmation  # exits are never refused by the loss rules
    assert confirm(alice, sell.pending_id, door="command").done
    assert Position.objects.get().status == "closed"


def test_percent_sell_on_a_live_account_leaves_the_bots_coins_alone(alice, live, fake):
    bot = make_bot(alice, account=live, name="live rsi", mode=Bot.Mode.LIVE)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.4"), entry_quantity=D("0.4"),
                            opened_at="2026-01-01T00:00Z")
    outcome = submit(alice, order(live, side="sell", amount="50", unit="percent"), door="web")
    # The account holds 1 BTC, of which the bot holds 0.4: half of the other 0.6.
    assert "Sell 0.3 BTC" in outcome.sentence


def test_limit_order_stays_open_and_a_repeated_request_id_sends_once(alice, live, fake):
    TradingPreferences.objects.create(user=alice)
    cmd = order(live, amount="0.01", order_type="limit", price="19000")
    first = submit(alice, cmd, door="web", idempotency_key="ticket:abc")
    again = submit(alice, cmd, door="web", idempotency_key="ticket:abc")
    assert first.activity_id == again.activity_id and again.needs_confirmation
    from commands.service import confirm

    done = confirm(alice, first.pending_id, door="web")
    assert done.done and "open" in done.message
    assert len(fake.orders) == 1 and fake.orders[0]["type"] == "LIMIT" and fake.orders[0]["price"] == "19000.00000000"
    assert Order.objects.get().status == "open" and not Position.objects.exists()
    fake.set_price("BTC/USDT", "18990")  # the fake fills the limit order; the ledger learns it on a cancel try
    assert submit(alice, cmd, door="web", idempotency_key="ticket:abc").activity_id == first.activity_id
    assert len(fake.orders) == 1


def test_confirmation_can_be_turned_on_for_paper(alice, paper, fake):
    TradingPreferences.objects.create(user=alice, confirm_simulated=True)
    outcome = submit(alice, order(paper, amount="100", unit="quote"), door="web")
    assert outcome.needs_confirmation and Order.objects.count() == 0


def test_expired_and_cancelled_confirmations_do_nothing(alice, live, fake):
    from datetime import timedelta

    from django.utils import timezone

    from commands.service import cancel_pending, confirm

    late = submit(alice, order(live, amount="0.01"), door="web")
    Activity.objects.filter(pk=late.activity_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = confirm(alice, late.pending_id, door="web")
    assert expired.code == "expired" and Activity.objects.get(pk=late.activity_id).status == "expired"
    dropped = submit(alice, order(live, amount="0.01"), door="web")
    assert cancel_pending(alice, dropped.pending_id, door="web").done
    assert confirm(alice, dropped.pending_id, door="web").code == "already_canceled"
    assert confirm(alice, "no-such-id", door="web").code == "not_found"
    assert fake.private_requests("/order", "POST") == []
    nothing_booked()


def test_another_user_cannot_confirm_a_pending_command(alice, bob, live, fake):
    from commands.service import confirm

    pending = submit(alice, order(live, amount="0.01"), door="web")
    assert confirm(bob, pending.pending_id, door="web").code == "not_found"
    assert Activity.objects.get(pk=pending.activity_id).status == "pending"
    assert fake.orders == []
