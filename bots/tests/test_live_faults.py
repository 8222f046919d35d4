"""A live bot's tick under a slow or failing exchange (the real ccxt client against the fake Binance, whose
switches inject each fault): no duplicate order, no lost order, the position equal to the exchange's, and
an event on the bot page that says what happened."""

import math
import time
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from bots import tick
from bots.models import Bot, BotEvent, Order, Position
from bots.tests.factories import make_user
from bots.tests.test_tick import BUYS, SELLS, live_bot, show_history_until
from exchanges import rate_limits
from tests.fake_exchange import FakeExchange

pytestmark = pytest.mark.django_db
FAST_CLIENT = {"retries": 2, "backoff": 0.05, "timeout": 0.5}


@pytest.fixture
def fake(settings):
    server = FakeExchange().start()
    server.hidden_for = 1.0
    settings.CCXT_URL_OVERRIDES = {"binance": server.url}
    settings.BOT_EXCHANGE_CLIENT_OPTIONS = FAST_CLIENT
    tick.clear_candle_cache()
    tick._markets.clear()
    yield server
    server.stop()
    tick.clear_candle_cache()
    tick._markets.clear()


def bot_orders(fake, bot) -> list[dict]:
    return [o for o in fake.orders if o["clientOrderId"].startswith(f"tb{bot.pk}-")]


def exchange_position(fake, bot) -> D:
    """What the exchange's fills of this bot's orders add up to (net of fees taken in the coin)."""
    held = D("0")
    for o in bot_orders(fake, bot):
        for fill in o["_fills"]:
            qty = D(fill["qty"]) - (D(fill["commission"]) if fill["commissionAsset"] == "BTC" else 0)
            held += qty if o["side"] == "BUY" else -D(fill["qty"])
    return held


def ledger_position(bot) -> D:
    position = Position.objects.filter(bot=bot, status="open").first()
    return position.quantity if position else D("0")


def retick(bot) -> tick.TickResult:
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=None)
    return tick.tick_bot(bot.pk)


def page_text(client, bot) -> str:
    client.force_login(bot.owner)
    return client.get(reverse("bots:detail", args=[bot.pk])).content.decode()


def accepted_then_invisible(fake, answer: str, hidden_for: float) -> tuple[Bot, Order]:
    """A BUY whose answer is lost (`answer`: 502 or timeout) and which lookups do not show for a while."""
    fake.hidden_for = hidden_for
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject(answer)
    fake.inject("hidden")
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "retry", result
    order = Order.objects.get(bot=bot)
    assert order.status == "unknown" and order.sent_at is not None
    assert len(bot_orders(fake, bot)) == 1
    bot.refresh_from_db()
    assert bot.status == "running" and bot.next_tick_at <= timezone.now() + timedelta(seconds=tick.SETTLE_RETRY + 1)
    return bot, order


def settles_without_a_duplicate(fake, bot, order, client) -> None:
    # Ticks while the exchange still does not show it: nothing else is sent.
    again = retick(bot)
    assert again.outcome == "retry" and again.orders == []
    assert len(bot_orders(fake, bot)) == 1 and len(fake.private_requests("/order", "POST")) == 1
    if math.isinf(fake.hidden_for):
        fake.reveal()
    else:
        visible_at = max(o["_visible_at"] for o in bot_orders(fake, bot))
        time.sleep(max(0.0, visible_at - time.time()) + 0.1)
    done = retick(bot)
    assert done.outcome == "ticked", done
    order.refresh_from_db()
    assert order.status == "closed" and order.filled > 0
    assert len(bot_orders(fake, bot)) == 1 and len(fake.private_requests("/order", "POST")) == 1
    assert ledger_position(bot) == exchange_position(fake, bot) == order.filled
    assert BotEvent.objects.filter(bot=bot, kind="reconcile", message__contains="found on the exchange").exists()
    assert "looked up by its client order id" in page_text(client, bot)


