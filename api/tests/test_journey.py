"""A script's whole journey with one trade token through the real HTTP stack: add exchange keys, create a
strategy configuration, backtest it, create and start a replay bot, read its P&L, stop it."""

import time
from unittest import mock

import pytest
from django_q.conf import Conf

from api.tests.conftest import token_client
from bots import tick
from bots.models import Bot, PnLSnapshot, Position
from exchanges.models import ExchangeAccount

pytestmark = pytest.mark.django_db


@pytest.mark.slow
def test_script_only_journey(alice, candles, django_capture_on_commit_callbacks):
    api = token_client(alice, "trade")

    keys = api.post("/api/v1/exchange/keys", {"label": "Binance", "exchange_id": "binance", "mode": "live",
                                              "api_key": "AKIAKEY1234567890", "api_secret": "s3cr3t-value-0987654321"})
    assert keys.status_code == 201, keys.content
    assert "AKIAKEY1234567890" not in keys.content.decode() and "s3cr3t" not in keys.content.decode()
    assert keys.json()["has_api_key"] and keys.json()["mode"] == "live"
    assert ExchangeAccount.objects.get(pk=keys.json()["id"]).api_key.reveal() == "AKIAKEY1234567890"  # stored
    listed = api.get("/api/v1/exchange/accounts").json()
    assert [a["label"] for a in listed] == ["Binance"] and "AKIAKEY" not in str(listed)
    paper = api.post("/api/v1/exchange/keys", {"label": "Paper", "exchange_id": "binance", "mode": "paper"})
    assert paper.status_code == 201

    config = api.post("/api/v1/strategies/configs", {"name": "rsi", "strategy": "rsi_cross", "params": {}})
    assert config.status_code == 201, config.content
    config_id = config.json()["id"]
    assert config.json()["params"]  # the defaults filled in

    with mock.patch.object(Conf, "SYNC", True), django_capture_on_commit_callbacks(execute=True):
        queued = api.post("/api/v1/backtests", {"config_id": config_id, "stop_loss": 0.02})
    assert queued.status_code == 202, queued.content
    backtest_id = queued.json()["id"]
    status = api.get(f"/api/v1/backtests/{backtest_id}").json()
    assert status["status"] == "done", status
    result = api.get(f"/api/v1/backtests/{backtest_id}/result").json()
    assert result["metrics"]["trades"] == len(result["trades"]) > 0 and result["equity"]
    assert result["settings"]["stop_loss"] == pytest.approx(0.02)

    from strategies.registry import build_strategy

    strategy = build_strategy("rsi_cross", {})
    signals = strategy.signals(candles)
    first_buy = next(i for i, s in enumerate(signals) if s == 1 and i > strategy.warmup + 10)
    replay_start = candles.index[first_buy - 2].to_pydatetime()
    created = api.post("/api/v1/bots", {"name": "replay", "exchange_account_id": paper.json()["id"],
                                        "strategy_id": config_id, "mode": "replay", "symbol": "BTC/USDT",
                                        "timeframe": "5m", "replay_start": replay_start.isoformat(),
                                        "replay_speed": 10000, "stake": 1, "max_position_pct": 1})
    assert created.status_code == 201, created.content
    bot_id = created.json()["id"]
    assert created.json()["status"] == "stopped" and created.json()["stake"] == "1.0000"

    started = api.post(f"/api/v1/bots/{bot_id}/start")
    assert started.status_code == 200 and started.json()["status"] == "done", started.content
    assert api.get(f"/api/v1/bots/{bot_id}").json()["status"] == "running"
    tick.clear_candle_cache()
    deadline = time.monotonic() + 30
    while not Position.objects.filter(bot_id=bot_id).exists() and time.monotonic() < deadline:
        tick.tick_bot(bot_id)  # the worker's part, on the replay clock (10,000 times real time)
        time.sleep(0.01)
    position = Position.objects.get(bot_id=bot_id)
    pnl = api.get("/api/v1/dashboard/pnl", bot_id=bot_id)
    assert pnl.status_code == 200, pnl.content
    body = pnl.json()
    snapshot = PnLSnapshot.objects.filter(bot_id=bot_id).order_by("-time", "-id").first()
    expected_unrealised = float(round(snapshot.unrealised, 8)) if position.status == "open" else 0.0
    assert body["unrealised_pnl"] == pytest.approx(expected_unrealised)
    assert body["total_pnl"] == pytest.approx(body["realised_pnl"] + body["unrealised_pnl"])
    orders = api.get("/api/v1/orders", bot_id=bot_id, limit=2).json()
    assert orders["count"] >= 2 and len(orders["items"]) == 2  # the entry and its protective exit
    assert {o["side"] for o in orders["items"]} == {"buy", "sell"}
    trades = api.get("/api/v1/trades", bot_id=bot_id).json()
    assert trades["count"] == 1 and trades["items"][0]["id"] == position.pk

    stopped = api.post(f"/api/v1/bots/{bot_id}/stop")
    assert stopped.status_code == 200 and Bot.objects.get(pk=bot_id).status == "stopped"
    again = api.post(f"/api/v1/bots/{bot_id}/stop")
    assert again.status_code == 409 and again.json()["code"]
