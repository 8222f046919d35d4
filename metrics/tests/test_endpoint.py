"""GET /metrics: off without a setting, refused without the token or outside the allowlist, parseable with it."""

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metrics.tests.scrape import TOKEN, value

pytestmark = pytest.mark.django_db


def test_off_without_a_token_or_an_allowlist(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 404


def test_the_token_is_required_when_set(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = TOKEN, []
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused["WWW-Authenticate"].startswith("Bearer")
    assert b"tradingbot_" not in refused.content
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x").status_code == 401


def test_with_the_token_it_serves_prometheus_text(client, settings):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain") and "version=" in response["Content-Type"]
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    # The database collector's totals are there from the first scrape (no bot yet: zero, not absent).
    assert {"tradingbot_bots_running", "tradingbot_task_queue_depth", "tradingbot_worker_clusters"} <= names
    assert value(response.content.decode(), "tradingbot_bots_running", mode="replay") == 0


def test_the_allowlist_refuses_other_addresses(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = "", ["10.1.0.0/16", "192.168.5.7"]
    assert client.get("/metrics", REMOTE_ADDR="10.2.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="10.1.200.3").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="192.168.5.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="::ffff:192.168.5.7").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="not-an-address").status_code == 403


def test_with_both_settings_both_must_hold(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOW = TOKEN, ["127.0.0.1"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 401
    assert client.get("/metrics", REMOTE_ADDR="10.0.0.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 200


def test_only_get(client, settings):
    settings.METRICS_TOKEN = TOKEN
    assert client.post("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}").status_code == 405
