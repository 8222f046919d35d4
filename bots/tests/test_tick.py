"""bots.tick on a live bot: the real ccxt client against the fake Binance server (tests.fake_exchange)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest
from django.utils import timezone

from bots import scheduler, tick
from bots.models import Bot, BotEvent, Order, PnLSnapshot, Position
from bots.tests.factories import make_account, make_bot, make_user
from exchanges.models import ExchangeAccount
from strategies.registry import build_strategy
from tests.fake_exchange import DATA_DIR, FakeExchange, load_csv

pytestmark = pytest.mark.django_db
STEP_MS = 300_000
ROWS = load_csv(DATA_DIR / "binance_BTC-USDT_5m.csv")


@pytest.fixture
def fake(settings):
    """The fake Binance server (as tests/conftest.py's fake_exchange fixture), ccxt pointed at it."""
    server = FakeExchange().start()
    settings.CCXT_URL_OVERRIDES = {"binance": server.url}
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def fresh_candle_cache():
    """These tests rewrite the fake's history within one candle, which real exchanges never do."""
    tick.clear_candle_cache()
    yield
    tick.clear_candle_cache()


def rsi_signals() -> np.ndarray:
    import pandas as pd

    array = np.asarray(ROWS, dtype="float64")
    frame = pd.DataFrame(array[:, 1:6], columns=["open", "high", "low", "close", "volume"],
                         index=pd.DatetimeIndex(pd.to_datetime(array[:, 0].astype("int64"), unit="ms", utc=True)))
    return build_strategy("rsi_cross").signals(frame)


SIGNALS = rsi_signals()
BUYS = [int(i) for i in np.flatnonzero(SIGNALS == 1) if i > 450]
SELLS = [int(i) for i in np.flatnonzero(SIGNALS == -1) if i > 450]


def last_closed_ms(now: datetime | None = None) -> int:
    now_ms = int((now or timezone.now()).timestamp() * 1000)
    return now_ms // STEP_MS * STEP_MS - STEP_MS


def show_history_until(fake, index: int) -> None:
    """Re-time the real candles so that candle `index` is the last one closed right now."""
    shift = last_closed_ms() - int(ROWS[index][0])
    fake.set_candles("BTC/USDT", "5m", [[int(r[0]) + shift, *r[1:]] for r in ROWS[: index + 1]])
    fake.set_price("BTC/USDT", str(ROWS[index][4]))


def live_bot(fake, owner=None, **fields) -> Bot:
    owner = owner or make_user()
    account = make_account(owner, label="fake binance", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = fake.api_key, fake.api_secret
    account.save()
    fields.setdefault("stake", D("0.1"))
    fields.setdefault("starting_balance", D("10000"))
    fields.setdefault("stop_loss_pct", D("0"))
    fields.setdefault("take_profit_pct", D("0"))
    bot = make_bot(owner, account=account, mode=Bot.Mode.LIVE, status=Bot.Status.RUNNING, **fields)
    return Bot.objects.select_related("exchange_account").get(pk=bot.pk)


def test_a_buy_signal_places_one_order_and_books_it(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "ticked" and result.signal == "BUY" and len(result.orders) == 1
    cid = result.orders[0]
    assert fake.order_count(cid) == 1
    order = Order.objects.get(client_order_id=cid)
    assert order.status == "closed" and order.filled > 0 and order.exchange_order_id
    # 10 % of 10 000 USDT at the fake's price, fee included, in whole amount steps (0.00001 BTC).
    assert D("999.8") < order.filled * order.average * D("1.001") <= D("1000")
    assert order.filled == order.filled.quantize(D("0.00001"))
    position = Position.objects.get(bot=bot, status="open")
    assert position.quantity == order.filled
    assert fake.balances["BTC"]["free"] == D("1") + order.filled
    bot.refresh_from_db()
    assert bot.last_candle_at == datetime.fromtimestamp(fake.candles[("BTCUSDT", "5m")][-1][0] / 1000, tz=UTC)
    assert bot.lease_until is None and bot.next_tick_at > timezone.now()
    assert PnLSnapshot.objects.filter(bot=bot).count() == 1
    kinds = list(BotEvent.objects.filter(bot=bot).values_list("kind", flat=True))
    assert kinds == ["reconcile", "signal", "order", "fill"]

    # The same candle again (a repeated tick): nothing new is sent or booked.
    again = tick.tick_bot(bot.pk)
    assert again.outcome == "waiting" and len(fake.orders) == 1 and PnLSnapshot.objects.count() == 1


def test_a_sell_signal_closes_the_position(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)
    sell_at = next(i for i in SELLS if i > BUYS[0])
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1))
    show_history_until(fake, sell_at)
    tick.clear_candle_cache()
    result = tick.tick_bot(bot.pk)
    assert result.signal == "SELL" and len(result.orders) == 1
    position = Position.objects.get(bot=bot)
    assert position.status == "closed" and position.exit_reason == "signal"
    assert fake.balances["BTC"]["free"] == D("1")
    assert position.realised_pnl == position.proceeds - position.cost


def test_a_temporary_exchange_error_retries_next_tick_without_a_duplicate(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    # Warm the market cache first so the 5xx lands on the order itself.
    from exchanges.clients import client_for

    client_for(bot.exchange_account, mode="live").load_markets()
    fake.inject("5xx", times=40)
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "retry"
    bot.refresh_from_db()
    assert bot.status == "running" and bot.last_candle_at is None
    assert bot.next_tick_at > timezone.now(), "retried at the next candle, not at once"
    assert scheduler.claim(bot.pk) is None, "the dispatcher leaves it alone until then"
    assert BotEvent.objects.filter(bot=bot, kind="error", data__temporary=True).exists()
    fake.faults.clear()
    Bot.objects.filter(pk=bot.pk).update(next_tick_at=None)
    again = tick.tick_bot(bot.pk)
    assert again.outcome == "ticked"
    assert len(fake.orders) == 1 and Order.objects.filter(bot=bot, status="closed").count() == 1


def test_insufficient_funds_puts_the_bot_in_error_with_the_exchanges_reason(fake):
    bot = live_bot(fake)
    show_history_until(fake, BUYS[0])
    fake.inject("insufficient")
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "error"
    bot.refresh_from_db()
    assert bot.status == "error" and "insufficient balance" in bot.status_reason
    order = Order.objects.get(bot=bot)
    assert order.status == "rejected" and "insufficient balance" in order.error
    assert not Position.objects.exists() and fake.balances["USDT"]["free"] == D("10000")
    # A bot in error is not ticked again until someone starts it.
    assert tick.tick_bot(bot.pk).outcome == "inactive"


def test_rejected_keys_put_the_bot_in_error_and_mark_the_account(fake):
    bot = live_bot(fake)
    bot.exchange_account.api_secret = "wrong-secret-0123456789"
    bot.exchange_account.save()
    show_history_until(fake, BUYS[0])
    assert tick.tick_bot(bot.pk).outcome == "error"
    bot.refresh_from_db()
    assert bot.status == "error" and "API keys" in bot.status_reason
    assert ExchangeAccount.objects.get(pk=bot.exchange_account_id).status == "invalid"
    assert fake.orders == []


def test_a_risk_refusal_is_an_event_with_the_numbers(fake):
    bot = live_bot(fake, max_orders_per_hour=1)
    show_history_until(fake, BUYS[0])
    Order.objects.create(bot=bot, client_order_id="tb-earlier", symbol="BTC/USDT", side="sell", amount=1,
                         status="closed", candle_at=timezone.now() - timedelta(minutes=30))
    result = tick.tick_bot(bot.pk)
    assert result.signal == "BUY" and result.orders == [] and fake.orders == []
    refusal = BotEvent.objects.get(bot=bot, kind="risk_refusal")
    assert refusal.data["rule"] == "orders_per_hour" and refusal.data["limit"] == 1
    assert refusal.data["orders_last_hour"] == 1 and refusal.source == "risk"


def test_the_live_stop_loss_sells_at_market(fake):
    bot = live_bot(fake, stop_loss_pct=D("0.02"))
    show_history_until(fake, BUYS[0])
    tick.tick_bot(bot.pk)
    position = Position.objects.get(bot=bot)
    # The next candle falls 5 % below the entry.
    entry = float(position.average_entry)
    shift = last_closed_ms() - int(ROWS[BUYS[0]][0])
    rows = [[int(r[0]) + shift - STEP_MS, *r[1:]] for r in ROWS[: BUYS[0] + 1]]
    rows.append([last_closed_ms(), entry, entry, entry * 0.95, entry * 0.96, 10.0])
    fake.set_candles("BTC/USDT", "5m", rows)
    tick.clear_candle_cache()
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=timezone.now() - timedelta(hours=1),
                                         next_tick_at=None)
    Position.objects.filter(pk=position.pk).update(opened_at=timezone.now() - timedelta(hours=2))
    result = tick.tick_bot(bot.pk)
    position.refresh_from_db()
    assert position.status == "closed" and position.exit_reason == "stop_loss", result


def test_daily_loss_halts_at_the_threshold_with_its_event_and_not_before(fake):
    show_history_until(fake, BUYS[0])
    today = timezone.now().date()
    # Equity is the starting balance (no trades); the day started 5 % (just under 5 %) higher.
    before = live_bot(fake, starting_balance=D("9500.01"), day_start=today, day_start_equity=D("10000"))
    at = live_bot(fake, owner=make_user("bob"), starting_balance=D("9500"), day_start=today,
                  day_start_equity=D("10000"))
    assert tick.tick_bot(before.pk).orders != []
    result = tick.tick_bot(at.pk)
    assert result.signal == "BUY" and result.orders == []
    at.refresh_from_db()
    assert at.status == "halted" and at.halted_until.date() == today + timedelta(days=1)
    halt = BotEvent.objects.get(bot=at, kind="halt")
    assert halt.data["rule"] == "daily_loss" and halt.data["loss_pct"] == "0.05" and halt.source == "risk"
    refusal = BotEvent.objects.get(bot=at, kind="risk_refusal")
    assert refusal.data["rule"] == "halted"
    assert Bot.objects.get(pk=before.pk).status == "running"
    assert len([o for o in fake.orders if o["clientOrderId"].startswith(f"tb{at.pk}-")]) == 0


def test_a_halt_keeps_the_position_unless_flatten_on_halt(fake):
    show_history_until(fake, BUYS[0])
    keep = live_bot(fake)
    flatten = live_bot(fake, owner=make_user("bob"), flatten_on_halt=True)
    for bot in (keep, flatten):
        tick.tick_bot(bot.pk)
        assert Position.objects.get(bot=bot).status == "open"
    # A drawdown: the equity peak was far above what the bots have now.
    Bot.objects.update(equity_peak=D("20000"), last_candle_at=timezone.now() - timedelta(hours=1), next_tick_at=None)
    tick.clear_candle_cache()
    for bot in (keep, flatten):
        tick.tick_bot(bot.pk)
        bot.refresh_from_db()
        assert bot.status == "halted" and bot.halted_until is None
        assert BotEvent.objects.get(bot=bot, kind="halt").data["rule"] == "max_drawdown"
    assert Position.objects.get(bot=keep).status == "open"
    closed = Position.objects.get(bot=flatten)
    assert closed.status == "closed" and closed.exit_reason == "flatten_on_halt"
    # A drawdown halt lasts until the user resumes.
    Bot.objects.filter(pk=keep.pk).update(last_candle_at=timezone.now() - timedelta(hours=1), next_tick_at=None)
    tick.tick_bot(keep.pk)
    assert Bot.objects.get(pk=keep.pk).status == "halted"


def test_on_start_the_ledger_follows_the_simulated_wallet_and_imports_unknown_orders():
    """A wallet holding what the ledger does not know (e.g. the database restored from an older backup)."""
    from django.conf import settings

    from exchanges.candles import load_candles, read_candle_file, upsert_candles

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:500])
    candles = load_candles("binance", "BTC/USDT", "5m")
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, needs_reconcile=False,
                   replay_start=candles.index[0].to_pydatetime(), replay_offset=candles.index[460] - candles.index[0])
    client = tick.client_for_bot(bot)
    client.create_order("BTC/USDT", "buy", "market", None, client_order_id=f"tb{bot.pk}-1-b",
                        params={"quote_amount": D("500")})
    client.create_order("BTC/USDT", "buy", "limit", D("0.001"), D("1000"), client_order_id=f"tb{bot.pk}-2-b")
    tick.tick_bot(bot.pk)  # nothing is reconciled: the bot was not (re)started
    Bot.objects.filter(pk=bot.pk).update(needs_reconcile=True, next_tick_at=None,
                                         replay_offset=candles.index[462] - candles.index[0])
    held = client.fetch_balance()["BTC"].total
    assert held > 0 and not Position.objects.exists()
    tick.tick_bot(bot.pk)
    assert Position.objects.get(bot=bot, status="open").quantity == held
    assert Order.objects.get(client_order_id=f"tb{bot.pk}-2-b").reason == "imported"
    reconcile = BotEvent.objects.filter(bot=bot, kind="reconcile")
    assert reconcile.filter(message__contains="the ledger follows the exchange").exists()
    assert not Bot.objects.get(pk=bot.pk).needs_reconcile


