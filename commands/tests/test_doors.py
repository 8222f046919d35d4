"""The other doors into the command service: `manage.py trade` (door "command") and the admin (door "admin",
with the staff member as the actor on the owner's activity)."""

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from bots.models import Bot, BotEvent, Order
from bots.tests.factories import make_bot
from commands.models import Activity, PriceAlert

pytestmark = pytest.mark.django_db


def trade(*args) -> str:
    out = StringIO()
    call_command("trade", *args, stdout=out)
    return out.getvalue()


def test_trade_command_places_waits_for_confirmation_and_refuses_clearly(alice, paper, live, fake):
    done = trade("alice", "buy", "BTC/USDT", "100", "--unit", "quote", "--account", "Paper")
    assert done.startswith("done: Bought 0.00499 BTC")
    pending = trade("alice", "buy", "BTC/USDT", "0.01", "--account", "Binance")
    assert "Buy 0.01 BTC at market on Binance (binance, live)" in pending and fake.orders == []
    pending_id = pending.rsplit("confirm ", 1)[1].strip()
    assert trade("alice", "confirm", pending_id).startswith("done: Bought 0.01 BTC") and len(fake.orders) == 1
    with pytest.raises(CommandError, match="already done"):
        trade("alice", "confirm", pending_id)
    with pytest.raises(CommandError, match="binance has no market NOPE/USDT"):
        trade("alice", "sell", "NOPE/USDT", "1", "--account", "Binance")
    with pytest.raises(CommandError, match="has no exchange account 'Nope'"):
        trade("alice", "buy", "BTC/USDT", "1", "--account", "Nope")
    assert trade("alice", "alert", "BTC/USDT", "above", "30000", "--account", "Paper").startswith("done: Alert set")
    assert PriceAlert.objects.count() == 1
    doors = set(Activity.objects.values_list("door", flat=True))
    assert doors == {"command"} and Order.objects.count() == 2


def test_admin_actions_go_through_the_service_as_the_staff_member(alice, paper):
    bot = make_bot(alice, account=paper)
    root = get_user_model().objects.create_superuser("root", password="correct-horse-battery-2")
    admin = Client()
    admin.force_login(root)
    response = admin.post("/admin/bots/bot/", {"action": "start_bots", "_selected_action": [bot.pk]}, follow=True)
    assert response.status_code == 200
    assert Bot.objects.get(pk=bot.pk).status == "running"
    entry = Activity.objects.get(command="control_bot")
    assert (entry.owner, entry.actor, entry.door, entry.status) == (alice, root, "admin", "done")
    assert BotEvent.objects.get(bot=bot, kind="start").source == "admin"
    page = admin.get(f"/admin/commands/activity/{entry.pk}/change/").content.decode()
    assert "control_bot" in page and "pending_id" not in page
