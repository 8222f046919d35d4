"""Fixtures of the command tests: the fake Binance (real ccxt client against it), users, a paper and a live
exchange account, and a replay bot with an open position made by real ticks."""

import pytest

from bots.tests.factories import make_account, make_user
from exchanges.models import ExchangeAccount
from tests.fake_exchange import FakeExchange


@pytest.fixture
def fake(settings):
    server = FakeExchange().start()
    settings.CCXT_URL_OVERRIDES = {"binance": server.url}
    yield server
    server.stop()


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def paper(alice):
    return make_account(alice, label="Paper", mode=ExchangeAccount.Mode.PAPER)


@pytest.fixture
def live(alice, fake):
    account = make_account(alice, label="Binance", mode=ExchangeAccount.Mode.LIVE)
    account.api_key, account.api_secret = fake.api_key, fake.api_secret
    account.save()
    return account


def paper_balances(account) -> dict:
    from exchanges.models import SimBalance

    return {b.asset: b.free + b.used for b in SimBalance.objects.filter(wallet__key=f"account:{account.pk}")}




def replay_bot_with_position(owner, account, **fields):
    """A replay bot on the shipped BTC/USDT 5m candles whose first tick buys (the RSI-cross entry candle), as
    a real tick does it: the entry and its protective bracket on the bot's own simulated wallet."""
    from datetime import timedelta

    from django.conf import settings

    from bots import tick
    from bots.models import Bot, Position
    from bots.tests.factories import make_bot
    from exchanges.candles import load_candles, read_candle_file, upsert_candles
    from strategies.registry import build_strategy

    upsert_candles("binance", "BTC/USDT", "5m", read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv",
                                                                 "5m"))
    candles = load_candles("binance", "BTC/USDT", "5m")
    strategy = build_strategy("rsi_cross", {})
    signals = strategy.signals(candles)
    first_buy = next(i for i, s in enumerate(signals) if s == 1 and i > strategy.warmup)
    fields.setdefault("status", Bot.Status.RUNNING)
    bot = make_bot(owner, name=fields.pop("name", "replay rsi"), account=account, mode=Bot.Mode.REPLAY,
                   replay_start=candles.index[first_buy].to_pydatetime(), replay_speed=1,
                   replay_offset=timedelta(minutes=5), **fields)
    tick.clear_candle_cache()
    result = tick.tick_bot(bot.pk)
    assert result.signal == "BUY" and result.orders, result
    assert Position.objects.filter(bot=bot, status="open").exists()
    return Bot.objects.get(pk=bot.pk)
