"""Bot commands through the API go through the command service (door "api"): pause, resume, close a
position at once on a replay bot; on a live account the close waits (202 with the pending id and sentence)
until POST /api/v1/commands/<id>/confirm; alerts created and cancelled."""

import pytest

from api.tests.conftest import token_client
from bots.models import Bot, Order
from commands.models import Activity, PriceAlert

pytestmark = pytest.mark.django_db


def test_pause_resume_and_close_a_replay_bot(alice, paper_account):
    from commands.tests.conftest import replay_bot_with_position

    bot = replay_bot_with_position(alice, paper_account)
    api = token_client(alice)
    assert api.post(f"/api/v1/bots/{bot.pk}/pause").json()["status"] == "done"
    assert Bot.objects.get(pk=bot.pk).status == "paused"
    assert api.post(f"/api/v1/bots/{bot.pk}/resume").json()["status"] == "done"
    assert Bot.objects.get(pk=bot.pk).status == "running"
    closed = api.post(f"/api/v1/bots/{bot.pk}/close", {"stop_bot": True})
    assert closed.status_code == 200 and closed.json()["status"] == "done", closed.content
    assert Bot.objects.get(pk=bot.pk).status == "stopped"
    assert Order.objects.filter(bot=bot, side="sell", reason="close_position").count() == 1
    doors = set(Activity.objects.filter(command__in=("control_bot", "close_position")).values_list("door", flat=True))
    assert doors == {"api"}
    again = api.post(f"/api/v1/bots/{bot.pk}/close")
    assert again.status_code == 409 and again.json()["code"] == "no_position"


def test_a_live_command_answers_202_and_runs_once_confirmed(alice, fake):
    from bots.tests.factories import make_account

    live = make_account(alice, label="Live", mode="live")
    live.api_key, live.api_secret = fake.api_key, fake.api_secret
    live.save()
    api = token_client(alice)
    alert = api.post("/api/v1/alerts", {"symbol": "BTC/USDT", "direction": "above", "price": "70000",
                                        "exchange_account_id": str(live.pk)})
    assert alert.status_code == 200 and alert.json()["status"] == "done", alert.content
    alert_id = alert.json()["result"].get("alert_id") or PriceAlert.objects.get().pk
    listed = api.get("/api/v1/alerts").json()
    assert [a["id"] for a in listed] == [alert_id] and listed[0]["status"] == "active"
    assert api.delete(f"/api/v1/alerts/{alert_id}").json()["status"] == "done"
    assert PriceAlert.objects.get(pk=alert_id).status == "canceled"

    from commands.definitions import PlaceOrder
    from commands.service import submit

    # A live order placed from another door waits; the API lists and confirms it.
    fake.set_price("BTC/USDT", 20000)
    pending = submit(alice, PlaceOrder(account_id=str(live.pk), symbol="BTC/USDT", side="buy", amount="0.001"),
                     door="web")
    assert pending.needs_confirmation
    listed = api.get("/api/v1/commands").json()["items"]
    assert listed[0]["pending_id"] == pending.pending_id and listed[0]["status"] == "pending"
    read = token_client(alice, "read").post(f"/api/v1/commands/{pending.pending_id}/confirm")
    assert read.status_code == 403 and not Order.objects.exists()
    confirmed = api.post(f"/api/v1/commands/{pending.pending_id}/confirm")
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "done", confirmed.content
    assert Order.objects.filter(side="buy").count() == 1
    twice = api.post(f"/api/v1/commands/{pending.pending_id}/confirm")
    assert twice.status_code == 409 and Order.objects.count() == 1


def test_close_on_a_live_bot_answers_202_with_the_sentence(alice, fake):
    from django.utils import timezone

    from bots.models import Position
    from bots.tests.factories import make_account, make_bot

    live = make_account(alice, label="Live", mode="live")
    live.api_key, live.api_secret = fake.api_key, fake.api_secret
    live.save()
    bot = make_bot(alice, name="live", account=live, mode=Bot.Mode.LIVE, status=Bot.Status.RUNNING)
    Position.objects.create(bot=bot, symbol="BTC/USDT", quantity="0.01", entry_quantity="0.01",
                            average_entry="20000", cost="200.2", opened_at=timezone.now())
    response = token_client(alice).post(f"/api/v1/bots/{bot.pk}/close")
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "needs_confirmation" and body["pending_id"] and body["expires_at"]
    assert body["sentence"].startswith("Sell 0.01 BTC")
    assert not Order.objects.filter(bot=bot).exists()
    cancelled = token_client(alice).post(f"/api/v1/commands/{body['pending_id']}/cancel")
    assert cancelled.status_code == 200 and not Order.objects.filter(bot=bot).exists()
