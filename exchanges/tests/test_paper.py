"""The paper exchange: live prices from the (fake) exchange through ccxt, fills with fees, slippage,
limit orders that wait for the price, partial fills on thin candles, balances kept in the database."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from exchanges.candles import read_candle_file, upsert_candles
from exchanges.clients import ReplayClock, client_for
from exchanges.clients.paper import PaperClient
from exchanges.errors import OrderRefused
from exchanges.models import ExchangeAccount, SimOrder
from tests.fake_exchange import fake_exchange  # noqa: F401  (the fixture, used through `fake`)

pytestmark = pytest.mark.django_db
FEE = Decimal("0.001")


@pytest.fixture
def fake(fake_exchange):  # noqa: F811
    return fake_exchange


@pytest.fixture
def t0():
    now = timezone.now().replace(second=0, microsecond=0)
    return now - timedelta(hours=2)


@pytest.fixture
def account(django_user_model):
    user = django_user_model.objects.create(username="paper")
    return ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="Paper", mode="paper")


def paper(account, t0, **options) -> PaperClient:
    options.setdefault("slippage", 0.001)
    return client_for(account, clock=ReplayClock.fixed(t0), backoff=0.01, timeout=2, **options)


def minute(t0, k):
    return int((t0 + timedelta(minutes=k)).timestamp() * 1000)


def test_paper_account_default_client(account, fake, t0):
    client = client_for(account)
    assert isinstance(client, PaperClient) and client.wallet_key == f"account:{account.pk}"
    assert client.fetch_balance()["USDT"].free == Decimal("10000")
    assert fake.requests == []  # no private call ever reaches the exchange


def test_market_orders_fill_at_live_price_with_fee_and_slippage(account, fake, t0):
    client = paper(account, t0)
    buy = client.create_order("BTC/USDT", "buy", "market", Decimal("0.1"), client_order_id="m1")
    price = 20002 * 1.001  # the ask, plus slippage
    assert buy.status == "closed" and buy.filled == Decimal("0.1")
    assert float(buy.average) == pytest.approx(price, rel=1e-12)
    assert float(buy.fee) == pytest.approx(0.1 * price * 0.001, rel=1e-9)
    balance = client.fetch_balance()
    assert float(balance["USDT"].free) == pytest.approx(10000 - 0.1 * price * 1.001, rel=1e-12)
    assert balance["BTC"].free == Decimal("0.1")

    fake.set_price("BTC/USDT", "21000")
    sell = client.create_order("BTC/USDT", "sell", "market", Decimal("0.1"), client_order_id="m2")
    sell_price = 21000 * (1 - 0.0001) * 0.999  # the bid, less slippage
    assert float(sell.average) == pytest.approx(sell_price, rel=1e-12)
    assert float(client.fetch_balance()["USDT"].free) == pytest.approx(
        10000 - 0.1 * price * 1.001 + 0.1 * sell_price * 0.999, rel=1e-12)
    assert not [r for r in fake.requests if r[1].endswith(("/order", "/account"))]


def test_limit_order_fills_only_when_price_reaches_it_partially_on_thin_candles(account, fake, t0):
    fake.set_candles("BTC/USDT", "1m", [
        [minute(t0, 0), 20000, 20010, 19950, 20000, 50],
        [minute(t0, 1), 20000, 20005, 19920, 19930, 50],
        [minute(t0, 2), 19930, 19940, 19850, 19860, 0.3],   # reaches 19900, but only 0.3 BTC traded
        [minute(t0, 3), 19860, 19870, 19800, 19810, 0.1],   # another 0.1
        [minute(t0, 4), 19810, 19890, 19790, 19880, 40],    # opens below the limit: fills at the open
    ])
    client = paper(account, t0 + timedelta(seconds=10))
    order = client.create_order("BTC/USDT", "buy", "limit", Decimal("0.5"), Decimal("19900"), client_order_id="l1")
    assert order.status == "open" and order.filled == 0
    reserved = Decimal("0.5") * Decimal("19900") * (1 + FEE)
    # SQLite keeps decimals to about 15 significant digits: compare money with a tolerance.
    assert float(client.fetch_balance()["USDT"].used) == pytest.approx(float(reserved), rel=1e-12)

    client.clock.set(t0 + timedelta(minutes=2, seconds=30))  # candle 2 still forming
    assert client.fetch_order("BTC/USDT", client_order_id="l1").filled == 0
    client.clock.set(t0 + timedelta(minutes=3, seconds=5))
    part = client.fetch_order("BTC/USDT", client_order_id="l1")
    assert part.status == "open" and part.filled == Decimal("0.3") and part.average == Decimal("19900")
    client.clock.set(t0 + timedelta(minutes=5, seconds=1))
    done = client.fetch_order("BTC/USDT", client_order_id="l1")
    assert done.status == "closed" and done.filled == Decimal("0.5")
    expected_cost = Decimal("0.3") * 19900 + Decimal("0.1") * 19860 + Decimal("0.1") * 19810
    assert float(done.average) == pytest.approx(float(expected_cost / Decimal("0.5")), rel=1e-12)
    assert float(done.fee) == pytest.approx(float(expected_cost * FEE), rel=1e-9)
    balance = client.fetch_balance()
    assert balance["USDT"].used == pytest.approx(0, abs=1e-9) and balance["BTC"].free == Decimal("0.5")
    assert float(balance["USDT"].free) == pytest.approx(float(10000 - expected_cost * (1 + FEE)), rel=1e-12)


def test_market_order_larger_than_the_last_candle_fills_partially(account, fake, t0):
    fake.set_candles("BTC/USDT", "1m", [
        [minute(t0, -1), 20000, 20010, 19990, 20000, 0.05],  # the last closed candle traded only 0.05 BTC
        [minute(t0, 0), 20000, 20010, 19990, 20000, 3],
        [minute(t0, 1), 20100, 20110, 20090, 20100, 3],
    ])
    client = paper(account, t0 + timedelta(seconds=10), slippage=0.0)
    order = client.create_order("BTC/USDT", "buy", "market", Decimal("0.08"), client_order_id="thin")
    assert order.status == "open" and order.filled == Decimal("0.05") and order.average == Decimal("20002")
    client.clock.set(t0 + timedelta(minutes=1, seconds=30))  # candle 1 is still forming
    assert client.fetch_order("BTC/USDT", client_order_id="thin").filled == Decimal("0.05")
    client.clock.set(t0 + timedelta(minutes=2, seconds=1))
    done = client.fetch_order("BTC/USDT", client_order_id="thin")
    assert done.status == "closed" and done.filled == Decimal("0.08")
    assert float(done.average) == pytest.approx((0.05 * 20002 + 0.03 * 20100) / 0.08, rel=1e-12)
    assert client.fetch_balance()["USDT"].used == pytest.approx(0, abs=1e-9)


def test_sell_limit_and_stop(account, fake, t0):
    fake.set_candles("BTC/USDT", "1m", [
        [minute(t0, 0), 20000, 20010, 19990, 20000, 50],
        [minute(t0, 1), 20000, 20150, 19990, 20100, 50],
        [minute(t0, 2), 20100, 20110, 19700, 19750, 50],
    ])
    client = paper(account, t0)
    client.create_order("BTC/USDT", "buy", "market", Decimal("0.2"), client_order_id="b")
    client.create_order("BTC/USDT", "sell", "limit", Decimal("0.1"), Decimal("20120"), client_order_id="tp")
    client.create_order("BTC/USDT", "sell", "stop_market", Decimal("0.1"), stop_price=Decimal("19800"),
                        client_order_id="sl")
    assert client.fetch_balance()["BTC"].used == Decimal("0.2")
    client.clock.set(t0 + timedelta(minutes=3))
    tp = client.fetch_order("BTC/USDT", client_order_id="tp")
    sl = client.fetch_order("BTC/USDT", client_order_id="sl")
    assert tp.status == "closed" and tp.average == Decimal("20120")
    assert sl.status == "closed" and float(sl.average) == pytest.approx(19800 * 0.999, rel=1e-12)
    assert client.fetch_balance()["BTC"].total == 0


def test_insufficient_funds_refused_nothing_stored(account, fake, t0):
    client = paper(account, t0)
    with pytest.raises(OrderRefused, match="insufficient USDT"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("1"), client_order_id="x")
    with pytest.raises(OrderRefused, match="positive price"):
        client.create_order("BTC/USDT", "buy", "limit", Decimal("0.1"), client_order_id="y")
    assert not SimOrder.objects.exists() and client.fetch_balance()["USDT"].free == Decimal("10000")


def test_balances_survive_a_restart(account, fake, t0):
    paper(account, t0, wallet_key="bot:9", starting_balance=Decimal("500")).create_order(
        "BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="k")
    again = paper(account, t0, wallet_key="bot:9", starting_balance=Decimal("999"))
    balance = again.fetch_balance()
    assert balance["BTC"].free == Decimal("0.01") and balance["USDT"].free < Decimal("500")


def test_offline_uses_stored_candles(account, t0):
    candles = read_candle_file(Path(settings.CANDLE_DATA_DIR) / "binance_BTC-USDT_5m.csv", "5m").iloc[:50]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    client = client_for(account, offline=True, timeframe="5m", slippage=0.0, clock=ReplayClock.fixed(t0))
    last = float(candles["close"].iloc[-1])
    assert float(client.fetch_ticker("BTC/USDT").last) == last
    assert list(client.load_markets()) == ["BTC/USDT"]
    order = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="o")
    assert float(order.average) == last and order.status == "closed"
    assert len(client.fetch_candles("BTC/USDT", "5m", limit=10)) == 10


def test_offline_a_market_fill_is_capped_by_the_last_closed_candle_not_the_one_forming(account, t0):
    """Offline paper took the volume of the candle still forming (the newest stored one) as what the market
    could absorb at once; online it was already the last closed candle's."""
    rows = [[minute(t0, -1), 20000, 20010, 19990, 20000, 0.05],  # closed: only 0.05 BTC traded
            [minute(t0, 0), 20000, 20010, 19990, 20000, 3.0]]  # forming at t0 + 10 s: its volume is not known yet
    import pandas as pd

    frame = pd.DataFrame([r[1:] for r in rows], columns=["open", "high", "low", "close", "volume"],
                         index=pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], unit="ms", utc=True), name="time"))
    upsert_candles("binance", "BTC/USDT", "1m", frame)
    client = client_for(account, offline=True, timeframe="1m", slippage=0.0,
                        clock=ReplayClock.fixed(t0 + timedelta(seconds=10)))
    order = client.create_order("BTC/USDT", "buy", "market", Decimal("0.08"), client_order_id="thin-offline")
    assert order.status == "open" and order.filled == Decimal("0.05")
