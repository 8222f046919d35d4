"""Webhook alerts for an external-signals bot: the right secret trades once (through the command service,
door "webhook"), a replayed alert is ignored, wrong secret / bad body / oversized / unknown id / a refused
action get a 4xx with a reason and trade nothing (audited, counted on the bot), a burst of 100 is answered
at once and processed in the order it arrived."""

import json
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q.brokers import get_broker

from api import tasks, webhooks
from api.models import WebhookAlert, WebhookEndpoint
from bots import tick
from bots.models import Bot, Order, Position
from bots.tests.factories import make_bot
from commands.models import Activity
from strategies.registry import build_strategy

pytestmark = pytest.mark.django_db


@pytest.fixture
def webhook_bot(alice, paper_account, candles):
    """A running replay bot in external-signals mode, its clock at a candle where the RSI cross would not buy
    (so any entry is the webhook's), after one tick."""
    strategy = build_strategy("rsi_cross", {})
    signals = strategy.signals(candles)
    quiet = next(i for i in range(strategy.warmup + 50, len(signals)) if all(s == 0 for s in signals[i - 5:i + 5]))
    bot = make_bot(alice, name="tv", account=paper_account, mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                   replay_start=candles.index[quiet].to_pydatetime(), replay_speed=1,
                   replay_offset=timedelta(minutes=5), stake=1, max_position_pct=1)
    made = webhooks.enable(bot)
    tick.clear_candle_cache()
    tick.tick_bot(bot.pk)
    return Bot.objects.get(pk=bot.pk), made


def send(made, body, *, hook_id=None, content_type="application/json", **extra):
    data = json.dumps(body) if isinstance(body, dict) else body
    return Client().post(f"/api/v1/webhooks/{hook_id or made.endpoint.hook_id}", data, content_type=content_type,
                         **extra)


def alert(made, action="buy", **fields):
    return {"secret": made.secret, "action": action, "symbol": "BTC/USDT", **fields}


def test_right_secret_trades_once_and_a_replay_is_ignored(webhook_bot, alice, django_capture_on_commit_callbacks):
    bot, made = webhook_bot
    assert not Order.objects.filter(bot=bot).exists()
    broker = get_broker()
    queued = broker.queue_size() or 0
    with django_capture_on_commit_callbacks(execute=True):
        response = send(made, alert(made, "buy", amount="500", price="21000", id="tv-1"))
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    # Queued for the worker (django-q2's broker: the ORM one by default, Redis with REDIS_URL), not run here.
    assert (broker.queue_size() or 0) - queued == 1
    assert not Order.objects.filter(bot=bot).exists()
    assert tasks.process_alerts(made.endpoint.pk) == 1
    row = WebhookAlert.objects.get(pk=response.json()["alert_id"])
    assert row.status == "done", (row.code, row.reason)
    assert made.secret not in row.body and "***" in row.body and row.action == "buy"
    activity = Activity.objects.get(pk=row.activity_id)
    assert (activity.door, activity.command, activity.status) == ("webhook", "external_signal", "done")
    buys = Order.objects.filter(bot=bot, side="buy")
    assert buys.count() == 1 and buys.get().status != "rejected"

    replay = send(made, alert(made, "buy", amount="500", price="21000", id="tv-1"))
    assert replay.status_code == 200 and replay.json()["status"] == "duplicate"
    same_body = send(made, alert(made, "sell"))
    assert same_body.status_code == 202
    again = send(made, alert(made, "sell"))
    assert again.json()["status"] == "duplicate"  # the same body within the window
    endpoint = WebhookEndpoint.objects.get(pk=made.endpoint.pk)
    assert (endpoint.accepted_count, endpoint.duplicate_count) == (2, 2)
    assert Order.objects.filter(bot=bot, side="buy").count() == 1


