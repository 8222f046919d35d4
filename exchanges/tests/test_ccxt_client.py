"""The ccxt adapter through the real ccxt client against the fake Binance: every method, every fault."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from exchanges.clients import client_for
from exchanges.clients.ccxt_client import CcxtClient
from exchanges.errors import (
    AuthenticationFailed,
    OrderNotFound,
    OrderOutcomeUnknown,
    OrderRefused,
    RateLimited,
    TemporaryExchangeError,
)
from exchanges.models import ExchangeAccount
from tests.fake_exchange import fake_exchange  # noqa: F401  (the fixture, used through `fake`)

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(fake_exchange):  # noqa: F811
    return fake_exchange


@pytest.fixture
def account(fake, django_user_model):
    user = django_user_model.objects.create(username="trader")
    return ExchangeAccount.objects.create(
        owner=user, exchange_id="binance", label="Binance", mode="live",
        api_key=fake.api_key, api_secret=fake.api_secret,
    )


@pytest.fixture
def client(account):
    client = client_for(account, backoff=0.01, timeout=0.5, retries=2)
    yield client
    client.close()


def test_client_for_live_account_is_ccxt(client):
    assert isinstance(client, CcxtClient)


def test_market_data(client, fake):
    markets = client.load_markets()
    assert set(markets) == {"BTC/USDT", "ETH/USDT", "ETH/BTC"}
    assert markets["BTC/USDT"].quote == "USDT" and markets["BTC/USDT"].amount_step == Decimal("0.00001")

    ticker = client.fetch_ticker("BTC/USDT")
    assert ticker.last == Decimal("20000") and ticker.bid == Decimal("19998") and ticker.ask == Decimal("20002")
    assert ticker.base_volume == Decimal("25000") and ticker.time.tzinfo is not None

    candles = client.fetch_candles("BTC/USDT", "5m", since=datetime(2023, 1, 3, tzinfo=UTC), limit=3)
    assert [t.isoformat() for t in candles.index] == [
        "2023-01-03T00:00:00+00:00", "2023-01-03T00:05:00+00:00", "2023-01-03T00:10:00+00:00"]
    assert candles.iloc[0].tolist() == [16665.9, 16666.0, 16639.5, 16659.9, 3041.466]


def test_fetch_candles_drops_the_candle_still_forming(client, fake):
    now_ms = int(datetime.now(UTC).timestamp() * 1000) // 300_000 * 300_000
    fake.set_candles("BTC/USDT", "5m", [[now_ms - 600_000, 1, 2, 0.5, 1.5, 10], [now_ms - 300_000, 1, 2, 0.5, 1.5, 10],
                                        [now_ms, 1, 2, 0.5, 1.5, 10]])
    candles = client.fetch_candles("BTC/USDT", "5m", limit=10)
    assert len(candles) == 2 and candles.index[-1].timestamp() * 1000 == now_ms - 300_000


def test_balance_is_signed_and_decimal(client, fake):
    balance = client.fetch_balance()
    assert balance["USDT"].free == Decimal("10000") and balance["BTC"].total == Decimal("1")
    assert fake.private_requests("/account")  # went through the signature check


def test_market_and_limit_orders_fetch_cancel_open(client, fake):
    bought = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="bot1-0001")
    assert bought.status == "closed" and bought.filled == Decimal("0.01") and bought.average == Decimal("20000")
    assert bought.fee == Decimal("0.2") and bought.fee_currency == "USDT"
    assert fake.orders[-1]["clientOrderId"] == "bot1-0001"
    assert fake.balances["USDT"]["free"] == Decimal("10000") - Decimal("200.2")

    limit = client.create_order("BTC/USDT", "buy", "limit", Decimal("0.01"), Decimal("19000"),
                                client_order_id="bot1-0002")
    assert limit.status == "open" and limit.price == Decimal("19000") and limit.filled == 0
    assert [o.client_order_id for o in client.fetch_open_orders("BTC/USDT")] == ["bot1-0002"]
    assert client.fetch_order("BTC/USDT", client_order_id="bot1-0002").status == "open"
    assert client.fetch_order("BTC/USDT", exchange_order_id=limit.exchange_order_id).client_order_id == "bot1-0002"
    canceled = client.cancel_order("BTC/USDT", client_order_id="bot1-0002")
    assert canceled.status == "canceled"
    assert client.fetch_open_orders("BTC/USDT") == []

    by_cost = client.create_order("BTC/USDT", "buy", "market", None, client_order_id="bot1-0003",
                                  params={"quote_amount": Decimal("100")})
    assert by_cost.status == "closed" and by_cost.filled * 20000 < 100


def test_limit_order_fills_when_the_price_reaches_it(client, fake):
    client.create_order("BTC/USDT", "sell", "limit", Decimal("0.5"), Decimal("21000"), client_order_id="s1")
    fake.set_price("BTC/USDT", "21500")
    filled = client.fetch_order("BTC/USDT", client_order_id="s1")
    assert filled.status == "closed" and filled.filled == Decimal("0.5") and filled.average == Decimal("21000")
    assert filled.fee == Decimal("10.5")


def test_unknown_order_is_order_not_found(client):
    with pytest.raises(OrderNotFound):
        client.fetch_order("BTC/USDT", client_order_id="never-sent")
    with pytest.raises(OrderNotFound):
        client.cancel_order("BTC/USDT", client_order_id="never-sent")


def test_bracket_is_refused_on_ccxt(client, fake):
    with pytest.raises(OrderRefused, match="only on the paper and replay"):
        client.create_order("BTC/USDT", "sell", "bracket", Decimal("0.01"), client_order_id="b1",
                            params={"stop_loss_price": 19000})
    assert fake.orders == []


def test_timeout_after_accept_is_looked_up_never_sent_twice(client, fake):
    fake.inject("timeout")
    result = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="t-1")
    assert result.status == "closed" and result.client_order_id == "t-1" and result.filled == Decimal("0.01")
    assert result.fee == Decimal("0.2") and result.fee_currency == "USDT"  # from the order's trades
    assert fake.order_count("t-1") == 1
    assert len(fake.private_requests("/order", "POST")) == 1
    assert fake.balances["BTC"]["free"] == Decimal("1.01")


@pytest.mark.parametrize("fault", ["5xx"])
def test_temporary_faults_are_retried(client, fake, fault):
    fake.inject(fault, times=2)
    assert client.fetch_ticker("BTC/USDT").last == Decimal("20000")
    result = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id=f"r-{fault}")
    assert result.status == "closed"
    assert fake.order_count(f"r-{fault}") == 1


def test_persistent_temporary_fault_is_reported_temporary(client, fake):
    fake.inject("5xx", times=100)
    with pytest.raises(TemporaryExchangeError, match="3 attempts"):
        client.fetch_balance()
    with pytest.raises(TemporaryExchangeError, match="load markets"):  # nothing sent: not an unknown order
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="p-0")
    assert fake.private_requests("/order", "POST") == []
    fake.faults.clear()
    client.load_markets()
    fake.inject("5xx", times=100)
    with pytest.raises(OrderOutcomeUnknown, match="could not be confirmed"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="p-1")
    assert fake.order_count("p-1") == 0


def test_a_5xx_on_the_order_itself_leaves_it_unknown_and_sends_nothing_else(client, fake):
    client.load_markets()
    fake.inject("5xx", times=1)  # the order request itself: it may or may not have reached the exchange
    with pytest.raises(OrderOutcomeUnknown, match="outcome is unknown"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.02"), client_order_id="t-2")
    assert fake.order_count("t-2") == 0 and len(fake.private_requests("/order", "POST")) == 1


def test_502_after_accept_is_found_by_its_client_order_id(client, fake):
    fake.inject("502")
    result = client.create_order("BTC/USDT", "buy", "market", Decimal("0.02"), client_order_id="t-3")
    assert result.filled == Decimal("0.02") and result.client_order_id == "t-3"
    assert fake.order_count("t-3") == 1 and len(fake.private_requests("/order", "POST")) == 1


@pytest.mark.parametrize("answer", ["502", "timeout"])
def test_accepted_but_not_found_for_a_while_stays_unknown_never_refused_never_doubled(client, fake, answer):
    fake.hidden_for = 1.0
    fake.inject(answer)
    fake.inject("hidden")
    with pytest.raises(OrderOutcomeUnknown):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="h-1")
    # Binance accepts a filled order's id again, so the adapter did not resend it; a later lookup finds it.
    assert fake.order_count("h-1") == 1 and len(fake.private_requests("/order", "POST")) == 1
    with pytest.raises(OrderNotFound):
        client.fetch_order("BTC/USDT", client_order_id="h-1")
    import time

    time.sleep(1.1)
    assert client.fetch_order("BTC/USDT", client_order_id="h-1").filled == Decimal("0.01")


def test_where_duplicates_are_refused_the_same_id_is_sent_again_and_duplicate_means_it_exists(
        client, fake, settings):
    settings.EXCHANGE_CAPABILITIES = {"binance": {"refuses_duplicates": True}}
    refusing = client_for(client.account, backoff=0.01, timeout=0.5, retries=2)
    fake.hidden_for = 1.0
    fake.inject("502")
    fake.inject("hidden")
    # Sent, 502, not found, sent again with the same id: "Duplicate order sent" = it exists, still hidden.
    with pytest.raises(OrderOutcomeUnknown, match="duplicate"):
        refusing.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="h-2")
    assert len(fake.private_requests("/order", "POST")) == 2 and fake.order_count("h-2") == 1


def test_an_exchange_that_allows_duplicate_ids_never_gets_a_second_order(client, fake):
    fake.duplicates = "allow"
    fake.hidden_for = 1.0
    fake.inject("timeout")
    fake.inject("hidden")
    with pytest.raises(OrderOutcomeUnknown):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="h-3")
    assert fake.order_count("h-3") == 1


def test_429_pauses_every_request_to_the_exchange_until_retry_after(client, fake, account):
    fake.retry_after = 30
    fake.inject("429")
    with pytest.raises(RateLimited, match="paused until"):
        client.fetch_ticker("BTC/USDT")
    seen = len(fake.requests)
    other = client_for(account, backoff=0.01, timeout=0.5, retries=2)  # another client: the pause is shared
    with pytest.raises(RateLimited, match="nothing was sent"):
        other.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="rl-1")
    with pytest.raises(RateLimited):
        client.fetch_balance()
    assert len(fake.requests) == seen and fake.order_count("rl-1") == 0


def test_418_ban_pauses_until_the_time_the_exchange_gave(client, fake):
    from datetime import timedelta

    from django.utils import timezone

    from exchanges import rate_limits

    fake.ban(120)
    with pytest.raises(RateLimited, match="banned") as raised:
        client.fetch_balance()
    assert raised.value.until > timezone.now() + timedelta(seconds=100)
    for _ in range(5):
        with pytest.raises(RateLimited):
            client.fetch_ticker("BTC/USDT")
    assert len(fake.requests) == 1, "no request during the ban"
    rate_limits.clear(client.pause_key)
    fake.banned_until = 0
    assert client.fetch_ticker("BTC/USDT").last == Decimal("20000")


def test_duplicate_client_order_id_returns_the_existing_order(client, fake):
    first = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="d-1")
    again = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="d-1")
    assert again.exchange_order_id == first.exchange_order_id and fake.order_count("d-1") == 1


def test_insufficient_funds_refused_with_reason(client, fake):
    with pytest.raises(OrderRefused, match="insufficient balance"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("5"), client_order_id="i-1")
    fake.inject("insufficient")
    with pytest.raises(OrderRefused, match="insufficient balance"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="i-2")
    assert fake.orders == [] and fake.balances["USDT"]["free"] == Decimal("10000")


def test_invalid_orders_refused(client, fake):
    with pytest.raises(OrderRefused, match="needs a price"):
        client.create_order("BTC/USDT", "buy", "limit", Decimal("0.01"), client_order_id="v-1")
    with pytest.raises(OrderRefused, match="amount must be positive"):
        client.create_order("BTC/USDT", "buy", "market", Decimal("0"), client_order_id="v-2")
    with pytest.raises(OrderRefused, match="amount must be a number"):
        client.create_order("BTC/USDT", "buy", "market", "a lot", client_order_id="v-4")
    with pytest.raises(OrderRefused, match="unknown market"):
        client.create_order("DOGE/USDT", "buy", "market", Decimal("1"), client_order_id="v-3")
    assert fake.orders == []


def test_partial_fill(client, fake):
    fake.inject("partial_fill")
    result = client.create_order("BTC/USDT", "buy", "limit", Decimal("0.02"), Decimal("20000"),
                                 client_order_id="pf-1")
    assert result.status == "open" and result.filled == Decimal("0.01") and result.remaining == Decimal("0.01")
    fake.inject("partial_fill")
    market = client.create_order("BTC/USDT", "buy", "market", Decimal("0.02"), client_order_id="pf-2")
    assert market.status == "expired" and market.filled == Decimal("0.01")


def test_auth_error_marks_account_invalid(client, account, fake):
    fake.inject("auth")
    with pytest.raises(AuthenticationFailed, match="rejected the API keys"):
        client.fetch_balance()
    account.refresh_from_db()
    assert account.status == ExchangeAccount.Status.INVALID
    assert "Invalid API-key" in account.status_detail and fake.api_secret not in account.status_detail


def test_wrong_secret_is_an_auth_error(account, fake):
    account.api_secret = "not-the-secret-000000"
    account.save()
    client = client_for(account, backoff=0.01, timeout=0.5)
    with pytest.raises(AuthenticationFailed, match="Signature"):
        client.fetch_balance()
    account.refresh_from_db()
    assert account.status == ExchangeAccount.Status.INVALID


def test_a_separate_process_trades_on_the_fake(fake):
    """A worker process reaches the test's fake exchange through CCXT_URL_OVERRIDES in its environment."""
    import json
    import os
    import subprocess
    import sys

    from django.conf import settings

    code = (
        "import django; django.setup()\n"
        "from exchanges.clients.ccxt_client import build_exchange\n"
        f"ex = build_exchange('binance', api_key={fake.api_key!r}, secret={fake.api_secret!r})\n"
        "print(ex.create_order('BTC/USDT', 'market', 'buy', 0.01, None, {'clientOrderId': 'proc-1'})['status'])\n"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingbot.settings",
           "CCXT_URL_OVERRIDES": json.dumps({"binance": fake.url})}
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=settings.BASE_DIR, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "closed" and fake.order_count("proc-1") == 1


