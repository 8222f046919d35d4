"""The create-bot form: symbols from the exchange (real ccxt against the fake), explained and validated risk."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from bots.forms import BotForm
from bots.models import Bot
from bots.tests.test_live import make_strategy_config, make_user
from exchanges.models import ExchangeAccount
from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return make_user("alice")


@pytest.fixture
def testnet_account(alice, fake_exchange):  # noqa: F811
    return ExchangeAccount.objects.create(
        owner=alice, exchange_id="binance", label="testnet", mode="testnet",
        api_key=fake_exchange.api_key, api_secret=fake_exchange.api_secret,
    )


def form_data(account, strategy, **overrides):
    data = {
        "name": "btc live", "exchange_account": str(account.pk), "strategy": str(strategy.pk), "mode": "live",
        "symbol": "BTC/USDT", "timeframe": "5m", "starting_balance": "10000", "fee": "0.1", "replay_speed": "300",
        "stake": "50", "max_position_pct": "20", "stop_loss_pct": "2", "take_profit_pct": "6",
        "trailing_stop_pct": "0", "daily_loss_limit_pct": "5", "max_drawdown_pct": "25",
        "max_consecutive_losses": "5", "loss_cooldown_minutes": "60", "max_orders_per_hour": "20",
        "max_open_positions": "5",
    }
    data.update(overrides)
    return data


def logged_in(user):
    client = Client()
    client.force_login(user)
    return client


def test_create_bot_stores_percentages_as_fractions_and_opens_its_page(alice, testnet_account):
    strategy = make_strategy_config(alice)
    response = logged_in(alice).post("/bots/new/", form_data(testnet_account, strategy, symbol="eth/usdt"))
    assert response.status_code == 302, response.content.decode()[:2000]
    bot = Bot.objects.for_user(alice).get()
    assert response["Location"] == f"/bots/{bot.pk}/"
    assert bot.symbol == "ETH/USDT" and bot.mode == "live" and bot.owner == alice
    assert bot.stake == Decimal("0.5") and bot.max_position_pct == Decimal("0.2")
    assert bot.stop_loss_pct == Decimal("0.02") and bot.fee == Decimal("0.001")


def test_a_symbol_the_exchange_does_not_list_is_refused(alice, testnet_account):
    strategy = make_strategy_config(alice)
    response = logged_in(alice).post("/bots/new/", form_data(testnet_account, strategy, symbol="DOGE/EUR"))
    assert response.status_code == 200
    assert "binance has no market DOGE/EUR" in response.content.decode()
    assert not Bot.objects.exists()


def test_an_unreachable_exchange_gives_a_clear_error_and_keeps_what_was_typed(alice, testnet_account, fake_exchange):  # noqa: F811
    strategy = make_strategy_config(alice)
    fake_exchange.stop()
    response = logged_in(alice).post("/bots/new/", form_data(testnet_account, strategy, name="kept name"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Could not load the markets of binance" in html and "Nothing was saved" in html
    assert 'value="kept name"' in html and 'value="50"' in html  # the stake, still in percent
    assert not Bot.objects.exists()


def test_symbol_options_list_the_exchange_markets_or_say_why_not(alice, testnet_account, fake_exchange):  # noqa: F811
    client = logged_in(alice)
    html = client.get("/bots/new/symbols/", {"exchange_account": testnet_account.pk, "mode": "live"}).content.decode()
    assert '<option value="BTC/USDT">' in html and '<option value="ETH/BTC">' in html
    bob = make_user("bob")
    bobs = ExchangeAccount.objects.create(owner=bob, exchange_id="binance", label="bob", mode="testnet")
    html = client.get("/bots/new/symbols/", {"exchange_account": bobs.pk, "mode": "live"}).content.decode()
    assert "Choose an exchange account" in html and "<option" not in html
    html = client.get("/bots/new/symbols/", {"exchange_account": "not-a-uuid"}).content.decode()
    assert "Choose an exchange account" in html
    fake_exchange.stop()
    html = client.get("/bots/new/symbols/", {"exchange_account": testnet_account.pk, "mode": "live"}).content.decode()
    assert "Could not load the markets of binance" in html


def test_risk_settings_are_explained_and_validated(alice, testnet_account):
    strategy = make_strategy_config(alice)
    html = logged_in(alice).get("/bots/new/").content.decode()
    assert "Sell when the price falls this % below the entry price" in html
    assert "Halt the bot when equity falls this % below its peak" in html
    bad = form_data(testnet_account, strategy, stake="0", max_position_pct="150", stop_loss_pct="-1",
                    take_profit_pct="0.1", daily_loss_limit_pct="abc")
    form = BotForm(bad, user=alice)
    assert not form.is_valid()
    assert set(form.errors) >= {"stake", "max_position_pct", "stop_loss_pct", "daily_loss_limit_pct"}
    form = BotForm(form_data(testnet_account, strategy, take_profit_pct="0.1"), user=alice)
    assert not form.is_valid()
    assert "above the fees of a round trip" in str(form.errors["take_profit_pct"])
    form = BotForm(form_data(testnet_account, strategy, max_position_pct="0"), user=alice)
    assert not form.is_valid() and "block every entry" in str(form.errors["max_position_pct"])


def test_mode_rules_live_needs_a_real_account_replay_needs_a_past_start(alice, testnet_account):
    strategy = make_strategy_config(alice)
    paper = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="paper", mode="paper")
    form = BotForm(form_data(paper, strategy, mode="live"), user=alice)
    assert not form.is_valid() and "needs a live or testnet exchange account" in str(form.errors["mode"])
    form = BotForm(form_data(testnet_account, strategy, mode="replay"), user=alice)
    assert not form.is_valid() and "needs the time of the first candle" in str(form.errors["replay_start"])
    future = (timezone.now() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    form = BotForm(form_data(testnet_account, strategy, mode="replay", replay_start=future), user=alice)
    assert not form.is_valid() and "must start in the past" in str(form.errors["replay_start"])


def test_another_users_account_or_strategy_cannot_be_chosen(alice, testnet_account):
    bob = make_user("bob")
    bobs_strategy = make_strategy_config(bob)
    bobs_account = ExchangeAccount.objects.create(owner=bob, exchange_id="binance", label="b", mode="testnet")
    form = BotForm(form_data(bobs_account, bobs_strategy), user=alice)
    assert not form.is_valid()
    assert "exchange_account" in form.errors and "strategy" in form.errors


def test_duplicate_name_is_refused(alice, testnet_account):
    strategy = make_strategy_config(alice)
    assert logged_in(alice).post("/bots/new/", form_data(testnet_account, strategy)).status_code == 302
    form = BotForm(form_data(testnet_account, strategy), user=alice)
    assert not form.is_valid() and "already have a bot with this name" in str(form.errors["name"])


def stored_candles(symbol="BTC/USDT", timeframe="5m", count=50):
    import pandas as pd

    from exchanges.candles import upsert_candles

    index = pd.date_range("2023-01-02 16:45", periods=count, freq="5min", tz="UTC", name="time")
    frame = pd.DataFrame({"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0, "volume": 1.0}, index=index)
    upsert_candles("binance", symbol, timeframe, frame)
    return index


def test_replay_bot_offers_the_stored_markets_and_checks_their_candles(alice):
    strategy = make_strategy_config(alice)
    paper = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="paper", mode="paper")
    index = stored_candles()
    client = logged_in(alice)
    html = client.get("/bots/new/symbols/", {"exchange_account": paper.pk, "mode": "replay"}).content.decode()
    assert '<option value="BTC/USDT">' in html and "1 market on this exchange" in html

    start = index[5].strftime("%Y-%m-%dT%H:%M")
    data = form_data(paper, strategy, mode="replay", replay_start=start, name="replayer")
    form = BotForm({**data, "timeframe": "1h"}, user=alice)
    assert not form.is_valid() and "No stored 1h candles of BTC/USDT" in str(form.errors["timeframe"])
    form = BotForm({**data, "replay_start": "2024-01-01T00:00"}, user=alice)
    assert not form.is_valid() and "start the replay before" in str(form.errors["replay_start"])
    form = BotForm({**data, "symbol": "ETH/USDT"}, user=alice)
    assert not form.is_valid() and "no market ETH/USDT" in str(form.errors["symbol"])

    response = client.post("/bots/new/", data)
    assert response.status_code == 302
    bot = Bot.objects.for_user(alice).get(name="replayer")
    assert bot.mode == "replay" and bot.replay_start == index[5].to_pydatetime()


def test_paper_bot_symbols_come_from_the_exchange_through_ccxt(alice, fake_exchange):  # noqa: F811
    paper = ExchangeAccount.objects.create(owner=alice, exchange_id="binance", label="paper", mode="paper")
    html = logged_in(alice).get("/bots/new/symbols/", {"exchange_account": paper.pk, "mode": "paper"}).content
    assert b'<option value="ETH/USDT">' in html


def test_the_empty_form_shows_the_default_risk_settings_in_percent(alice):
    html = logged_in(alice).get("/bots/new/").content.decode()
    assert 'name="stake" value="10"' in html
    assert 'name="fee" value="0.1"' in html
    assert 'name="stop_loss_pct" value="2"' in html
    assert 'name="take_profit_pct" value="6"' in html


@pytest.mark.parametrize(("overrides", "field", "message"), [
    ({"replay_speed": "0"}, "replay_speed", "greater than or equal to 1"),
    ({"replay_speed": str(2**63 - 1)}, "replay_speed", "less than or equal to 10000"),
    ({"replay_start": "0001-01-01T00:00"}, "replay_start", "cannot start before 2009-01-01"),
    ({"loss_cooldown_minutes": str(2**31 - 1)}, "loss_cooldown_minutes", "less than or equal to 525600"),
    ({"max_orders_per_hour": "999999999"}, "max_orders_per_hour", "less than or equal to 10000"),
])
def test_out_of_range_bot_settings_are_form_errors_and_nothing_is_saved(alice, testnet_account, overrides, field,
                                                                        message):
    """Issue 9, item 16: replay speed 0 (the bot shows running and never ticks), a start in year 1, a speed at
    int64 max (OverflowError in the tick) were all saved."""
    from django.conf import settings

    from exchanges.candles import read_candle_file, upsert_candles

    upsert_candles("binance", "BTC/USDT", "5m", read_candle_file(
        settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:50])
    strategy = make_strategy_config(alice)
    data = form_data(testnet_account, strategy, mode="replay", **{"replay_start": "2023-01-02T18:00", **overrides})
    form = BotForm(data, user=alice)
    assert not form.is_valid()
    assert message in " ".join(form.errors.get(field, [])), form.errors
    response = logged_in(alice).post("/bots/new/", data)
    assert response.status_code == 200 and not Bot.objects.exists()


def test_number_inputs_carry_the_model_ranges(alice, testnet_account):
    form = BotForm(user=alice)
    assert 'min="1"' in str(form["replay_speed"]) and 'max="10000"' in str(form["replay_speed"])


def test_the_model_refuses_the_ranges_from_any_door(alice, testnet_account):
    from django.core.exceptions import ValidationError

    from bots.tests.factories import make_bot

    bot = make_bot(alice, account=testnet_account, mode=Bot.Mode.REPLAY, replay_start=None)
    for changes, field in (({"replay_speed": 0}, "replay_speed"), ({"replay_start": None}, "replay_start"),
                           ({"replay_start": timezone.now() + timedelta(days=1)}, "replay_start")):
        for name, value in changes.items():
            setattr(bot, name, value)
        with pytest.raises(ValidationError) as caught:
            bot.full_clean()
        assert field in caught.value.message_dict
        bot.replay_speed, bot.replay_start = 300, timezone.now() - timedelta(days=30)
    bot.full_clean()