def test_the_tick_of_a_webhook_bot_does_not_trade_on_its_strategy(alice, paper_account, candles):
    from commands.tests.conftest import replay_bot_with_position

    strategy_bot = replay_bot_with_position(alice, paper_account, name="strategy")
    assert Position.objects.filter(bot=strategy_bot).exists()  # the RSI entry candle buys for a strategy bot
    signals = build_strategy("rsi_cross", {}).signals(
        __import__("exchanges.candles", fromlist=["load_candles"]).load_candles("binance", "BTC/USDT", "5m"))
    first_buy = next(i for i, s in enumerate(signals) if s == 1 and i > build_strategy("rsi_cross", {}).warmup)
    bot = make_bot(alice, name="hooked", account=paper_account, mode=Bot.Mode.REPLAY, status=Bot.Status.RUNNING,
                   replay_start=candles.index[first_buy].to_pydatetime(), replay_speed=1,
                   replay_offset=timedelta(minutes=5), signal_source=Bot.SignalSource.WEBHOOK)
    tick.clear_candle_cache()
    result = tick.tick_bot(bot.pk)
    assert result.outcome == "ticked" and result.signal == "HOLD" and not result.orders
    assert not Order.objects.filter(bot=bot).exists()


def test_refusals_get_a_4xx_with_a_reason_trade_nothing_and_are_counted(webhook_bot, settings):
    bot, made = webhook_bot
    cases = [
        (send(made, alert(made, "buy") | {"secret": "wrong"}), 403, "wrong_secret"),
        (send(made, {"action": "buy", "symbol": "BTC/USDT"}), 403, "wrong_secret"),
        (send(made, '{"secret": "x", "action": '), 400, "bad_json"),
        (send(made, "[1, 2]"), 400, "bad_json"),
        (send(made, "just some words", content_type="text/plain"), 400, "bad_body"),
        (send(made, alert(made, "short")), 400, "bad_action"),
        (send(made, alert(made, "buy", amount="-5")), 400, "bad_body"),
        (send(made, alert(made, "buy", note="x" * settings.WEBHOOK_MAX_BODY_BYTES)), 413, "too_large"),
    ]
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(allowed_actions="close")
    cases.append((send(made, alert(made, "buy")), 403, "action_not_allowed"))
    for response, status, code in cases:
        assert response.status_code == status, (code, response.content)
        assert response.json()["code"] == code and response.json()["message"]
    unknown = send(made, alert(made), hook_id="no-such-hook")
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_webhook"
    assert WebhookAlert.objects.filter(status="refused").count() == len(cases) + 1  # every alert audited
    assert not WebhookAlert.objects.filter(status="queued").exists()
    endpoint = WebhookEndpoint.objects.get(pk=made.endpoint.pk)
    assert endpoint.refused_count == len(cases) and endpoint.last_refusal.startswith("action_not_allowed")
    assert not Order.objects.filter(bot=bot).exists()
    for row in WebhookAlert.objects.exclude(body=""):
        assert made.secret not in row.body
    # Counted on the bot page.
    browser = Client()
    browser.force_login(bot.owner)
    page = browser.get(f"/bots/{bot.pk}/").content.decode()
    assert "webhook-refused" in page and f">{len(cases)}<" in page


def test_plain_text_key_value_alert_and_the_address_allowlist(webhook_bot, settings):
    bot, made = webhook_bot
    text = f"SECRET={made.secret}\naction=buy\nsymbol=BTC/USDT\n"
    settings.WEBHOOK_ALLOWED_IPS = list(webhooks.TRADINGVIEW_IPS)
    refused = send(made, text, content_type="text/plain")
    assert refused.status_code == 403 and refused.json()["code"] == "address_not_allowed"
    accepted = send(made, text, content_type="text/plain", REMOTE_ADDR="52.89.214.238")
    assert accepted.status_code == 202, accepted.content
    tasks.process_alerts(made.endpoint.pk)
    assert WebhookAlert.objects.get(pk=accepted.json()["alert_id"]).status == "done"
    assert Order.objects.filter(bot=bot, side="buy").count() == 1


