"""The resolution step: a parse matched to the user's accounts (markets from the fake exchange through the real
ccxt client), bots and positions; questions instead of guesses; never another user's rows."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from assistant import market_listing
from assistant.offline import parse_offline
from assistant.resolution import HELP, NEEDS_INPUT, NOT_POSSIBLE, READY, UNKNOWN, resolve
from bots.models import Position
from bots.tests.factories import make_account, make_bot, make_user
from exchanges.models import Candle, ExchangeAccount

pytestmark = pytest.mark.django_db


def r(text, user, **choices):
    return resolve(parse_offline(text), user, **choices)


@pytest.fixture
def alice(fake_exchange):
    user = make_user("alice")
    make_account(user, label="paper")
    return user


def test_a_complete_buy_on_the_one_account_is_ready(alice):
    res = r("buy 100 usdt of btc", alice)
    assert res.status == READY and res.account.label == "paper" and res.question == ""
    assert res.ticket["account"] == str(res.account.pk) and res.ticket["amount"] == "100"


def test_a_missing_amount_is_asked_with_a_suggested_ticket(alice):
    res = r("buy BTC", alice)
    assert res.status == NEEDS_INPUT and res.asks == "amount"
    assert "How much BTC" in res.question and "100 USDT" in res.question
    assert res.ticket["symbol"] == "BTC/USDT" and res.ticket["order_type"] == "market"
    assert res.ticket["account"] == str(res.account.pk) and res.ticket["amount"] is None


def test_a_number_without_a_unit_asks_which_unit(alice):
    res = r("buy btc for 100 on paper please, price 50000 or so", alice)
    assert res.status == READY  # "for 100" counts what is paid; "price 50000" is the limit price
    res = r("buy 100 of btc", alice)
    assert res.status == NEEDS_INPUT and res.asks == "unit"
    assert [c.key for c in res.choices] == ["base", "quote"]


def test_a_coin_on_two_accounts_asks_which_account(alice, fake_exchange):
    live = make_account(alice, label="main", mode=ExchangeAccount.Mode.LIVE)
    res = r("sell 0.1 btc", alice)
    assert res.status == NEEDS_INPUT and res.asks == "account"
    assert sorted(c.label for c in res.choices) == sorted(str(a) for a in ExchangeAccount.objects.filter(owner=alice))
    # The user picks one: by a hint in the text, or by the choice's key.
    assert r("sell 0.1 btc on my main account", alice).account == live
    assert r("sell 0.1 btc on live", alice).account == live
    assert r("sell 0.1 btc", alice, account_id=live.pk).account == live


def test_a_price_on_two_accounts_of_one_exchange_is_not_ambiguous(alice):
    make_account(alice, label="main", mode=ExchangeAccount.Mode.LIVE)
    assert r("price of btc", alice).status == READY
    assert r("alert me when btc goes above 70k", alice).status == READY


def test_a_market_no_account_lists_is_not_possible(alice):
    res = r("buy 1 sol", alice)
    assert res.status == NOT_POSSIBLE and "SOL/USDT" in res.question


def test_markets_are_loaded_once_and_cached(alice, fake_exchange):
    account = ExchangeAccount.objects.get(owner=alice)
    market_listing.forget(account)
    before = sum(1 for _m, path, _p in fake_exchange.requests if path.endswith("exchangeInfo"))
    for _ in range(3):
        r("buy 100 usdt of btc", alice)
    after = sum(1 for _m, path, _p in fake_exchange.requests if path.endswith("exchangeInfo"))
    assert after - before == 1


def test_without_the_exchange_stored_candles_stand_in(settings):
    settings.CCXT_URL_OVERRIDES = {"binance": "http://127.0.0.1:9"}  # nothing listens there
    user = make_user("carol")
    account = make_account(user)
    market_listing.forget(account)
    Candle.objects.create(exchange="binance", symbol="SOL/USDT", timeframe="5m", time=datetime(2026, 1, 1, tzinfo=UTC),
                          open=1, high=1, low=1, close=1, volume=1)
    assert market_listing.listed_symbols(account) == frozenset({"SOL/USDT"})
    assert r("buy 1 sol", user).status == READY
    assert r("buy 1 btc", user).status == NOT_POSSIBLE
    market_listing.forget(account)


def test_an_account_hint_that_matches_nothing_asks(alice):
    res = r("buy 100 usdt of btc on kraken", alice)
    assert res.status == NEEDS_INPUT and res.asks == "account" and "kraken" in res.question


def test_no_account_at_all_is_not_possible():
    res = r("buy 100 usdt of btc", make_user("dave"))
    assert res.status == NOT_POSSIBLE and "no exchange account" in res.question


def test_bots_are_found_by_name_prefix_or_coin(alice):
    alpha = make_bot(alice, name="Alpha scalper")
    make_bot(alice, name="beta", symbol="ETH/USDT")
    assert r("stop bot alpha", alice).bot == alpha
    assert r("stop bot 'alpha scalper'", alice).bot == alpha
    assert r("stop my eth bot", alice).bot.name == "beta"
    missing = r("stop bot gamma", alice)
    assert missing.status == NEEDS_INPUT and missing.asks == "bot" and "gamma" in missing.question
    assert sorted(c.label for c in missing.choices) == ["Alpha scalper", "beta"]
    ask = r("stop the bot", alice)
    assert ask.status == NEEDS_INPUT and ask.asks == "bot"
    assert r("stop all bots", alice).status == READY
    assert r("bot status", alice).status == READY and len(r("bot status", alice).bots) == 2


def test_two_bots_matching_ask_which(alice):
    make_bot(alice, name="grid one")
    make_bot(alice, name="grid two")
    res = r("start bot grid", alice)
    assert res.status == NEEDS_INPUT and len(res.choices) == 2


def test_another_users_bots_and_accounts_are_never_matched(alice):
    bob = make_user("bob")
    bobs_bot = make_bot(bob, name="alpha")
    bobs_account = make_account(bob, label="main")
    res = r("stop bot alpha", alice)
    assert res.bot is None and res.status == NOT_POSSIBLE  # alice has no bots
    assert r("stop bot alpha", alice, bot_id=bobs_bot.pk).bot is None
    chosen = r("sell 0.1 btc", alice, account_id=bobs_account.pk)
    assert chosen.account is None and chosen.status == NEEDS_INPUT
    assert r("buy 1 btc on my main account", alice).status == NEEDS_INPUT


def _open_position(bot, symbol="BTC/USDT"):
    return Position.objects.create(bot=bot, symbol=symbol, quantity=Decimal("0.1"), entry_quantity=Decimal("0.1"),
                                   average_entry=Decimal("20000"), opened_at=datetime.now(UTC))


def test_close_position_finds_the_open_position(alice):
    bot = make_bot(alice, name="alpha")
    position = _open_position(bot)
    res = r("close my btc position", alice)
    assert res.status == READY and res.position == position and res.bot == bot
    assert r("close position on bot alpha", alice).position == position
    assert r("close my eth position", alice).status == NOT_POSSIBLE


def test_two_open_positions_ask_which_unless_all(alice):
    _open_position(make_bot(alice, name="alpha"))
    _open_position(make_bot(alice, name="beta"))
    res = r("close my btc position", alice)
    assert res.status == NEEDS_INPUT and res.asks == "position" and len(res.choices) == 2
    everything = r("close all positions", alice)
    assert everything.status == READY and len(everything.positions) == 2


def test_alert_without_direction_asks_above_or_below(alice):
    res = r("let me know when bitcoin hits 100k", alice)
    assert res.status == NEEDS_INPUT and res.asks == "direction"
    assert [c.key for c in res.choices] == ["above", "below"]


def test_cancel_without_a_target_asks(alice):
    res = r("cancel order", alice)
    assert res.status == NEEDS_INPUT and res.asks == "orders"
    assert r("cancel all orders", alice).status == READY
    assert r("cancel my btc orders", alice).status == READY


def test_help_and_unknown_answer_with_what_can_be_done(alice):
    assert r("help", alice).status == HELP and "buy 100 USDT of BTC" in r("help", alice).question
    assert r("tell me a joke", alice).status == UNKNOWN
