"""The JSON endpoints: authenticated, scoped to the user, clear errors, nothing changed by a bad request."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest
from django.test import Client

from bots.models import Bot, BotEvent, PnLSnapshot, Position
from bots.tests.factories import make_bot, make_user

pytestmark = pytest.mark.django_db
T0 = datetime(2023, 1, 2, 16, 45, tzinfo=UTC)


@pytest.fixture
def alice():
    return make_user("alice")


@pytest.fixture
def client(alice):
    c = Client()
    c.force_login(alice)
    return c


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def test_anonymous_gets_401_json_everywhere(alice):
    bot = make_bot(alice)
    anonymous = Client()
    for response in (post(anonymous, "/bot/start", {"bot_id": bot.pk}),
                     post(anonymous, "/bot/stop", {"bot_id": bot.pk}), anonymous.get("/dashboard/pnl")):
        assert response.status_code == 401 and "Log in" in response.json()["error"]
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_start_and_stop_own_bot(client, alice):
    bot = make_bot(alice)
    response = post(client, "/bot/start", {"bot_id": bot.pk})
    assert response.status_code == 200 and response.json()["bot"]["status"] == "running"
    event = BotEvent.objects.get(bot=bot, kind="start")
    assert (event.source, event.actor) == ("api", alice)
    again = post(client, "/bot/start", {"bot_id": bot.pk})
    assert again.status_code == 409 and "it is running" in again.json()["error"]
    # A form-encoded body works too.
    stopped = client.post("/bot/stop", {"bot_id": str(bot.pk)})
    assert stopped.status_code == 200 and stopped.json()["bot"]["status"] == "stopped"


def test_someone_elses_bot_is_404_and_untouched(client):
    bob = make_user("bob")
    bobs = make_bot(bob, status=Bot.Status.RUNNING)
    for path in ("/bot/start", "/bot/stop"):
        response = post(client, path, {"bot_id": bobs.pk})
        assert response.status_code == 404 and response.json() == {"error": f"No bot {bobs.pk}."}
    assert client.get(f"/dashboard/pnl?bot_id={bobs.pk}").status_code == 404
    assert Bot.objects.get(pk=bobs.pk).status == "running" and not BotEvent.objects.exists()


@pytest.mark.parametrize("body,message", [
    ("not json", "not valid JSON"), ("[1]", "JSON object"), ("{}", "bot_id is required"),
    ('{"bot_id": "abc"}', "whole number"), ('{"bot_id": 1.5}', "whole number"), ('{"bot_id": -3}', "positive"),
    ('{"bot_id": true}', "whole number"),
])
def test_bad_bodies_get_a_clear_400(client, alice, body, message):
    make_bot(alice)
    response = client.post("/bot/start", body, content_type="application/json")
    assert response.status_code == 400 and message in response.json()["error"]
    assert not BotEvent.objects.exists()


def test_get_is_not_allowed_on_start_and_csrf_is_enforced(alice):
    bot = make_bot(alice)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    assert strict.get("/bot/start").status_code == 405
    assert post(strict, "/bot/start", {"bot_id": bot.pk}).status_code == 403
    assert Bot.objects.get(pk=bot.pk).status == "stopped"


def test_pnl_sums_only_the_users_trades(client, alice):
    bot = make_bot(alice)
    for k, pnl in enumerate(["12.5", "-2.5", "4"]):
        Position.objects.create(bot=bot, symbol=bot.symbol, status="closed", realised_pnl=D(pnl), entry_quantity=1,
                                average_entry=100, exit_price=100 + D(pnl), opened_at=T0,
                                closed_at=T0 + timedelta(hours=k))
    Position.objects.create(bot=bot, symbol=bot.symbol, status="open", quantity=1, opened_at=T0)
    PnLSnapshot.objects.create(bot=bot, time=T0, equity=1, realised=14, unrealised=D("1.25"))
    bobs = make_bot(make_user("bob"))
    Position.objects.create(bot=bobs, symbol="BTC/USDT", status="closed", realised_pnl=1000, opened_at=T0,
                            closed_at=T0)
    data = client.get("/dashboard/pnl").json()
    assert data["total_pnl"] == 15.25 and data["realised_pnl"] == 14 and data["unrealised_pnl"] == 1.25
    assert data["trades"] == 3 and data["win_rate"] == round(2 / 3, 4)
    assert [t["pnl"] for t in data["recent_trades"]] == [4, -2.5, 12.5]
    assert client.get(f"/dashboard/pnl?bot_id={bot.pk}").json()["trades"] == 3
    assert client.get("/dashboard/pnl?bot_id=x").status_code == 400


def test_pnl_with_no_trades(client):
    assert client.get("/dashboard/pnl").json() == {
        "total_pnl": 0.0, "realised_pnl": 0.0, "unrealised_pnl": 0.0, "trades": 0, "win_rate": None,
        "recent_trades": []}