def test_a_burst_of_100_alerts_is_answered_at_once_and_processed_in_order(alice, paper_account, settings):
    from commands.tests.conftest import replay_bot_with_position

    bot = replay_bot_with_position(alice, paper_account, name="burst")
    made = webhooks.enable(bot)
    started = time.perf_counter()
    responses = [send(made, alert(made, "close", id=f"burst-{n}")) for n in range(100)]
    elapsed = time.perf_counter() - started
    assert [r.status_code for r in responses] == [202] * 100
    print(f"100 alerts answered in {elapsed:.2f} s ({elapsed * 10:.1f} ms each)")
    assert not Order.objects.filter(bot=bot, side="sell", reason="webhook").exists()  # nothing traded yet
    assert tasks.process_alerts(made.endpoint.pk) == 100
    rows = list(WebhookAlert.objects.filter(endpoint=made.endpoint).order_by("id"))
    assert [r.alert_id for r in rows] == [f"burst-{n}" for n in range(100)]
    assert all(r.status in ("done", "not_done") for r in rows)
    # Processed in arrival order: each alert's command came after the previous one's.
    activity_ids = [r.activity_id for r in rows]
    assert activity_ids == sorted(activity_ids) and len(set(activity_ids)) == 100
    processed = [r.processed_at for r in rows]
    assert processed == sorted(processed)
    assert rows[0].status == "done" and rows[0].code == ""
    assert Order.objects.filter(bot=bot, side="sell", reason="webhook").count() == 1  # the first one sold