@pytest.mark.parametrize("answer", ["502", "timeout"])
def test_accepted_then_not_found_for_a_second_is_never_doubled_nor_refused(fake, client, answer):
    bot, order = accepted_then_invisible(fake, answer, hidden_for=math.inf)
    settles_without_a_duplicate(fake, bot, order, client)


@pytest.mark.slow
def test_accepted_then_not_found_for_five_seconds(fake, client):
    bot, order = accepted_then_invisible(fake, "502", hidden_for=5.0)
    settles_without_a_duplicate(fake, bot, order, client)


def test_on_an_exchange_that_allows_duplicate_ids_the_order_is_still_sent_once(fake, client):
    fake.duplicates = "allow"
    bot, order = accepted_then_invisible(fake, "timeout", hidden_for=math.inf)
    settles_without_a_duplicate(fake, bot, order, client)


def test_where_duplicates_are_refused_the_same_id_is_resent_and_duplicate_means_it_exists(fake, settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"refuses_duplicates": True}}
    fake.hidden_for = math.inf
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("502")
    fake.inject("hidden")
    assert tick.tick_bot(bot.pk).outcome == "retry"
    order = Order.objects.get(bot=bot)
    assert order.status == "unknown", "a 'Duplicate order sent' is never booked as refused"
    assert len(fake.private_requests("/order", "POST")) == 2 and len(bot_orders(fake, bot)) == 1
    fake.reveal()
    assert retick(bot).outcome == "ticked"
    order.refresh_from_db()
    assert order.status == "closed" and ledger_position(bot) == exchange_position(fake, bot) > 0


def test_an_order_the_exchange_never_shows_is_lost_after_the_window_with_an_alert(fake, settings, client):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"lookup_window": 1.0}}
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("unreachable")  # the order request: it may have reached the exchange; it did not
    assert tick.tick_bot(bot.pk).outcome == "retry"
    order = Order.objects.get(bot=bot)
    assert order.status == "unknown" and bot_orders(fake, bot) == []
    assert retick(bot).outcome == "retry"  # within the window: still unknown
    time.sleep(1.1)
    result = retick(bot)
    order.refresh_from_db()
    assert order.status == "lost" and "not sent again" in order.error
    assert result.orders == [] and bot_orders(fake, bot) == [] and ledger_position(bot) == 0
    alert = BotEvent.objects.get(bot=bot, kind="error", data__lost=True)
    assert "marked lost" in alert.message and alert.data["error"]
    assert "marked lost" in page_text(client, bot)
    # Never resent, on this candle or later.
    assert retick(bot).orders == [] and bot_orders(fake, bot) == []


def test_429_pauses_the_bot_until_retry_after_and_sends_nothing_meanwhile(fake, client):
    fake.retry_after = 60
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("429")
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "retry"
    bot.refresh_from_db()
    assert bot.status == "running" and bot.next_tick_at >= timezone.now() + timedelta(seconds=55)
    seen = len(fake.requests)
    other = live_bot(fake, owner=make_user("bob"))  # another bot on the same exchange: paused too, no request
    assert retick(other).outcome == "retry" and retick(bot).outcome == "retry"
    assert len(fake.requests) == seen and fake.orders == []
    event = BotEvent.objects.filter(bot=bot, kind="error", data__temporary=True).last()
    assert "paused until" in event.message and event.data["paused_until"]
    assert "paused until" in page_text(client, bot)
    rate_limits.clear(tick.client_for_bot(bot).pause_key)
    assert retick(bot).outcome == "ticked" and len(bot_orders(fake, bot)) == 1


