"""bots.control: allowed transitions, refusals with reasons, the audit trail and the replay clock."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from bots import control
from bots.models import Bot, BotEvent, LiveMessage
from bots.tests.factories import make_account, make_bot, make_user

pytestmark = pytest.mark.django_db


def test_start_pause_resume_stop_records_who_and_publishes():
    alice = make_user()
    bot = make_bot(alice)
    control.start_bot(bot, actor=alice, source="web")
    assert bot.status == Bot.Status.RUNNING and bot.started_at is not None and bot.needs_reconcile
    assert bot.status_reason == "Started by web (alice)."
    control.pause_bot(bot, actor=alice)
    assert bot.status == Bot.Status.PAUSED
    control.resume_bot(bot, actor=alice)
    assert bot.status == Bot.Status.RUNNING
    control.stop_bot(bot, source="command")
    assert bot.status == Bot.Status.STOPPED and bot.stopped_at is not None
    events = list(bot.events.values_list("kind", "source", "actor__username"))
    assert events == [("start", "web", "alice"), ("pause", "web", "alice"), ("resume", "web", "alice"),
                      ("stop", "command", None)]
    assert LiveMessage.objects.filter(group=f"bot-{bot.pk}").count() == 4


def test_a_change_not_allowed_from_the_current_state_says_why_and_changes_nothing():
    bot = make_bot(make_user())
    with pytest.raises(control.BotControlError, match="it is stopped"):
        control.stop_bot(bot)
    with pytest.raises(control.BotControlError, match="Cannot resume"):
        control.resume_bot(bot)
    bot.refresh_from_db()
    assert bot.status == Bot.Status.STOPPED and not BotEvent.objects.exists()


def test_cannot_start_with_rejected_keys_or_a_live_bot_on_a_paper_account():
    alice = make_user()
    bot = make_bot(alice, mode=Bot.Mode.LIVE)
    with pytest.raises(control.BotControlError, match="paper account"):
        control.start_bot(bot)
    bad = make_account(alice, label="bad keys", mode="live", status="invalid")
    bot2 = make_bot(alice, name="b2", account=bad, mode=Bot.Mode.LIVE)
    with pytest.raises(control.BotControlError, match="rejected keys"):
        control.start_bot(bot2)
    replay = make_bot(alice, name="r", mode=Bot.Mode.REPLAY)
    with pytest.raises(control.BotControlError, match="replay start"):
        control.start_bot(replay)
    assert set(Bot.objects.values_list("status", flat=True)) == {"stopped"}


def test_resuming_a_halted_bot_resets_the_drawdown_peak_but_resuming_a_paused_one_does_not():
    bot = make_bot(make_user(), status=Bot.Status.HALTED, equity_peak=20000, halted_until=None)
    control.resume_bot(bot)
    assert bot.equity_peak is None
    Bot.objects.filter(pk=bot.pk).update(equity_peak=20000)
    bot.refresh_from_db()
    control.pause_bot(bot)
    control.resume_bot(bot)
    assert bot.equity_peak == 20000


def test_replay_clock_runs_at_speed_and_stands_still_while_paused():
    start = datetime(2023, 1, 2, 16, 45, tzinfo=UTC)
    bot = make_bot(make_user(), mode=Bot.Mode.REPLAY, replay_start=start, replay_speed=300)
    assert control.replay_now(bot) == start
    control.start_bot(bot)
    wall = bot.replay_started_at
    assert control.replay_now(bot, wall + timedelta(seconds=2)) == start + timedelta(minutes=10)
    control.pause_bot(bot)
    frozen = control.replay_now(bot)
    assert frozen >= start and control.replay_now(bot, timezone.now() + timedelta(hours=1)) == frozen
    control.resume_bot(bot)
    assert control.replay_now(bot, bot.replay_started_at) == frozen