def test_a_paper_bot_trades_real_prices_in_its_own_wallet(fake):
    """Paper: candles and prices from the exchange (the fake), fills and balances simulated per bot."""
    from exchanges.models import SimBalance

    show_history_until(fake, BUYS[0])
    owner = make_user()
    bot = make_bot(owner, account=make_account(owner), mode=Bot.Mode.PAPER, status=Bot.Status.RUNNING,
                   stop_loss_pct=D("0.02"), take_profit_pct=D("0.06"))
    result = tick.tick_bot(bot.pk)
    assert result.signal == "BUY" and len(result.orders) == 1, result
    buy = Order.objects.get(client_order_id=result.orders[0])
    assert buy.status == "closed" and buy.filled > 0
    held = SimBalance.objects.get(wallet__key=f"bot:{bot.pk}", asset="BTC")
    assert Position.objects.get(bot=bot).quantity == held.free + held.used == buy.filled
    bracket = Order.objects.get(bot=bot, type="bracket")
    assert bracket.status == "open" and bracket.amount == buy.filled
    assert fake.orders == [], "a paper bot never sends an order to the exchange"


def test_loss_streak_and_open_positions_and_max_position_in_the_tick(fake):
    show_history_until(fake, BUYS[0])
    alice = make_user()
    streak = live_bot(fake, owner=alice)
    now = timezone.now()
    for k in range(5):
        Position.objects.create(bot=streak, symbol="BTC/USDT", status="closed", realised_pnl=D("-1"),
                                opened_at=now - timedelta(hours=3), closed_at=now - timedelta(minutes=50 - k))
    assert tick.tick_bot(streak.pk).orders == []
    streak.refresh_from_db()
    halt = BotEvent.objects.get(bot=streak, kind="halt")
    assert streak.status == "halted" and halt.data["rule"] == "loss_streak" and halt.data["consecutive_losses"] == 5
    assert streak.halted_until == now - timedelta(minutes=46) + timedelta(minutes=60)

    bob = make_user("bob")
    crowded = live_bot(fake, owner=bob, max_open_positions=2)
    for name in ("other", "third"):  # two of bob's other bots hold a position each
        Position.objects.create(bot=make_bot(bob, name=name, account=crowded.exchange_account), symbol="ETH/USDT",
                                status="open", quantity=1, opened_at=now)
    assert tick.tick_bot(crowded.pk).orders == []
    refusal = BotEvent.objects.get(bot=crowded, kind="risk_refusal")
    assert refusal.data == {**refusal.data, "rule": "open_positions", "open_positions": 2, "limit": 2}

    carol = make_user("carol")
    capped = live_bot(fake, owner=carol, stake=D("1"))  # all-in asked, 10 % allowed
    result = tick.tick_bot(capped.pk)
    order = Order.objects.get(client_order_id=result.orders[0])
    assert order.filled * order.average < D("1000") and order.filled * order.average > D("990")
    assert BotEvent.objects.get(bot=capped, kind="order").data["fraction"] == "0.1000"


