"""Crash safety: the worker is SIGKILLed at every point of a tick, restarted, and nothing is doubled or lost.

Live bots (the real ccxt client) trade on the fake Binance server. One bot per crash point: a worker
process (`manage.py bot tick ID` with BOTS_CRASH_AT=<point>) dies there, then one restarted worker
(`manage.py bot tick`, a dispatcher round) ticks every bot. Afterwards, for every bot: each order the
exchange has is in the ledger with the exchange's fill, the exchange has exactly the orders the strategy
asked for (one per signal), and the ledger's position equals what the exchange's fills add up to.
"""

import json
import signal
import subprocess
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from bots.crashpoints import ENV
from bots.models import Bot, Order, Position
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from bots.tests.test_tick import BUYS, ROWS, SELLS, last_closed_ms
from exchanges.models import ExchangeAccount
from tests.process_env import PROJECT_DIR, PYTHON, env_for_test_database

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow, pytest.mark.backends]

BUY_POINTS = ("tick_claimed", "after_reconcile", "before_order_recorded", "before_order_sent", "after_order_sent",
              "after_order_recorded", "before_release")
SELL_POINTS = ("before_order_sent", "after_order_sent", "after_order_recorded")


def show_history_until(fake, index: int) -> None:
    shift = last_closed_ms() - int(ROWS[index][0])
    fake.set_candles("BTC/USDT", "5m", [[int(r[0]) + shift, *r[1:]] for r in ROWS[: index + 1]])
    fake.set_price("BTC/USDT", str(ROWS[index][4]))


def worker(env: dict, *args: str, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(env)
    env.pop(ENV, None)
    if crash_at:
        env[ENV] = crash_at
    return subprocess.Popen([PYTHON, "manage.py", "bot", "tick", *args], cwd=PROJECT_DIR, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def crash_each(env: dict, bots: dict[str, Bot]) -> None:
    """One worker per crash point, all at once (each on its own bot); each must die by SIGKILL."""
    procs = {point: worker(env, str(bot.pk), crash_at=point) for point, bot in bots.items()}
    for point, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == -signal.SIGKILL, f"{point}: exited {proc.returncode}\n{out}\n{err[-2000:]}"
    # A killed worker's lease ends by itself after scheduler.LEASE (20 s); skip that wait.
    Bot.objects.update(lease_until=timezone.now() - timedelta(seconds=1), next_tick_at=None)


def restart(env: dict) -> str:
    proc = worker(env)
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, f"{out}\n{err[-3000:]}"
    return out


def exchange_orders(fake, bot: Bot) -> list[dict]:
    return [o for o in fake.orders if o["clientOrderId"].startswith(f"tb{bot.pk}-")]


def check_books(fake, bot: Bot, expected_orders: int) -> None:
    on_exchange = exchange_orders(fake, bot)
    assert len(on_exchange) == expected_orders, (bot.name, [o["clientOrderId"] for o in on_exchange])
    held = D("0")
    for o in on_exchange:
        booked = Order.objects.get(client_order_id=o["clientOrderId"])  # no lost order
        assert booked.status == "closed" and booked.filled == D(o["executedQty"]), (bot.name, booked)
        held += D(o["executedQty"]) * (1 if o["side"] == "BUY" else -1)
    assert not Order.objects.filter(bot=bot, status__in=Order.UNSETTLED).exists()
    position = Position.objects.filter(bot=bot, status="open").first()
    assert (position.quantity if position else D("0")) == held, bot.name


def test_killed_ticks_neither_double_nor_lose_an_order(fake_exchange):
    fake = fake_exchange
    env = env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}))
    config = None
    bots = {}
    for point in ("no crash", *BUY_POINTS):
        owner = make_user(f"u{len(bots)}")
        account = make_account(owner, label="fake binance", mode=ExchangeAccount.Mode.LIVE)
        account.api_key, account.api_secret = fake.api_key, fake.api_secret
        account.save()
        config = make_strategy_config(owner)
        bots[point] = make_bot(owner, name=point, account=account, strategy=config, mode=Bot.Mode.LIVE,
                               status=Bot.Status.RUNNING, stake=D("0.1"), stop_loss_pct=0, take_profit_pct=0)
    btc_before = fake.balances["BTC"]["free"]

    # Phase 1: a BUY candle. Every bot but the control one dies somewhere in its tick.
    show_history_until(fake, BUYS[0])
    crash_each(env, {p: b for p, b in bots.items() if p != "no crash"})
    out = restart(env)
    assert f"{len(bots)} due bot(s) ticked." in out
    for bot in bots.values():
        check_books(fake, bot, expected_orders=1)
    assert fake.balances["BTC"]["free"] - btc_before == sum(
        p.quantity for p in Position.objects.filter(status="open"))

    # Phase 2: a later SELL candle; crashes around the sell order.
    sell_at = next(i for i in SELLS if i > BUYS[0])
    Bot.objects.update(last_candle_at=timezone.now() - timedelta(hours=1), next_tick_at=None)
    show_history_until(fake, sell_at)
    crash_each(env, {p: bots[p] for p in SELL_POINTS})
    restart(env)
    for bot in bots.values():
        check_books(fake, bot, expected_orders=2)
        assert Position.objects.get(bot=bot).status == "closed"
    assert fake.balances["BTC"]["free"] == btc_before


REPLAY_POINTS = ("before_order_sent", "after_order_sent", "after_order_recorded", "before_bracket_sent",
                 "after_bracket_sent", "before_release")


def test_killed_replay_ticks_keep_the_simulated_wallet_and_the_ledger_equal():
    """The same on the replay exchange, where a new position also gets its stop-loss/take-profit bracket."""
    from django.conf import settings

    from exchanges.candles import load_candles, read_candle_file, upsert_candles
    from exchanges.models import SimBalance, SimOrder
    from strategies.registry import build_strategy

    upsert_candles("binance", "BTC/USDT", "5m",
                   read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:1000])
    candles = load_candles("binance", "BTC/USDT", "5m")
    buy_at = next(i for i, s in enumerate(build_strategy("rsi_cross").signals(candles)) if s == 1 and i > 450)
    bots = {}
    for point in ("no crash", *REPLAY_POINTS):
        owner = make_user(f"u{len(bots)}")
        # A replay clock stopped just after the BUY candle closed (no wall start: it does not run).
        bots[point] = make_bot(owner, name=point, account=make_account(owner), mode=Bot.Mode.REPLAY,
                               status=Bot.Status.RUNNING, replay_start=candles.index[0].to_pydatetime(),
                               replay_offset=candles.index[buy_at + 1] - candles.index[0])
    env = env_for_test_database()
    crash_each(env, {p: b for p, b in bots.items() if p != "no crash"})
    assert f"{len(bots)} due bot(s) ticked." in restart(env)

    for bot in bots.values():
        wallet_orders = {o.client_order_id: o for o in SimOrder.objects.filter(wallet__key=bot.wallet_key)}
        assert sorted(o.type for o in wallet_orders.values()) == ["bracket", "market"], bot.name
        for cid, sim in wallet_orders.items():
            booked = Order.objects.get(client_order_id=cid)  # no lost order
            assert (booked.status, booked.filled) == (sim.status, sim.filled), bot.name
        assert Order.objects.filter(bot=bot).count() == 2
        held = SimBalance.objects.get(wallet__key=bot.wallet_key, asset="BTC")
        assert Position.objects.get(bot=bot, status="open").quantity == held.free + held.used, bot.name