def test_418_ban_no_request_until_it_ends(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.ban(300)
    assert tick.tick_bot(bot.pk).outcome == "retry"
    for _ in range(3):
        assert retick(bot).outcome == "retry"
    assert len(fake.requests) == 1, "one request, then nothing during the ban"
    bot.refresh_from_db()
    assert bot.next_tick_at >= timezone.now() + timedelta(seconds=290)
    assert BotEvent.objects.filter(bot=bot, message__contains="banned").exists()


def test_partial_fill_books_what_filled_and_the_sell_sells_it(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("partial_fill")
    tick.tick_bot(bot.pk)
    order = Order.objects.get(bot=bot)
    assert order.status == "expired" and 0 < order.filled < order.amount
    assert ledger_position(bot) == exchange_position(fake, bot) == order.filled
    sell_at = next(i for i in SELLS if i > BUYS[0])
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    show_history_until(fake, sell_at)
    tick.clear_candle_cache()
    assert retick(bot).signal == "SELL"
    # Half of the order is not a whole number of amount steps: what is below one step stays as dust,
    # recorded on the closed position, and nothing is left open to block the next signal.
    position = Position.objects.get(bot=bot)
    assert position.status == "closed" and ledger_position(bot) == 0
    assert position.dust == exchange_position(fake, bot) < D("0.00001")
    assert fake.balances["BTC"]["free"] == D("1") + position.dust
    assert Bot.objects.get(pk=bot.pk).status == "running"


def test_fees_in_the_base_coin_the_ledger_holds_what_the_account_holds_and_the_exit_sells_it(fake, client):
    fake.fee_in_base = True
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)
    buy = Order.objects.get(bot=bot)
    fill = buy.fills.get()
    assert buy.fee_currency == "BTC" and fill.base_fee == buy.fee > 0
    assert ledger_position(bot) == exchange_position(fake, bot) == buy.filled - buy.fee
    assert fake.balances["BTC"]["free"] - D("1") == ledger_position(bot)

    sell_at = next(i for i in SELLS if i > BUYS[0])
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    show_history_until(fake, sell_at)
    tick.clear_candle_cache()
    result = retick(bot)
    assert result.outcome == "ticked" and result.signal == "SELL", result
    sell = Order.objects.get(bot=bot, side="sell")
    assert sell.status == "closed" and sell.filled == sell.filled.quantize(D("0.00001"))
    position = Position.objects.get(bot=bot)
    assert position.status == "closed" and position.dust == buy.filled - buy.fee - sell.filled
    assert D("0") <= position.dust < D("0.00001")
    assert fake.balances["BTC"]["free"] == D("1") + position.dust  # the dust is what the account kept
    assert Bot.objects.get(pk=bot.pk).status == "running"
    assert "dust" in page_text(client, bot)
    # The dust blocks nothing: the next BUY enters again. (The test's candles are re-timed to the same wall
    # clock candle, whose client order id the first BUY has: give that one an earlier candle's id.)
    fake.orders[0]["clientOrderId"] = f"tb{bot.pk}-1-b"
    Order.objects.filter(pk=buy.pk).update(client_order_id=f"tb{bot.pk}-1-b")
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    show_history_until(fake, next(i for i in BUYS if i > sell_at))
    tick.clear_candle_cache()
    again = retick(bot)
    assert again.signal == "BUY" and len(again.orders) == 1
    assert ledger_position(bot) == fake.balances["BTC"]["free"] - D("1") - position.dust > 0


def test_a_position_left_below_one_step_does_not_block_the_next_buy(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("0.000004"), entry_quantity=D("0.000004"),
                            cost=D("0.08"), opened_at=timezone.now() - timedelta(hours=1))
    result = tick.tick_bot(bot.pk)
    assert result.signal == "BUY" and len(result.orders) == 1
    assert Position.objects.get(bot=bot, status="closed").dust == D("0.000004")



def test_reconciliation_adopts_an_unknown_open_order_and_marks_a_vanished_one_lost(fake, settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"lookup_window": 0.0}}
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    client = tick.client_for_bot(bot)
    # On the exchange, not in the ledger (e.g. the database restored from an older backup).
    client.create_order("BTC/USDT", "buy", "limit", D("0.001"), D("1000"), client_order_id=f"tb{bot.pk}-7-b")
    # In the ledger as open, unknown to the exchange.
    Order.objects.create(bot=bot, client_order_id=f"tb{bot.pk}-8-s", symbol="BTC/USDT", side="sell", amount=1,
                         type="limit", price=D("90000"), status="open", candle_at=timezone.now(),
                         sent_at=timezone.now() - timedelta(minutes=5))
    tick.tick_bot(bot.pk)
    adopted = Order.objects.get(client_order_id=f"tb{bot.pk}-7-b")
    assert adopted.status == "open" and adopted.reason == "imported"
    assert BotEvent.objects.filter(bot=bot, data__adopted=True, message__contains="adopted").exists()
    assert Order.objects.get(client_order_id=f"tb{bot.pk}-8-s").status == "lost"
    assert BotEvent.objects.filter(bot=bot, kind="error", data__lost=True).exists()


