"""Isolation (user B's token on user A's objects: 404 on every endpoint that names an object, nothing
changed), and the OpenAPI schema (valid OpenAPI 3, every route listed)."""

import pytest
from django.test import Client
from openapi_spec_validator import validate

from api import webhooks
from api.tests.conftest import token_client
from bots.models import Bot
from bots.tests.factories import make_account, make_bot, make_strategy_config
from commands.models import Activity, PriceAlert
from strategies.models import Backtest

pytestmark = pytest.mark.django_db


@pytest.fixture
def alices(alice):
    account = make_account(alice, label="Paper")
    config = make_strategy_config(alice)
    bot = make_bot(alice, account=account, strategy=config, status=Bot.Status.RUNNING)
    backtest = Backtest.objects.create(owner=alice, config=config, strategy="rsi_cross", params={},
                                       exchange="binance", symbol="BTC/USDT", timeframe="5m", status="done",
                                       metrics={"trades": 0})
    alert = PriceAlert.objects.create(owner=alice, exchange_account=account, symbol="BTC/USDT", direction="above",
                                      price=70000)
    pending = Activity.objects.create(owner=alice, door="web", command="control_bot", status="pending",
                                      pending_id="alices-pending-id", payload={"bot_id": bot.pk, "action": "stop"},
                                      expires_at="2999-01-01T00:00:00Z")
    return {"account": account, "config": config, "bot": bot, "backtest": backtest, "alert": alert,
            "pending": pending}


def object_requests(o):
    pk = o["bot"].pk
    return [
        ("get", f"/api/v1/exchange/accounts/{o['account'].pk}", None),
        ("get", f"/api/v1/strategies/configs/{o['config'].pk}", None),
        ("get", f"/api/v1/backtests/{o['backtest'].pk}", None),
        ("get", f"/api/v1/backtests/{o['backtest'].pk}/result", None),
        ("get", f"/api/v1/bots/{pk}", None),
        ("post", f"/api/v1/bots/{pk}/start", {}),
        ("post", f"/api/v1/bots/{pk}/stop", {}),
        ("post", f"/api/v1/bots/{pk}/pause", {}),
        ("post", f"/api/v1/bots/{pk}/resume", {}),
        ("post", f"/api/v1/bots/{pk}/close", {"stop_bot": True}),
        ("post", f"/api/v1/bots/{pk}/webhook", {}),
        ("delete", f"/api/v1/bots/{pk}/webhook", None),
        ("get", "/api/v1/orders", {"bot_id": pk}),
        ("get", "/api/v1/trades", {"bot_id": pk}),
        ("get", "/api/v1/dashboard/pnl", {"bot_id": pk}),
        ("delete", f"/api/v1/alerts/{o['alert'].pk}", None),
        ("post", f"/api/v1/commands/{o['pending'].pending_id}/confirm", {}),
        ("post", f"/api/v1/commands/{o['pending'].pending_id}/cancel", {}),
        ("post", "/api/v1/backtests", {"config_id": o["config"].pk}),
        ("post", "/api/v1/bots", {"name": "stolen", "exchange_account_id": str(o["account"].pk),
                                  "strategy_id": o["config"].pk}),
        ("post", "/api/v1/alerts", {"symbol": "BTC/USDT", "direction": "above", "price": 1,
                                    "exchange_account_id": str(o["account"].pk)}),
        ("post", "/bot/start", {"bot_id": pk}),
        ("post", "/bot/stop", {"bot_id": pk}),
        ("get", "/dashboard/pnl", {"bot_id": pk}),
        ("post", "/api/v1/assistant", {"text": "buy 100 USDT of BTC", "account_id": str(o["account"].pk)}),
    ]


def call(client, method, path, body):
    if method == "get":
        return client.get(path, **(body or {}))
    if method == "delete":
        return client.delete(path)
    return client.post(path, body)