def test_open_orders_of_every_symbol(client, fake):
    fake.balances["ETH"]["free"] = Decimal("1")
    client.create_order("BTC/USDT", "buy", "limit", Decimal("0.01"), Decimal("19000"), client_order_id="o-1")
    client.create_order("ETH/BTC", "sell", "limit", Decimal("0.5"), Decimal("0.08"), client_order_id="o-2")
    assert [(o.client_order_id, o.symbol) for o in client.fetch_open_orders()] == [
        ("o-1", "BTC/USDT"), ("o-2", "ETH/BTC")]
    assert fake.balances["ETH"]["locked"] == Decimal("0.5")


def test_testnet_account_uses_the_sandbox_urls_redirected(account, fake):
    account.mode = ExchangeAccount.Mode.TESTNET
    account.save()
    client = client_for(account, backoff=0.01, timeout=2)
    assert client.exchange.isSandboxModeEnabled
    assert client.fetch_balance()["USDT"].free == Decimal("10000")
    assert all(url.startswith(fake.url) for url in client.exchange.urls["api"].values() if isinstance(url, str))


def test_stop_limit_and_stop_market_orders_wait_for_their_stop(client, fake):
    stop = client.create_order("BTC/USDT", "sell", "stop_limit", Decimal("0.1"), Decimal("18900"),
                               client_order_id="s-1", stop_price=Decimal("19000"))
    market_stop = client.create_order("BTC/USDT", "sell", "stop_market", Decimal("0.1"), client_order_id="s-2",
                                      stop_price=Decimal("18000"))
    assert stop.status == "open" and market_stop.status == "open" and stop.filled == 0
    assert [o["type"] for o in fake.orders] == ["STOP_LOSS_LIMIT", "STOP_LOSS"]
    assert fake.balances["BTC"] == {"free": Decimal("0.8"), "locked": Decimal("0.2")}
    fake.set_price("BTC/USDT", "18950")
    assert client.fetch_order("BTC/USDT", client_order_id="s-1").status == "closed"
    assert client.fetch_order("BTC/USDT", client_order_id="s-2").status == "open"
    fake.set_price("BTC/USDT", "17990")
    filled = client.fetch_order("BTC/USDT", client_order_id="s-2")
    assert filled.status == "closed" and filled.average == Decimal("17990")
    with pytest.raises(OrderRefused, match="trigger immediately"):
        client.create_order("BTC/USDT", "sell", "stop_market", Decimal("0.1"), client_order_id="s-3",
                            stop_price=Decimal("18500"))


def test_clock_skew_is_measured_and_the_request_sent_again_never_an_unknown_order(client, fake):
    client.load_markets()
    fake.inject("clock_skew")
    result = client.create_order("BTC/USDT", "buy", "market", Decimal("0.01"), client_order_id="c-1")
    assert result.status == "closed" and fake.order_count("c-1") == 1
    assert fake.private_requests("/time") and len(fake.private_requests("/order", "POST")) == 2
    fake.inject("clock_skew")
    assert client.fetch_balance()["BTC"].free == Decimal("1.01")