def test_a_replay_bot_stops_at_the_end_of_the_stored_candles():
    from django.conf import settings

    from exchanges.candles import load_candles, read_candle_file, upsert_candles

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:500])
    candles = load_candles("binance", "BTC/USDT", "5m")
    start = candles.index[0].to_pydatetime()
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, replay_start=start,
                   replay_offset=candles.index[-1] - start + timedelta(minutes=5))
    assert tick.tick_bot(bot.pk).candle_at == candles.index[-1]
    Bot.objects.filter(pk=bot.pk).update(replay_offset=timedelta(days=30), next_tick_at=None)
    assert tick.tick_bot(bot.pk).outcome == "finished"
    bot.refresh_from_db()
    assert bot.status == "stopped" and "end of the stored candles" in bot.status_reason
    assert BotEvent.objects.filter(bot=bot, kind="stop").count() == 1
    empty = make_bot(bot.owner, name="no data", symbol="DOGE/USDT", mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                     replay_start=start)
    assert tick.tick_bot(empty.pk).outcome == "error"
    empty.refresh_from_db()
    assert empty.status == "error" and "no stored DOGE/USDT 5m candles" in empty.status_reason


def test_on_start_a_live_position_the_account_no_longer_holds_is_flagged_not_corrected(fake):
    show_history_until(fake, BUYS[0])
    bot = live_bot(fake)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity=D("2.5"), entry_quantity=D("2.5"),
                            average_entry=D("17000"), cost=D("42500"), opened_at=timezone.now())
    tick.tick_bot(bot.pk)
    assert Position.objects.get(bot=bot).quantity == D("2.5") and fake.balances["BTC"]["free"] == D("1")
    flag = BotEvent.objects.get(bot=bot, data__mismatch=True)
    assert "the ledger holds 2.5 BTC, the account 1" in flag.message and "Not corrected" in flag.message
    # Holding more than the bot bought is normal on a live account: nothing to flag.
    other = live_bot(fake, owner=make_user("bob"))
    tick.tick_bot(other.pk)
    assert not BotEvent.objects.filter(bot=other, data__mismatch=True).exists()