def test_bobs_token_on_alices_objects_is_404_everywhere(alices, bob_trade, candles):
    before = {"status": Bot.objects.get(pk=alices["bot"].pk).status, "bots": Bot.objects.count(),
              "alerts": PriceAlert.objects.filter(status="active").count(), "backtests": Backtest.objects.count()}
    for method, path, body in object_requests(alices):
        response = call(bob_trade, method, path, body)
        assert response.status_code == 404, (method, path, response.status_code, response.content)
        assert "code" in response.json() or "error" in response.json()
    assert Bot.objects.get(pk=alices["bot"].pk).status == before["status"]
    assert Bot.objects.get(pk=alices["bot"].pk).signal_source == "strategy"  # bob made no webhook of it
    assert Bot.objects.count() == before["bots"] and Backtest.objects.count() == before["backtests"]
    assert PriceAlert.objects.filter(status="active").count() == before["alerts"]
    assert Activity.objects.get(pk=alices["pending"].pk).status == "pending"
    # The lists: none of alice's rows.
    for path in ("/api/v1/bots", "/api/v1/exchange/accounts", "/api/v1/strategies/configs", "/api/v1/alerts"):
        assert bob_trade.get(path).json() == [], path
    for path in ("/api/v1/orders", "/api/v1/trades", "/api/v1/backtests"):
        assert bob_trade.get(path).json()["count"] == 0, path
    # His activity: only his own refused attempts (audited), none of alice's commands.
    activity = bob_trade.get("/api/v1/commands").json()
    alices_ids = set(Activity.objects.filter(owner=alices["bot"].owner).values_list("pk", flat=True))
    assert activity["count"] >= 1 and not {item["id"] for item in activity["items"]} & alices_ids
    assert all(item["status"] == "refused" for item in activity["items"])
    portfolio = bob_trade.get("/api/v1/portfolio").json()
    assert portfolio["accounts"] == [] and portfolio["bots"] == [] and portfolio["positions"] == []
    assert bob_trade.get("/api/v1/dashboard/pnl").json()["trades"] == 0


def test_the_owner_reaches_the_same_objects(alices, alice_trade):
    """The same requests are not 404 for the owner (so the test above proves the scoping, not a typo)."""
    for method, path, body in object_requests(alices)[:5]:
        assert call(alice_trade, method, path, body).status_code == 200, path


def test_a_webhook_url_belongs_to_its_bot_only(alices, bob):
    made = webhooks.enable(alices["bot"])
    bobs_bot = make_bot(bob, account=make_account(bob, label="P"), strategy=make_strategy_config(bob))
    response = token_client(bob).get(f"/api/v1/bots/{bobs_bot.pk}")
    assert response.json()["webhook_url"] is None and made.endpoint.hook_id not in response.content.decode()


def test_openapi_schema_is_valid_and_lists_every_endpoint(db):
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    from api.v1 import api

    routes = {"/api/v1/" + "/".join(part.strip("/") for part in (prefix, path) if part.strip("/"))
              for prefix, router in api._routers for path in router.path_operations}
    assert len(routes) == 29
    assert routes == set(schema["paths"])  # every route of the API, and nothing else
    listed = set(schema["paths"])
    for needed in ("/api/v1/exchange/keys", "/api/v1/exchange/accounts", "/api/v1/strategies/configs",
                   "/api/v1/backtests", "/api/v1/backtests/{backtest_id}/result", "/api/v1/bots",
                   "/api/v1/bots/{bot_id}/start", "/api/v1/bots/{bot_id}/stop", "/api/v1/bots/{bot_id}/pause",
                   "/api/v1/bots/{bot_id}/resume", "/api/v1/bots/{bot_id}/close", "/api/v1/orders", "/api/v1/trades",
                   "/api/v1/portfolio", "/api/v1/dashboard/pnl", "/api/v1/alerts",
                   "/api/v1/commands/{pending_id}/confirm", "/api/v1/webhooks/{hook_id}", "/api/v1/assistant"):
        assert needed in listed, needed
    assert {"BearerToken", "Session"} <= set(schema["components"]["securitySchemes"])
    assert schema["paths"]["/api/v1/webhooks/{hook_id}"]["post"].get("security") in (None, [])
