"""monitoring/: the Prometheus config and alert rules, the Grafana provisioning and dashboard, and the compose
services that mount them. Every expression must name metrics that /metrics really exposes (promtool is not
available here: the files are parsed and the metric names checked against a real scrape)."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from django.conf import settings as django_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bots import tick
from bots.models import Bot
from bots.tests.factories import make_bot, make_user
from metrics import instruments
from metrics.tests.scrape import TOKEN, samples, scrape

pytestmark = pytest.mark.django_db
ROOT = Path(django_settings.BASE_DIR)
MONITORING = ROOT / "monitoring"
METRIC = re.compile(r"\btradingbot_[a-z0-9_]+\b")
BY = re.compile(r"\bby\s*\(([^)]*)\)")
LABELS = {"mode", "strategy", "outcome", "exchange", "side", "reason", "error_class", "rule", "kind", "status",
          "currency", "le"}


def alert_rules() -> list[dict]:
    document = yaml.safe_load((MONITORING / "prometheus" / "alerts.yml").read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads((MONITORING / "grafana" / "dashboards" / "tradingbot.json").read_text())


def dashboard_exprs() -> list[str]:
    return [target["expr"] for panel in dashboard()["panels"] for target in panel.get("targets", [])]


@pytest.fixture
def exported(client, settings) -> set[str]:
    """The sample names of a scrape after every helper has run once (a labelled metric shows only once used)."""
    settings.METRICS_TOKEN = TOKEN
    bot = make_bot(make_user(), mode=Bot.Mode.PAPER, status=Bot.Status.RUNNING)
    bot = Bot.objects.select_related("exchange_account", "strategy").get(pk=bot.pk)
    candle_at = timezone.now() - timedelta(minutes=10)
    instruments.observe_tick(bot, tick.TickResult(bot.pk, "ticked", candle_at=candle_at, seconds=0.01,
                                                  publish_seconds=0.005))
    for event in ("submitted", "filled", "rejected", "unknown"):
        instruments.count_order(event, bot, "buy", reason="Account has insufficient balance")
    instruments.count_bot_event(bot, "risk_refusal", {"rule": "orders_per_hour"})
    instruments.count_bot_event(bot, "halt", {"rule": "daily_loss"})
    instruments.count_reconciliation_difference(bot, "position")
    instruments.count_live_message("bot-1")
    instruments.websocket_closed(instruments.websocket_opened())

    class RateLimitExceeded(Exception):
        pass

    instruments.count_exchange_request("binance", RateLimitExceeded("429"))
    with instruments.backtest_run("rsi_cross"):
        pass
    text = scrape(client)
    # A gauge without a sample (the heartbeat age while no worker runs) is still exposed, by its HELP and TYPE.
    gauges = {family.name for family in text_string_to_metric_families(text) if family.type == "gauge"}
    return {sample.name for sample in samples(text)} | gauges


def test_alert_rules_are_complete_and_name_exported_metrics(exported):
    rules = alert_rules()
    names = {rule["alert"] for rule in rules}
    assert {"TradingbotWorkerDown", "TradingbotBotsLate", "TradingbotUnknownOrders",
            "TradingbotReconciliationDifferences"} <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning") and rule["annotations"]["summary"], rule
        used = set(METRIC.findall(rule["expr"]))
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
        for group in BY.findall(rule["expr"]):
            assert {label.strip() for label in group.split(",")} <= LABELS, rule["expr"]


def test_the_dashboard_shows_every_part_and_names_exported_metrics(exported):
    board = dashboard()
    assert board["uid"] == "tradingbot" and board["panels"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    exprs = dashboard_exprs()
    used = set().union(*(METRIC.findall(expr) for expr in exprs))
    assert used <= exported, used - exported
    for expr in exprs:
        assert METRIC.search(expr), expr
        for group in BY.findall(expr):
            assert {label.strip() for label in group.split(",")} <= LABELS, expr
    # Bots, ticks, lateness, orders, errors, P&L by mode.
    for wanted in ("tradingbot_bots_running", "tradingbot_ticks_total", "tradingbot_tick_lateness_seconds_bucket",
                   "tradingbot_orders_filled_total", "tradingbot_orders_rejected_total",
                   "tradingbot_exchange_errors_total", "tradingbot_pnl"):
        assert wanted in used, wanted
    rows = {panel["title"] for panel in board["panels"] if panel["type"] == "row"}
    assert {"Bots", "Ticks", "Orders", "Errors and risk", "P&L"} <= rows


def test_compose_runs_prometheus_and_grafana_under_the_monitoring_profile():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    for name in ("prometheus", "grafana"):
        assert services[name]["profiles"] == ["monitoring"], name
        for volume in services[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), volume
    assert "profiles" not in services["web"] and "profiles" not in services["worker"]
    prometheus = yaml.safe_load((MONITORING / "prometheus" / "prometheus.yml").read_text())
    mounted = {volume.split(":")[1] for volume in services["prometheus"]["volumes"]}
    assert set(prometheus["rule_files"]) <= mounted
    job = prometheus["scrape_configs"][0]
    assert job["metrics_path"] == "/metrics" and job["authorization"]["type"] == "Bearer"
    assert job["static_configs"][0]["targets"] == ["web:8000"]
    # Web and worker write to one multiprocess folder, under distinct host names.
    environment = services["web"]["environment"]
    assert environment["PROMETHEUS_MULTIPROC_DIR"].startswith("/data/")
    assert services["web"]["hostname"] != services["worker"]["hostname"]
    datasource = yaml.safe_load((MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
                                .read_text())["datasources"][0]
    assert datasource["uid"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    assert {target["datasource"]["uid"] for panel in dashboard()["panels"]
            for target in panel.get("targets", [])} == {"prometheus"}