def test_a_live_bot_reconciles_again_every_n_minutes(fake, settings):
    settings.RECONCILE_EVERY_MINUTES = 15
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)
    bot.refresh_from_db()
    assert bot.reconciled_at is not None and not bot.needs_reconcile
    count = BotEvent.objects.filter(bot=bot, message__startswith="Reconciled").count()
    retick(bot)  # same candle, minutes later: no new reconciliation
    assert BotEvent.objects.filter(bot=bot, message__startswith="Reconciled").count() == count
    Bot.objects.filter(pk=bot.pk).update(reconciled_at=timezone.now() - timedelta(minutes=16))
    retick(bot)
    assert BotEvent.objects.filter(bot=bot, message__startswith="Reconciled").count() == count + 1


def test_two_live_bots_on_one_account_and_one_coin_are_refused_at_start(fake):
    from bots import control
    from bots.tests.factories import make_bot

    first = live_bot(fake)
    second = make_bot(first.owner, name="second", account=first.exchange_account, mode=Bot.Mode.LIVE,
                      symbol="BTC/USDT", status=Bot.Status.STOPPED)
    with pytest.raises(control.BotControlError, match="would sell each other's coins"):
        control.start_bot(second)
    assert Bot.objects.get(pk=second.pk).status == "stopped"
    other_coin = make_bot(first.owner, name="eth", account=first.exchange_account, mode=Bot.Mode.LIVE,
                          symbol="ETH/USDT", status=Bot.Status.STOPPED)
    assert control.start_bot(other_coin).status == "running"


# --- protective stops on the exchange ---

def entered_with_a_stop(fake, **fields) -> tuple[Bot, Order, dict]:
    bot = live_bot(fake, stop_loss_pct=D("0.02"), **fields)
    show_history_until(fake, BUYS[0])
    result = tick.tick_bot(bot.pk)
    assert result.signal == "BUY" and len(result.orders) == 1
    buy = Order.objects.get(bot=bot, side="buy")
    stops = [o for o in bot_orders(fake, bot) if o["type"] in ("STOP_LOSS_LIMIT", "STOP_LOSS")]
    assert len(stops) == 1, bot_orders(fake, bot)
    return bot, buy, stops[0]


def test_a_live_entry_gets_its_stop_limit_on_the_exchange(fake, client):
    bot, buy, stop = entered_with_a_stop(fake)
    assert stop["type"] == "STOP_LOSS_LIMIT" and stop["side"] == "SELL" and stop["status"] == "NEW"
    expected = (buy.average * D("0.98")).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert D(stop["stopPrice"]) == expected and D(stop["price"]) < expected
    assert D(stop["origQty"]) == buy.filled and fake.balances["BTC"]["locked"] == buy.filled
    booked = Order.objects.get(bot=bot, type="stop_limit")
    assert booked.status == "open" and booked.client_order_id == stop["clientOrderId"]
    assert "Stop-loss on the exchange" in page_text(client, bot)


