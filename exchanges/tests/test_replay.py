"""The replay exchange: stored candles on a simulated clock; fills as the backtester; deterministic."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from exchanges.candles import read_candle_file, upsert_candles
from exchanges.clients import ReplayClock, client_for
from exchanges.clients.replay import ReplayClient
from exchanges.errors import OrderNotFound, OrderRefused
from exchanges.models import ExchangeAccount, SimOrder

pytestmark = pytest.mark.django_db
FEE = 0.001


@pytest.fixture(scope="module")
def btc():
    return read_candle_file(Path(settings.CANDLE_DATA_DIR) / "binance_BTC-USDT_5m.csv", "5m").iloc[:600]


@pytest.fixture
def account(django_user_model, btc):
    upsert_candles("binance", "BTC/USDT", "5m", btc)
    user = django_user_model.objects.create(username="replayer")
    return ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="Replay", mode="paper")


def replay(account, at, **options) -> ReplayClient:
    options.setdefault("wallet_key", "bot:1")
    return client_for(account, mode="replay", replay=ReplayClock.fixed(at), **options)


def test_clock_runs_at_speed():
    from django.utils import timezone

    start = timezone.now() - timedelta(days=1000)
    wall = timezone.now() - timedelta(seconds=10)
    clock = ReplayClock(start=start, speed=30, wall_start=wall, offset=timedelta(minutes=5))
    elapsed = clock.now() - start
    assert timedelta(minutes=10) < elapsed < timedelta(minutes=10, seconds=5)
    with pytest.raises(ValueError):
        clock.advance(minutes=1)


def test_fetch_candles_returns_only_closed(account, btc):
    at = btc.index[100] + timedelta(seconds=90)  # candle 100 is in progress
    client = replay(account, at)
    candles = client.fetch_candles("BTC/USDT", "5m", limit=50)
    assert len(candles) == 50 and candles.index[-1] == btc.index[99]
    assert client.fetch_candles("BTC/USDT", "5m", since=btc.index[98]).index.tolist() == list(btc.index[98:100])
    assert client.fetch_ticker("BTC/USDT").last == Decimal(repr(float(btc["close"].iloc[99])))
    assert set(client.load_markets()) == {"BTC/USDT"}


def test_market_order_fills_at_open_of_candle_in_progress(account, btc):
    at = btc.index[200] + timedelta(seconds=137)  # a tick that ran 137 s after candle 199 closed
    client = replay(account, at, slippage=0.0005)
    result = client.create_order("BTC/USDT", "buy", "market", None, client_order_id="e1",
                                 params={"quote_amount": Decimal("10000")})
    entry = btc["open"].iloc[200] * 1.0005
    units = 10000 / (entry * (1 + FEE))
    assert result.status == "closed"
    assert float(result.average) == pytest.approx(entry, rel=1e-12)
    assert float(result.filled) == pytest.approx(units, rel=1e-12)
    assert float(result.fee) == pytest.approx(units * entry * FEE, rel=1e-9)
    balance = client.fetch_balance()
    assert balance["USDT"].total == 0 and float(balance["BTC"].free) == pytest.approx(units, rel=1e-12)

    sell = client.create_order("BTC/USDT", "sell", "market", balance["BTC"].free, client_order_id="x1")
    assert float(sell.average) == pytest.approx(btc["open"].iloc[200] * 0.9995, rel=1e-12)
    assert float(client.fetch_balance()["USDT"].free) == pytest.approx(
        units * btc["open"].iloc[200] * 0.9995 * (1 - FEE), rel=1e-9)


def test_limit_order_waits_for_the_price_then_fills(account, btc):
    i = 300
    clock_at = btc.index[i]
    client = replay(account, clock_at)
    target = float(btc["low"].iloc[i:i + 40].min()) + 1e-6
    hit = int(np.argmax(btc["low"].iloc[i:].to_numpy() <= target)) + i
    order = client.create_order("BTC/USDT", "buy", "limit", Decimal("0.1"), Decimal(repr(target)),
                                client_order_id="l1")
    assert order.status == "open"
    assert client.fetch_balance()["USDT"].used == (Decimal("0.1") * Decimal(repr(target)) * Decimal("1.001")).quantize(
        Decimal("1e-16"))
    client.clock.set(btc.index[hit])  # candle `hit` is in progress: not yet seen
    assert client.fetch_order("BTC/USDT", client_order_id="l1").status == "open"
    client.clock.set(btc.index[hit + 1])
    filled = client.fetch_order("BTC/USDT", client_order_id="l1")
    assert filled.status == "closed" and filled.filled == Decimal("0.1")
    assert float(filled.average) == pytest.approx(min(btc["open"].iloc[hit], target))
    balance = client.fetch_balance()
    assert balance["USDT"].used == 0 and balance["BTC"].free == Decimal("0.1")


def test_cancel_releases_reserve_and_unknown_order(account, btc):
    client = replay(account, btc.index[50])
    client.create_order("BTC/USDT", "buy", "limit", Decimal("0.1"), Decimal("1000"), client_order_id="c1")
    assert [o.client_order_id for o in client.fetch_open_orders("BTC/USDT")] == ["c1"]
    assert client.cancel_order("BTC/USDT", client_order_id="c1").status == "canceled"
    assert client.fetch_balance()["USDT"].free == Decimal("10000") and client.fetch_open_orders() == []
    with pytest.raises(OrderNotFound):
        client.cancel_order("BTC/USDT", client_order_id="c1")
    with pytest.raises(OrderNotFound):
        client.fetch_order("BTC/USDT", client_order_id="nope")


def test_insufficient_funds_refused_and_nothing_stored(account, btc):
    client = replay(account, btc.index[50])
    with pytest.raises(OrderRefused, match="insufficient USDT"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("1"), client_order_id="big")
    with pytest.raises(OrderRefused, match="insufficient BTC"):
        client.create_order("BTC/USDT", "sell", "market", Decimal("0.1"), client_order_id="short")
    with pytest.raises(OrderRefused, match="entry_price"):
        client.create_order("BTC/USDT", "sell", "bracket", Decimal("0.1"), client_order_id="b0", params={})
    with pytest.raises(OrderRefused, match="amount must be a number, not 'lots'"):
        client.create_order("BTC/USDT", "buy", "market", "lots", client_order_id="n1")
    with pytest.raises(OrderRefused, match="price must be a finite number"):
        client.create_order("BTC/USDT", "buy", "limit", Decimal("0.1"), "NaN", client_order_id="n2")
    with pytest.raises(OrderRefused, match="unknown order type"):
        client.create_order("BTC/USDT", "buy", "iceberg", Decimal("0.1"), client_order_id="n3")
    with pytest.raises(OrderRefused, match="a bracket is a long exit"):
        client.create_order("BTC/USDT", "buy", "bracket", Decimal("0.1"), client_order_id="n4",
                            params={"entry_price": 1, "stop_loss": 0.1})
    assert not SimOrder.objects.exists()
    assert client.fetch_balance()["USDT"].free == Decimal("10000")


def test_same_client_order_id_is_the_same_order(account, btc):
    client = replay(account, btc.index[50])
    first = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="same")
    again = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="same")
    assert again.exchange_order_id == first.exchange_order_id and SimOrder.objects.count() == 1


def test_selling_everything_tolerates_the_last_digit(account, btc):
    client = replay(account, btc.index[50])
    bought = client.create_order("BTC/USDT", "buy", "market", None, client_order_id="all-in",
                                 params={"quote_amount": Decimal("1000")})
    held = client.fetch_balance()["BTC"].free
    sold = client.create_order("BTC/USDT", "sell", "market", held * (1 + Decimal("1e-14")), client_order_id="out")
    assert sold.status == "closed" and sold.filled == held and bought.filled >= held
    assert client.fetch_balance()["BTC"].total == 0
    with pytest.raises(OrderRefused, match="insufficient BTC"):
        client.create_order("BTC/USDT", "sell", "market", Decimal("0.001"), client_order_id="none-left")


def test_replay_needs_a_clock(account):
    with pytest.raises(ValueError, match="ReplayClock"):
        client_for(account, mode="replay")


def test_state_survives_a_new_client(account, btc):
    replay(account, btc.index[50]).create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="a")
    other = replay(account, btc.index[51])
    assert other.fetch_balance()["BTC"].free == Decimal("0.01")
    assert replay(account, btc.index[51], wallet_key="bot:2").fetch_balance()["USDT"].free == Decimal("10000")


def run_bot(account, candles, signals, *, stop_loss=0.0, take_profit=0.0, trailing=0.0, slippage=0.0, key="bot:p"):
    """Drive the replay exchange as a bot does: tick after each candle closes, act on the last signal."""
    clock = ReplayClock.fixed(candles.index[0])
    client = client_for(account, mode="replay", replay=clock, wallet_key=key, slippage=slippage, fee=FEE)
    trades, entry, bracket_id, seq = [], None, None, 0
    for i in range(1, len(candles)):
        clock.set(candles.index[i] + timedelta(seconds=23))
        if bracket_id:
            exit_order = client.fetch_order("BTC/USDT", client_order_id=bracket_id)
            if exit_order.status == "closed":
                trades.append((entry, exit_order))
                entry = bracket_id = None
        signal = signals[i - 1]
        seq += 1
        if signal == 1 and entry is None:
            cash = client.fetch_balance()["USDT"].free
            entry = client.create_order("BTC/USDT", "buy", "market", None, client_order_id=f"in-{seq}",
                                        params={"quote_amount": cash})
            if stop_loss or take_profit or trailing:
                bracket_id = f"exit-{seq}"
                client.create_order("BTC/USDT", "sell", "bracket", entry.filled, client_order_id=bracket_id,
                                    params={"entry_price": entry.average, "stop_loss": stop_loss,
                                            "take_profit": take_profit, "trailing": trailing})
        elif signal == -1 and entry is not None:
            if bracket_id:
                client.cancel_order("BTC/USDT", client_order_id=bracket_id)
                bracket_id = None
            exit_order = client.create_order("BTC/USDT", "sell", "market", entry.filled, client_order_id=f"out-{seq}")
            trades.append((entry, exit_order))
            entry = None
    return trades, client


def signals_for(n, seed):
    rng = np.random.default_rng(seed)
    return rng.choice(np.array([1, -1, 0, 0, 0, 0, 0, 0], dtype=np.int8), size=n)


@pytest.mark.parametrize("risk", [
    {"stop_loss": 0.0, "take_profit": 0.0, "trailing": 0.0, "slippage": 0.0},
    {"stop_loss": 0.003, "take_profit": 0.002, "trailing": 0.0, "slippage": 0.0005},
    {"stop_loss": 0.004, "take_profit": 0.0, "trailing": 0.002, "slippage": 0.0},
    {"stop_loss": 0.01, "take_profit": 0.001, "trailing": 0.0, "slippage": 0.0002},
])
def test_replay_bot_trades_equal_the_backtester(account, btc, risk):
    from strategies.backtest import BacktestSettings, run_backtest

    candles = btc.iloc[:300]
    signals = signals_for(len(candles), seed=7)
    signals[-1] = 0
    result = run_backtest(candles, signals, BacktestSettings(
        fee=FEE, slippage=risk["slippage"], stop_loss=risk["stop_loss"], take_profit=risk["take_profit"],
        trailing_stop=risk["trailing"]))
    expected = [t for t in result.trades if t["exit_reason"] != "end"]
    trades, _ = run_bot(account, candles, signals, stop_loss=risk["stop_loss"], take_profit=risk["take_profit"],
                        trailing=risk["trailing"], slippage=risk["slippage"])
    assert len(expected) > 5 and len(trades) == len(expected)
    reasons = set()
    for (entry, exit_order), want in zip(trades, expected, strict=True):
        assert float(entry.average) == pytest.approx(want["entry_price"], rel=1e-12)
        assert float(exit_order.average) == pytest.approx(want["exit_price"], rel=1e-12)
        assert float(entry.filled) == pytest.approx(want["size"], rel=1e-9)
        assert exit_order.raw["reason"] in ("", want["exit_reason"])
        reasons.add(exit_order.raw["reason"] or "signal")
        assert exit_order.timestamp.isoformat().replace("+00:00", "Z") == want["exit_time"]
    expected_reasons = {t["exit_reason"] for t in expected}
    assert reasons == expected_reasons
    if risk["stop_loss"] or risk["take_profit"]:
        assert reasons - {"signal"}, "the risk settings never triggered a protective exit"


def test_replay_is_deterministic(account, btc):
    candles = btc.iloc[:200]
    signals = signals_for(len(candles), seed=3)
    first, client_a = run_bot(account, candles, signals, stop_loss=0.003, take_profit=0.004, key="bot:a")
    second, client_b = run_bot(account, candles, signals, stop_loss=0.003, take_profit=0.004, key="bot:b")
    summary = [[(t.average, t.filled, t.fee, t.timestamp) for t in pair] for pair in first]
    assert summary == [[(t.average, t.filled, t.fee, t.timestamp) for t in pair] for pair in second]
    assert client_a.fetch_balance() == client_b.fetch_balance()


def test_volume_cap_spreads_a_market_order_over_candles(account, btc):
    i, share = 100, 0.0001
    client = replay(account, btc.index[i] + timedelta(seconds=5), max_volume_share=share)
    first_cap = float(btc["volume"].iloc[i]) * share
    amount = Decimal(repr(round(first_cap * 1.5, 8)))
    order = client.create_order("BTC/USDT", "buy", "market", amount, client_order_id="big")
    assert order.status == "open" and float(order.filled) == pytest.approx(first_cap, rel=1e-12)
    client.clock.set(btc.index[i + 1] + timedelta(seconds=5))
    done = client.fetch_order("BTC/USDT", client_order_id="big")
    assert done.status == "closed" and done.filled == amount
    rest = float(amount) - first_cap
    expected = (first_cap * btc["open"].iloc[i] + rest * btc["open"].iloc[i + 1]) / float(amount)
    assert float(done.average) == pytest.approx(expected, rel=1e-12)
    assert float(client.fetch_balance()["BTC"].free) == pytest.approx(float(amount), rel=1e-12)
