"""/stopentry's switch: no new positions for any of the owner's bots while it is set; exits still happen."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.conf import settings
from django.utils import timezone

from bots import entries, risk, tick
from bots.models import Bot, BotEvent, Order, Position
from bots.tests.factories import make_account, make_bot, make_strategy_config, make_user
from exchanges.candles import load_candles, read_candle_file, upsert_candles

pytestmark = pytest.mark.django_db


def test_the_risk_manager_refuses_an_entry_while_entries_are_stopped():
    state = risk.RiskState(now=timezone.now(), equity=D("1000"), equity_peak=D("1000"), day_start_equity=D("1000"),
                           entries_stopped=True)
    decision = risk.review_entry(risk.RiskLimits(), state, D("0.1"))
    assert not decision.allowed and decision.rule == risk.ENTRIES_STOPPED and not decision.is_halt
    allowed = risk.review_entry(risk.RiskLimits(), risk.RiskState(now=state.now, equity=D("1000"),
                                                                  equity_peak=D("1000"), day_start_equity=D("1000")),
                                D("0.1"))
    assert allowed.allowed and allowed.cash == D("100")


def test_stop_and_resume_are_per_user_and_say_whether_they_changed_anything():
    alice, bob = make_user("alice"), make_user("bob")
    assert entries.stop_entries(alice, source="telegram") is True
    assert entries.stop_entries(alice, source="telegram") is False
    assert entries.entries_stopped_for(alice.pk) and not entries.entries_stopped_for(bob.pk)
    assert entries.resume_entries(alice, source="telegram") is True
    assert entries.resume_entries(alice, source="telegram") is False
    assert not entries.entries_stopped_for(alice.pk)


def test_a_replay_bot_does_not_enter_while_entries_are_stopped_and_does_after_resume():
    candles = read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:900]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    stored = load_candles("binance", "BTC/USDT", "5m")
    owner = make_user()
    bot = make_bot(owner, account=make_account(owner), strategy=make_strategy_config(owner), mode=Bot.Mode.REPLAY,
                   replay_start=stored.index[0].to_pydatetime(), replay_speed=1, status=Bot.Status.RUNNING,
                   stop_loss_pct=D("0"), take_profit_pct=D("0"), max_consecutive_losses=0)
    entries.stop_entries(owner, source="telegram")
    tick.clear_candle_cache()
    k = 1
    while not BotEvent.objects.filter(bot=bot, kind="risk_refusal").exists():
        Bot.objects.filter(pk=bot.pk).update(replay_offset=timedelta(minutes=5) * k, next_tick_at=None)
        assert tick.tick_bot(bot.pk).outcome == "ticked"
        k += 1
        assert k < 900
    refusal = BotEvent.objects.get(bot=bot, kind="risk_refusal")
    assert refusal.data["rule"] == "entries_stopped" and "New entries are stopped" in refusal.message
    assert not Order.objects.filter(bot=bot).exists()
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.RUNNING  # still running, only not entering

    entries.resume_entries(owner, source="telegram")
    while not Position.objects.filter(bot=bot).exists():
        Bot.objects.filter(pk=bot.pk).update(replay_offset=timedelta(minutes=5) * k, next_tick_at=None)
        tick.tick_bot(bot.pk)
        k += 1
        assert k < 900
    assert Order.objects.filter(bot=bot, side="buy").count() == 1