def test_the_exchange_stop_fills_while_no_worker_runs_and_the_next_tick_books_it(fake):
    bot, buy, stop = entered_with_a_stop(fake)
    # The worker is down; the price falls through the stop: the exchange sells by itself.
    fake.set_price("BTC/USDT", str(D(stop["stopPrice"]) - 1))
    assert stop["status"] == "FILLED" and fake.balances["BTC"]["free"] == D("1")
    result = retick(bot)
    assert result.outcome in ("ticked", "waiting") and result.orders == []
    position = Position.objects.get(bot=bot)
    assert position.status == "closed" and position.exit_reason == "stop_loss"
    sell = Order.objects.get(bot=bot, type="stop_limit")
    assert sell.status == "closed" and sell.filled == D(stop["executedQty"])
    assert sell.fills.get().price == D(stop["_fills"][0]["price"])  # booked from the exchange's fill
    assert BotEvent.objects.filter(bot=bot, message__contains="filled on the exchange").exists()
    # Never a stop again for the closed position, and no second sell.
    retick(bot)
    assert len(bot_orders(fake, bot)) == 2 and ledger_position(bot) == exchange_position(fake, bot) == 0


def test_a_stop_canceled_by_hand_is_placed_again_and_reported(fake):
    bot, buy, stop = entered_with_a_stop(fake)
    with fake.lock:  # the user cancels it on the exchange's website
        stop["status"] = "CANCELED"
        fake.balances["BTC"]["locked"] -= stop["_locked"]
        fake.balances["BTC"]["free"] += stop["_locked"]
        stop["_locked"] = D(0)
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=None)
    tick.tick_bot(bot.pk)
    assert BotEvent.objects.filter(bot=bot, message__contains="canceled on the exchange").exists()
    live_stops = [o for o in bot_orders(fake, bot) if o["type"] == "STOP_LOSS_LIMIT" and o["status"] == "NEW"]
    assert len(live_stops) == 1 and live_stops[0]["clientOrderId"] != stop["clientOrderId"]


def test_a_sell_signal_cancels_the_stop_first_then_sells_what_is_held(fake):
    bot, buy, stop = entered_with_a_stop(fake)
    sell_at = next(i for i in SELLS if i > BUYS[0])
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    show_history_until(fake, sell_at)
    tick.clear_candle_cache()
    result = retick(bot)
    assert result.signal == "SELL" and len(result.orders) == 1
    assert stop["status"] == "CANCELED"
    assert Order.objects.get(bot=bot, type="stop_limit").status == "canceled"
    position = Position.objects.get(bot=bot)
    assert position.status == "closed" and position.exit_reason == "signal"
    assert fake.balances["BTC"] == {"free": D("1"), "locked": D("0")}


def test_stop_market_where_the_exchange_has_only_that(fake, settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"stop_orders": ["stop_market"]}}
    bot, buy, stop = entered_with_a_stop(fake)
    assert stop["type"] == "STOP_LOSS" and Order.objects.get(bot=bot, type="stop_market").status == "open"


def test_without_exchange_stops_the_candle_check_stays_and_the_page_says_so(fake, settings, client):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"stop_orders": []}}
    bot = live_bot(fake, stop_loss_pct=D("0.02"))
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)
    assert [o["type"] for o in bot_orders(fake, bot)] == ["MARKET"]
    assert "checks the stop-loss on each closed candle" in page_text(client, bot)


