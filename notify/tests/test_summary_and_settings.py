"""The daily summary at the user's hour in their time zone, the minute's sweep, and the settings form."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Profile
from bots.models import Bot, PnLSnapshot
from bots.tests.factories import make_bot
from notify import delivery, summary, tasks
from notify.models import Mode, Notification, NotificationSettings
from notify.outbox import notify
from telegram_bot.tests.chats import ALICE_TG, linked_user

pytestmark = pytest.mark.django_db
# 13:30 UTC is 20:30 in Bangkok (UTC+7) and 14:30 in Berlin (UTC+1 in winter).
NOW = datetime(2026, 12, 1, 13, 30, tzinfo=UTC)


@pytest.fixture
def alice(fake_telegram):
    user = linked_user("alice", ALICE_TG)
    Profile.objects.create(user=user, time_zone="Asia/Bangkok")
    bot = make_bot(user, name="rsi bot", status=Bot.Status.RUNNING, day_start_equity=D("10000"))
    PnLSnapshot.objects.create(bot=bot, time=NOW, equity=D("10050"), realised=D("50"), unrealised=D("0"))
    return user


def test_the_summary_comes_at_the_chosen_hour_in_the_users_zone_once(alice, fake_telegram):
    NotificationSettings.objects.create(user=alice, daily_summary=Mode.ON, daily_summary_hour=20)
    assert summary.send_due_summaries(NOW - timedelta(hours=1)) == 0  # 19:30 in Bangkok
    assert summary.send_due_summaries(NOW) == 1
    assert summary.send_due_summaries(NOW + timedelta(minutes=20)) == 0  # the same hour again: not twice
    row = Notification.objects.get()
    assert (row.kind, row.params["day"]) == ("daily_summary", "2026-12-01")
    assert delivery.deliver(alice.pk).sent == 1
    text = fake_telegram.sent_to(ALICE_TG)[0]["text"]
    assert text.startswith("Daily summary, 2026-12-01\nBots: 1 running")
    assert "Today's P&L: +50.00 USDT" in text and "Daily P&L (Asia/Bangkok):" in text
    assert summary.send_due_summaries(NOW + timedelta(days=1)) == 1  # the next day


def test_another_zone_another_hour(alice):
    Profile.objects.filter(user=alice).update(time_zone="Europe/Berlin")
    NotificationSettings.objects.create(user=alice, daily_summary=Mode.SILENT, daily_summary_hour=20)
    assert summary.send_due_summaries(NOW) == 0
    assert summary.send_due_summaries(NOW + timedelta(hours=6)) == 1  # 20:30 in Berlin
    assert Notification.objects.get().silent


def test_no_summary_when_off_or_unlinked(alice):
    NotificationSettings.objects.create(user=alice, daily_summary=Mode.OFF, daily_summary_hour=20)
    assert summary.send_due_summaries(NOW) == 0
    NotificationSettings.objects.filter(user=alice).update(daily_summary=Mode.ON)
    alice.telegram_link.delete()
    assert summary.send_due_summaries(NOW) == 0


def test_the_sweep_sends_what_is_due_gives_back_stale_claims_and_prunes(alice, fake_telegram):
    due = notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="one")
    stuck = notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="two")
    Notification.objects.filter(pk=stuck.pk).update(status="sending", claim="dead-worker",
                                                    claimed_at=timezone.now() - timedelta(minutes=5))
    later = notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="later")
    Notification.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    old = notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="old")
    Notification.objects.filter(pk=old.pk).update(status="sent")
    Notification.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=8))
    report = tasks.sweep()
    assert report == {"released": 1, "summaries": 0, "delivered": 2, "pruned": 1}
    assert fake_telegram.sent_to(ALICE_TG)[0]["text"] == ("rsi bot stopped with an error: one\n\n"
                                                          "rsi bot stopped with an error: two")
    assert Notification.objects.get(pk=later.pk).status == "pending"
    assert Notification.objects.get(pk=due.pk).status == "sent"


def test_rows_of_a_user_who_unlinked_are_dropped(alice, fake_telegram):
    notify(alice, "bot_problem", "bot_error", bot="rsi bot", reason="one")
    alice.telegram_link.delete()
    assert delivery.deliver(alice.pk).outcome == "unlinked"
    assert Notification.objects.get().status == "dropped" and fake_telegram.sent == []


def test_the_sweep_is_scheduled_by_migrate():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(name="notifications sweep")
    assert (schedule.func, schedule.schedule_type, schedule.minutes, schedule.repeats) == (
        "notify.tasks.sweep", Schedule.MINUTES, 1, -1)


def test_the_settings_form_saves_each_kind(client, alice):
    client.force_login(alice)
    page = client.get(reverse("accounts:settings")).content.decode()
    assert 'name="order_filled"' in page and 'name="daily_summary_hour"' in page
    response = client.post(reverse("notify:settings"), {
        "order_filled": "silent", "exit_hit": "on", "bot_problem": "on", "alert_fired": "off",
        "daily_summary": "on", "daily_summary_hour": "7"})
    assert response.status_code == 302
    prefs = NotificationSettings.objects.get(user=alice)
    assert (prefs.order_filled, prefs.alert_fired, prefs.daily_summary, prefs.daily_summary_hour) == (
        "silent", "off", "on", 7)


@pytest.mark.parametrize("field, value", [("daily_summary_hour", "24"), ("daily_summary_hour", "-1"),
                                          ("order_filled", "loud")])
def test_bad_settings_are_refused_and_nothing_is_saved(client, alice, field, value):
    client.force_login(alice)
    data = {"order_filled": "on", "exit_hit": "on", "bot_problem": "on", "alert_fired": "on",
            "daily_summary": "off", "daily_summary_hour": "20", field: value}
    response = client.post(reverse("notify:settings"), data)
    assert response.status_code == 400 and 'class="errorlist' in response.content.decode()
    assert not NotificationSettings.objects.filter(user=alice).exists()


def test_the_defaults_without_a_row(alice):
    prefs = NotificationSettings.for_user(alice)
    assert prefs.pk is None
    assert (prefs.order_filled, prefs.bot_problem, prefs.exit_hit, prefs.alert_fired, prefs.daily_summary) == (
        "on", "on", "on", "on", "off")