def test_a_live_bot_alert_waits_for_confirmation_unless_the_owner_chose_auto(alice, candles, fake):
    from api.tests.conftest import token_client
    from bots.tests.factories import make_account

    live = make_account(alice, label="Live", mode="live")
    live.api_key, live.api_secret = fake.api_key, fake.api_secret
    live.save()
    bot = make_bot(alice, name="live tv", account=live, mode=Bot.Mode.LIVE, status=Bot.Status.RUNNING,
                   stake=1, max_position_pct=1)
    made = webhooks.enable(bot)  # live_confirmation "ask" by default
    now_ms = int(time.time() // 300 * 300 * 1000)
    fake.set_candles("BTC/USDT", "5m", [[now_ms - 300_000 * k, 20000, 20100, 19900, 20050, 10] for k in (3, 2, 1)])
    fake.set_price("BTC/USDT", 20050)
    response = send(made, alert(made, "buy", id="live-1"))
    assert response.status_code == 202
    tasks.process_alerts(made.endpoint.pk)
    row = WebhookAlert.objects.get(pk=response.json()["alert_id"])
    assert row.status == "pending" and "Buy BTC/USDT" in row.reason, (row.status, row.code, row.reason)
    assert not Order.objects.filter(bot=bot).exists()  # nothing sent before the confirmation
    activity = Activity.objects.get(pk=row.activity_id)
    assert activity.status == "pending" and activity.door == "webhook"
    confirmed = token_client(alice).post(f"/api/v1/commands/{activity.pending_id}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert Order.objects.filter(bot=bot, side="buy").count() == 1
    assert Activity.objects.get(pk=activity.pk).confirmed_door == "api"

    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(live_confirmation="auto")
    closing = send(made, alert(made, "close", id="live-2"))
    tasks.process_alerts(made.endpoint.pk)
    row = WebhookAlert.objects.get(pk=closing.json()["alert_id"])
    assert row.status == "done", (row.code, row.reason)
    assert Activity.objects.get(pk=row.activity_id).confirmed_door == "webhook"
    assert Order.objects.filter(bot=bot, side="sell", reason="webhook").count() == 1


def test_alerts_left_behind_by_a_dead_worker_are_processed_once(webhook_bot):
    bot, made = webhook_bot
    first = send(made, alert(made, "buy", id="lost-1")).json()["alert_id"]
    # A worker claimed it and died: "processing", its lease over. Another alert's task was lost.
    WebhookAlert.objects.filter(pk=first).update(status="processing")
    WebhookEndpoint.objects.filter(pk=made.endpoint.pk).update(processing_until=timezone.now() - timedelta(seconds=1))
    second = send(made, alert(made, "close", id="lost-2")).json()["alert_id"]
    WebhookAlert.objects.filter(pk=second).update(received_at=timezone.now() - timedelta(minutes=2))
    assert tasks.every_minute() == 2
    rows = {r.pk: r for r in WebhookAlert.objects.filter(pk__in=(first, second))}
    assert rows[first].status == "done" and rows[second].status in ("done", "not_done")
    assert Order.objects.filter(bot=bot, side="buy").count() == 1
    assert tasks.every_minute() == 0


def test_refusals_from_one_address_are_throttled_and_stop_filling_the_audit(webhook_bot, settings):
    bot, made = webhook_bot
    settings.WEBHOOK_REFUSALS_PER_MINUTE = 3
    codes = [send(made, alert(made), hook_id=f"guess-{n}").status_code for n in range(5)]
    assert codes == [404, 404, 404, 429, 429]
    limited = send(made, alert(made) | {"secret": "guess"})
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert WebhookAlert.objects.filter(status="refused").count() == 3
    other = send(made, alert(made, "buy"), REMOTE_ADDR="10.1.2.3")  # another sender is not concerned
    assert other.status_code == 202


def test_switching_signals_is_a_command_and_its_audit_holds_no_secret(alice, paper_account):
    from api.tests.conftest import token_client
    from bots.models import BotEvent

    bot = make_bot(alice, name="switch", account=paper_account)
    api = token_client(alice)
    made = api.post(f"/api/v1/bots/{bot.pk}/webhook", {"allowed_actions": ["buy", "close"]})
    assert made.status_code == 201, made.content
    secret, url = made.json()["secret"], made.json()["url"]
    assert url.endswith(WebhookEndpoint.objects.get(bot=bot).hook_id)
    activity = Activity.objects.get(command="set_signal_source")
    assert (activity.door, activity.status) == ("api", "done")
    audit = json.dumps([activity.text, activity.request, activity.payload, activity.result, activity.message])
    assert secret not in audit
    assert Bot.objects.get(pk=bot.pk).signal_source == "webhook"
    assert BotEvent.objects.filter(bot=bot, kind="settings", source="api").exists()
    assert api.get(f"/api/v1/bots/{bot.pk}").json()["webhook_url"] == url
    # The web page's button: a new URL and secret, the old ones refused from now on.
    browser = Client()
    browser.force_login(alice)
    page = browser.post(f"/api/bots/{bot.pk}/webhook/").content.decode()
    endpoint = WebhookEndpoint.objects.get(bot=bot)
    assert endpoint.hook_id in page and "webhook-new-secret" in page and not url.endswith(endpoint.hook_id)
    assert Client().post(url, json.dumps({"secret": secret, "action": "buy"}),
                         content_type="application/json").status_code == 404
    assert api.delete(f"/api/v1/bots/{bot.pk}/webhook").status_code == 204
    assert Bot.objects.get(pk=bot.pk).signal_source == "strategy"
    assert list(Activity.objects.filter(command="set_signal_source").values_list("door", flat=True)) == [
        "api", "web", "api"]


def test_a_forwarded_address_that_is_no_address_is_stored_as_none(webhook_bot, settings, alice):
    from api.models import ApiToken
    from api.tests.conftest import token_client

    bot, made = webhook_bot
    settings.BEHIND_PROXY = True
    response = send(made, alert(made, "buy"), HTTP_X_FORWARDED_FOR="not-an-address")
    assert response.status_code == 202
    assert WebhookAlert.objects.get(pk=response.json()["alert_id"]).source_ip is None
    client = token_client(alice, "read")
    assert client.client.get("/api/v1/me", HTTP_X_FORWARDED_FOR="1.2.3.4, junk").status_code == 200
    assert ApiToken.objects.get(name="read test").last_used_ip is None
