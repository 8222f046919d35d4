"""manage.py bot: list/start/stop/pause/resume, scoped by --user, with clear errors that change nothing."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bots.models import Bot, BotEvent
from bots.tests.factories import make_bot, make_user

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("bot", *args, stdout=out)
    return out.getvalue()


def test_list_start_pause_resume_stop():
    alice = make_user("alice")
    bot = make_bot(alice, name="rsi")
    assert "stopped" in run("list") and "alice: rsi" in run("list")
    assert run("start", str(bot.pk), "--user", "alice") == f"bot {bot.pk} (rsi): running\n"
    assert run("pause", str(bot.pk)).endswith("paused\n")
    assert run("resume", str(bot.pk)).endswith("running\n")
    assert run("stop", str(bot.pk)).endswith("stopped\n")
    events = list(BotEvent.objects.filter(bot=bot).values_list("kind", "source", "actor__username"))
    assert events[0] == ("start", "command", "alice") and events[-1] == ("stop", "command", None)


def test_a_user_cannot_list_or_change_someone_elses_bot():
    alice, bob = make_user("alice"), make_user("bob")
    make_bot(alice, name="alices")
    bobs = make_bot(bob, name="bobs")
    listing = run("list", "--user", "alice")
    assert "alices" in listing and "bobs" not in listing
    for action in ("start", "stop", "pause", "resume", "tick"):
        with pytest.raises(CommandError, match=f"No bot {bobs.pk} for user 'alice'"):
            run(action, str(bobs.pk), "--user", "alice")
    assert Bot.objects.get(pk=bobs.pk).status == "stopped" and not BotEvent.objects.exists()


@pytest.mark.parametrize("args,message", [
    (("start",), "needs a bot id"), (("start", "x"), "whole number"), (("start", "999"), "No bot 999."),
    (("list", "--user", "nobody"), "No user 'nobody'"),
])
def test_bad_input_is_a_clear_error(args, message):
    make_bot(make_user())
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_a_refused_change_is_a_command_error():
    bot = make_bot(make_user())
    with pytest.raises(CommandError, match="Cannot stop"):
        run("stop", str(bot.pk))


def test_setup_demo_creates_a_running_replay_bot_once():
    out = StringIO()
    call_command("setup_demo", stdout=out)
    call_command("setup_demo", stdout=out)
    text = out.getvalue()
    assert "Demo login: demo / demo-trader-2026" in text and "(existing user)" in text
    bot = Bot.objects.get()
    assert (bot.owner.username, bot.mode, bot.symbol, bot.timeframe, bot.status) == (
        "demo", "replay", "BTC/USDT", "5m", "running")
    assert bot.exchange_account.mode == "paper" and bot.strategy.strategy == "rsi_cross"
    assert bot.replay_speed == 300 and bot.replay_started_at is not None
    from exchanges.candles import load_candles

    assert len(load_candles("binance", "BTC/USDT", "5m")) == 10_999


def test_runbot_ticks_a_replay_bot_in_the_foreground():
    from django.conf import settings

    from exchanges.candles import read_candle_file, upsert_candles

    candles = read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m").iloc[:600]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, replay_start=candles.index[500].to_pydatetime())
    out = StringIO()
    call_command("runbot", str(bot.pk), "--replay-speed", "6000", "--max-ticks", "3", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.startswith("ticked") for line in lines), lines
    bot.refresh_from_db()
    assert bot.status == "running" and bot.replay_speed == 6000 and bot.pnl_snapshots.count() == 3
    with pytest.raises(CommandError, match="positive"):
        call_command("runbot", str(bot.pk), "--replay-speed", "0")
    paper = make_bot(bot.owner, name="paper")
    with pytest.raises(CommandError, match="for replay bots"):
        call_command("runbot", str(paper.pk), "--replay-speed", "10")
    with pytest.raises(CommandError, match="No bot 999"):
        call_command("runbot", "999")
