"""Parity on candles without volume (issue 16, defects 1 and 2): a VWAP-deviation replay bot and the backtester
make the same trades when a stretch of candles traded nothing (the backtester used to trade on a VWAP made
from a running sum's residue, the bot's short window did not); a breakout bot buys inside such a stretch
without going to `error` (its reason divided by the zero mean volume)."""

from decimal import Decimal as D

import pytest

from bots.models import Bot
from bots.tests.factories import make_strategy_config
from bots.tests.test_parity import FILE, compare, play, replay_bot
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from strategies.backtest import BacktestSettings, run_backtest
from strategies.registry import build_strategy

pytestmark = pytest.mark.django_db
PARAMS = {"window": 20, "threshold": 0.002}


def stored_without_volume():
    candles = read_candle_file(FILE, "5m").iloc[:600].copy()
    candles.iloc[296:406, candles.columns.get_loc("volume")] = 0.0
    upsert_candles("binance", "NOVOL/USDT", "5m", candles)
    return load_candles("binance", "NOVOL/USDT", "5m")


def test_vwap_bot_and_backtester_agree_across_candles_without_volume():
    candles = stored_without_volume()
    assert (candles["volume"].iloc[296:406] == 0).all()
    bot = replay_bot(candles, stop_loss_pct=D("0.005"))
    Bot.objects.filter(pk=bot.pk).update(symbol="NOVOL/USDT", strategy=make_strategy_config(
        bot.owner, name="vwap", strategy="vwap_deviation", params=PARAMS))
    bot.refresh_from_db()
    play(bot, len(candles))
    strategy = build_strategy("vwap_deviation", PARAMS)
    settings = BacktestSettings(cash=10000, fee=0.001, stop_loss=0.005)
    expected = run_backtest(candles, strategy.signals(candles), settings).trades
    assert len(expected) >= 1
    # No entry while the window had no volume (candles 315..405): the backtester used to buy at 316.
    inside = [t for t in expected if candles.index[315].isoformat() <= t["entry_time"].replace("Z", "+00:00")
              <= candles.index[406].isoformat()]
    assert inside == []
    compare(bot, expected)


def test_breakout_bot_buys_without_volume_and_matches_the_backtester():
    candles = stored_without_volume()
    params = {"lookback": 10, "volume_factor": 0}
    bot = replay_bot(candles)
    Bot.objects.filter(pk=bot.pk).update(symbol="NOVOL/USDT", strategy=make_strategy_config(
        bot.owner, name="breakout", strategy="breakout", params=params))
    bot.refresh_from_db()
    play(bot, len(candles))  # every tick "ticked": none raised on the reason's division
    strategy = build_strategy("breakout", params)
    expected = run_backtest(candles, strategy.signals(candles), BacktestSettings(cash=10000, fee=0.001)).trades
    inside = [t for t in expected if candles.index[306].isoformat() <= t["entry_time"].replace("Z", "+00:00")
              <= candles.index[406].isoformat()]
    assert len(inside) >= 2
    bot.refresh_from_db()
    assert bot.status == Bot.Status.RUNNING
    compare(bot, expected)