def test_a_replay_bot_that_fell_behind_replays_every_candle_it_missed_in_order():
    """A gap between dispatcher rounds or a restart must not skip candles (and their signals): the bot
    takes the next unprocessed candle on each tick and stays due until it has caught up."""
    from django.conf import settings

    from exchanges.candles import load_candles, read_candle_file, upsert_candles

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:500])
    candles = load_candles("binance", "BTC/USDT", "5m")
    start = candles.index[0].to_pydatetime()
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING, replay_start=start,
                   replay_offset=candles.index[100] - start, replay_speed=300)
    assert tick.tick_bot(bot.pk).candle_at == candles.index[99]
    # The wall clock runs on: by now the replay clock is 40 candles further (at 300x, 40 s of wall time).
    Bot.objects.filter(pk=bot.pk).update(replay_started_at=timezone.now() - timedelta(seconds=40))
    for k in range(100, 137):  # the clock is at about candle 140: still behind up to here
        result = tick.tick_bot(bot.pk)
        assert result.candle_at == candles.index[k], (k, result)
        bot.refresh_from_db()
        assert bot.last_candle_at == candles.index[k]
        assert bot.next_tick_at <= timezone.now(), "still behind: due again at once"
    assert bot.id in [b for b, _ in scheduler.claim_due_bots()]