def test_clock_skew_resynchronises_and_the_tick_trades_once(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("clock_skew", times=1)
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "ticked" and len(result.orders) == 1 and len(bot_orders(fake, bot)) == 1
    assert ledger_position(bot) == exchange_position(fake, bot) > 0


def test_an_auth_error_stops_the_bot_with_a_clear_event_and_sends_nothing(fake, client):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("auth")
    assert tick.tick_bot(bot.pk).outcome == "error"
    assert Bot.objects.get(pk=bot.pk).status == "error" and fake.orders == []
    assert "rejected the API keys" in page_text(client, bot)


def test_a_stop_the_exchange_refuses_as_invalid_exits_at_market(fake, settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"stop_orders": []}}
    bot = live_bot(fake, stop_loss_pct=D("0.02"))
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)  # entered; this exchange "has" no stops: none placed
    position = Position.objects.get(bot=bot, status="open")
    settings.EXCHANGE_CAPABILITIES = {"binance": {"stop_orders": ["stop_limit"]}}
    fake.set_price("BTC/USDT", str((position.average_entry * D("0.97")).quantize(D("0.01"))))
    retick(bot)  # the stop would trigger immediately: refused, so the position is sold at market
    position.refresh_from_db()
    assert position.status == "closed" and position.exit_reason == "stop_loss"
    assert BotEvent.objects.filter(bot=bot, message__contains="sold at market").exists()
    assert ledger_position(bot) == exchange_position(fake, bot) == 0
    assert Bot.objects.get(pk=bot.pk).status == "running"


def test_a_trailing_stop_moves_the_exchange_stop_up_at_most_once_a_minute(fake):
    from bots.tests.test_tick import ROWS, STEP_MS, last_closed_ms

    bot, buy, stop = entered_with_a_stop(fake, trailing_stop_pct=D("0.01"))
    entry = float(buy.average)
    shift = last_closed_ms() - int(ROWS[BUYS[0]][0])
    rows = [[int(r[0]) + shift - STEP_MS, *r[1:]] for r in ROWS[: BUYS[0] + 1]]
    rows.append([last_closed_ms(), entry * 1.03, entry * 1.05, entry * 1.03, entry * 1.045, 10.0])
    fake.set_candles("BTC/USDT", "5m", rows)
    fake.set_price("BTC/USDT", str(round(entry * 1.045, 2)))
    Position.objects.filter(bot=bot).update(opened_at=timezone.now() - timedelta(minutes=10))
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    tick.clear_candle_cache()
    retick(bot)
    assert stop["status"] == "NEW", "not moved within a minute of placing it"
    Order.objects.filter(bot=bot, type="stop_limit").update(sent_at=timezone.now() - timedelta(minutes=2))
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    tick.clear_candle_cache()
    retick(bot)
    assert stop["status"] == "CANCELED"
    live_stops = [o for o in bot_orders(fake, bot) if o["type"] == "STOP_LOSS_LIMIT" and o["status"] == "NEW"]
    assert len(live_stops) == 1
    expected = (D(repr(entry * 1.05 * 0.99))).quantize(D("0.01"), rounding="ROUND_DOWN")
    assert abs(D(live_stops[0]["stopPrice"]) - expected) <= D("0.01")
    assert BotEvent.objects.filter(bot=bot, message__startswith="Trailing stop").count() == 1
    assert Position.objects.get(bot=bot).status == "open" and fake.balances["BTC"]["locked"] == buy.filled


def test_an_unknown_order_during_a_ban_is_asked_for_after_the_ban(fake):
    bot, order = accepted_then_invisible(fake, "502", hidden_for=math.inf)
    fake.ban(120)
    assert retick(bot).outcome == "retry"
    bot.refresh_from_db()
    assert bot.next_tick_at >= timezone.now() + timedelta(seconds=100)
    assert Order.objects.get(pk=order.pk).status == "unknown" and len(bot_orders(fake, bot)) == 1


def test_closing_a_live_position_by_hand_cancels_its_exchange_stop_first(fake):
    from commands.definitions import ClosePosition
    from commands.service import confirm, submit

    bot, buy, stop = entered_with_a_stop(fake)
    pending = submit(bot.owner, ClosePosition(bot_id=bot.pk), door="web")
    outcome = confirm(bot.owner, pending.pending_id, door="web") if pending.needs_confirmation else pending
    assert outcome.status == "done", outcome
    assert stop["status"] == "CANCELED" and Order.objects.get(bot=bot, type="stop_limit").status == "canceled"
    assert Position.objects.get(bot=bot).status == "closed"
    assert fake.balances["BTC"] == {"free": D("1"), "locked": D("0")}
