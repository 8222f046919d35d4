"""Admin: the control actions go through bots.control; a staff user reaches only their own bots."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from bots.models import Bot, BotEvent
from bots.tests.factories import make_bot, make_user

pytestmark = pytest.mark.django_db


def staff_client(user):
    user.is_staff = True
    user.save()
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="bots"))
    client = Client()
    client.force_login(user)
    return client


def run_action(client, action, *bots):
    return client.post("/admin/bots/bot/", {"action": action, "_selected_action": [b.pk for b in bots]},
                       follow=True)


def test_start_and_stop_actions_record_the_admin_as_actor():
    alice = make_user("alice")
    bot = make_bot(alice)
    client = staff_client(alice)
    response = run_action(client, "start_bots", bot)
    assert "Start: 1 bot(s)." in response.content.decode()
    bot.refresh_from_db()
    assert bot.status == "running"
    assert BotEvent.objects.filter(bot=bot, kind="start", source="admin", actor=alice).exists()
    response = run_action(client, "pause_bots", bot)
    run_action(client, "stop_bots", bot)
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_a_refused_action_shows_the_reason():
    alice = make_user("alice")
    bot = make_bot(alice)
    response = run_action(staff_client(alice), "resume_bots", bot)
    assert "Cannot resume bot" in response.content.decode()
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_staff_cannot_see_or_control_someone_elses_bot():
    alice, bob = make_user("alice"), make_user("bob")
    bobs = make_bot(bob, name="bob's bot")
    client = staff_client(alice)
    listing = client.get("/admin/bots/bot/")
    assert listing.status_code == 200 and "bob&#x27;s bot" not in listing.content.decode()
    assert client.get(f"/admin/bots/bot/{bobs.pk}/change/", follow=True).status_code in (200, 302, 404)
    assert "bob&#x27;s bot" not in client.get(f"/admin/bots/bot/{bobs.pk}/change/", follow=True).content.decode()
    run_action(client, "start_bots", bobs)
    assert Bot.objects.get(pk=bobs.pk).status == "stopped" and not BotEvent.objects.exists()
    assert client.get("/admin/bots/botevent/").status_code == 200
