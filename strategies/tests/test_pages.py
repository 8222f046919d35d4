"""Strategy configuration pages and the backtest pages: validation, owner isolation, the django-q2 job."""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_q.conf import Conf

from exchanges.candles import upsert_candles
from strategies.models import Backtest, StrategyConfig
from strategies.tasks import run_backtest_job
from strategies.tests.test_strategies import load_real

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice(client):
    user = get_user_model().objects.create_user("alice", password="a-long-password-1")
    client.force_login(user)
    return user


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password="a-long-password-1")


@pytest.fixture
def btc_candles():
    upsert_candles("binance", "BTC/USDT", "5m", load_real())


def config_for(owner, name="RSI default", strategy="rsi_cross", params=None):
    return StrategyConfig.objects.create(owner=owner, name=name, strategy=strategy, params=params or {})


def backtest_post(config, **overrides):
    # Percentages, as the form shows them: 0.1 % fee, all in, no exits (the reference figures' settings).
    data = {"config": config.pk, "series": "binance|BTC/USDT|5m", "start": "", "end": "", "cash": "10000",
            "fee": "0.1", "slippage": "0", "stake": "100", "stop_loss": "0", "take_profit": "0",
            "trailing_stop": "0"}
    data.update(overrides)
    return data


class TestConfigPages:
    def test_login_required(self, client):
        response = client.get(reverse("strategies:list"))
        assert response.status_code == 302 and "/accounts/login" in response["Location"]

    def test_create_with_typed_parameters(self, client, alice):
        page = client.get(reverse("strategies:create") + "?strategy=mean_reversion")
        assert b'name="param_window"' in page.content and b"param_rsi_period" not in page.content
        response = client.post(reverse("strategies:create"), {
            "name": "Bollinger 30", "strategy": "mean_reversion", "param_window": "30", "param_std": "2.5",
            "param_exit_z": "0.25"})
        assert response.status_code == 302
        config = StrategyConfig.objects.get(owner=alice)
        assert config.params == {"window": 30, "std": 2.5, "exit_z": 0.25}
        assert config.build().window == 30
        listing = client.get(reverse("strategies:list")).content.decode()
        assert "Bollinger 30" in listing and "window=30" in listing

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            ({"param_rsi_period": "1"}, "greater than or equal to 2"),
            ({"param_rsi_period": "abc"}, "Enter a whole number"),
            ({"param_oversold": "80", "param_overbought": "70"}, "must be below overbought"),
            ({"name": ""}, "This field is required"),
        ],
    )
    def test_invalid_parameters_are_form_errors_and_nothing_is_saved(self, client, alice, fields, message):
        data = {"name": "x", "strategy": "rsi_cross", "param_rsi_period": "14", "param_oversold": "30",
                "param_overbought": "70", **fields}
        response = client.post(reverse("strategies:create"), data)
        assert response.status_code == 200
        assert message in response.content.decode()
        assert not StrategyConfig.objects.exists()
        # What was typed is shown again, not lost.
        assert f'value="{data["param_oversold"]}"' in response.content.decode()

    def test_duplicate_name(self, client, alice):
        config_for(alice, "Mine")
        response = client.post(reverse("strategies:create"), {"name": "Mine", "strategy": "ema_cross",
                                                              "param_fast": "12", "param_slow": "26"})
        assert "already have a strategy with this name" in response.content.decode()
        assert StrategyConfig.objects.count() == 1

    def test_edit_and_switch_strategy(self, client, alice):
        config = config_for(alice)
        page = client.get(reverse("strategies:edit", args=[config.pk]))
        assert b'value="14"' in page.content
        response = client.post(reverse("strategies:edit", args=[config.pk]), {
            "name": "Now EMA", "strategy": "ema_cross", "param_fast": "5", "param_slow": "20"})
        assert response.status_code == 302
        config.refresh_from_db()
        assert (config.name, config.strategy, config.params) == ("Now EMA", "ema_cross", {"fast": 5, "slow": 20})

    def test_delete_keeps_past_backtests(self, client, alice):
        config = config_for(alice)
        run = Backtest.objects.create(owner=alice, config=config, strategy="rsi_cross", exchange="binance",
                                      symbol="BTC/USDT", timeframe="5m")
        assert client.get(reverse("strategies:delete", args=[config.pk])).status_code == 200
        client.post(reverse("strategies:delete", args=[config.pk]))
        assert not StrategyConfig.objects.exists()
        run.refresh_from_db()
        assert run.config is None and "config deleted" in run.config_name

    def test_delete_refused_while_a_bot_uses_it(self, client, alice):
        from bots.tests.factories import make_bot

        bot = make_bot(alice)
        response = client.post(reverse("strategies:delete", args=[bot.strategy_id]), follow=True)
        assert "is used by a bot (rsi bot)" in response.content.decode()
        assert StrategyConfig.objects.filter(pk=bot.strategy_id).exists()

    def test_other_users_configs_are_invisible(self, client, alice, bob):
        theirs = config_for(bob, "Bob's secret")
        assert "Bob&#x27;s secret" not in client.get(reverse("strategies:list")).content.decode()
        for name in ("strategies:edit", "strategies:delete"):
            assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
            assert client.post(reverse(name, args=[theirs.pk]), {"name": "taken"}).status_code == 404
        theirs.refresh_from_db()
        assert theirs.name == "Bob's secret"


class TestBacktestPages:
    def test_no_stored_candles_is_said_clearly(self, client, alice):
        config = config_for(alice)
        page = client.get(reverse("strategies:backtest_new")).content.decode()
        assert "No candles are stored yet" in page
        response = client.post(reverse("strategies:backtest_new"), backtest_post(config))
        assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
        assert not Backtest.objects.exists()

    def test_empty_date_range_is_a_form_error(self, client, alice, btc_candles):
        config = config_for(alice)
        response = client.post(reverse("strategies:backtest_new"),
                               backtest_post(config, start="2024-01-01", end="2024-02-01"))
        assert "No stored candles for binance BTC/USDT 5m in that date range" in response.content.decode()
        assert not Backtest.objects.exists()

    @pytest.mark.parametrize(("field", "value", "message"), [
        ("stop_loss", "100", "less than or equal to 99.99"), ("fee", "-0.1", "greater than or equal to 0"),
        ("stake", "0", "greater than or equal to 0.01"), ("end", "2022-01-01", "before the first day"),
        # Issue 9, item 16: cash 1e308 overflowed the simulation and the results could not be stored.
        ("cash", "1e308", "less than or equal to 1000000000000"), ("cash", "1e13", "less than or equal to"),
    ])
    def test_bad_settings_are_form_errors(self, client, alice, btc_candles, field, value, message):
        response = client.post(reverse("strategies:backtest_new"),
                               backtest_post(config_for(alice), start="2023-01-05", **{field: value}))
        assert message in response.content.decode()
        assert not Backtest.objects.exists()

    def test_run_through_django_q_and_show_the_result(self, client, alice, btc_candles,
                                                      django_capture_on_commit_callbacks):
        config = config_for(alice)
        with mock.patch.object(Conf, "SYNC", True), django_capture_on_commit_callbacks(execute=True):
            response = client.post(reverse("strategies:backtest_new"), backtest_post(config))
        run = Backtest.objects.get()
        assert response["Location"] == reverse("strategies:backtest_detail", args=[run.pk])
        assert run.status == Backtest.Status.DONE and run.progress == 100
        assert run.metrics["total_return"] == pytest.approx(0.05632, abs=5e-6)
        assert len(run.trades) == 35 and run.candle_count == 10999
        assert len(run.chart_candles) <= 240 and len(run.equity) <= 800
        assert run.equity[-1][1] == pytest.approx(10563.21, abs=0.01)
        page = client.get(response["Location"]).content.decode()
        assert "+5.632 %" in page
        # The chart is drawn by static/js/charts.js from its JSON endpoint: no SVG marker in the HTML.
        chart_url = reverse("strategies:backtest_chart", args=[run.pk])
        assert f'data-url="{chart_url}"' in page and "<svg" not in page
        assert page.count("<tr>") == 36  # header + 35 trades (one page)
        data = client.get(chart_url).json()
        assert sum(m[2] for m in data["markers"] if m[1] == "entry") == 35
        assert data["bucket"] == 8 and data["candles_in_range"] == 10999 and run.chart.bucket == 1
        assert "2023-01-03 00:10" in page
        listing = client.get(reverse("strategies:backtests")).content.decode()
        assert "RSI default" in listing and "+5.63 %" in listing

    def test_date_range_and_exits_are_used(self, client, alice, btc_candles, django_capture_on_commit_callbacks):
        config = config_for(alice)
        with mock.patch.object(Conf, "SYNC", True), django_capture_on_commit_callbacks(execute=True):
            client.post(reverse("strategies:backtest_new"),
                        backtest_post(config, start="2023-01-10", end="2023-01-19", stop_loss="0.5"))
        run = Backtest.objects.get()
        assert run.candle_count == 10 * 288
        assert run.settings["stop_loss"] == 0.005
        assert "stop_loss" in {t["exit_reason"] for t in run.trades}
        assert all("2023-01-10" <= t["entry_time"] < "2023-01-20" for t in run.trades)

    def test_progress_fragment_polls_until_finished(self, client, alice, btc_candles):
        run = Backtest.objects.create(owner=alice, config=config_for(alice), strategy="rsi_cross",
                                      exchange="binance", symbol="BTC/USDT", timeframe="5m",
                                      settings={"fee": 0.001, "cash": 10000.0})
        url = reverse("strategies:backtest_status", args=[run.pk])
        fragment = client.get(url, headers={"HX-Request": "true"}).content.decode()
        assert 'hx-trigger="every 1s"' in fragment and 'value="0"' in fragment
        assert "Queued" in client.get(reverse("strategies:backtest_detail", args=[run.pk])).content.decode()
        assert run_backtest_job(run.pk).startswith("35 trades")
        done = client.get(url, headers={"HX-Request": "true"})
        assert done["HX-Refresh"] == "true"
        # Claimed once: a second delivery of the same job does nothing.
        assert run_backtest_job(run.pk) == "not queued (already run, or deleted)"

    def test_failed_job_keeps_a_readable_error(self, client, alice):
        run = Backtest.objects.create(owner=alice, strategy="rsi_cross", exchange="binance", symbol="BTC/USDT",
                                      timeframe="5m", settings={})
        assert run_backtest_job(run.pk).startswith("failed")
        run.refresh_from_db()
        assert run.status == Backtest.Status.FAILED
        assert "no stored candles for binance BTC/USDT 5m" in run.error
        page = client.get(reverse("strategies:backtest_detail", args=[run.pk])).content.decode()
        assert "no stored candles for binance BTC/USDT 5m" in page and "hx-trigger" not in page

    def test_other_users_backtests_are_invisible(self, client, alice, bob, btc_candles):
        theirs = Backtest.objects.create(owner=bob, strategy="rsi_cross", exchange="binance", symbol="BTC/USDT",
                                         timeframe="5m")
        for name in ("strategies:backtest_detail", "strategies:backtest_status"):
            assert client.get(reverse(name, args=[theirs.pk])).status_code == 404
        assert client.post(reverse("strategies:backtest_delete", args=[theirs.pk])).status_code == 404
        assert Backtest.objects.filter(pk=theirs.pk).exists()
        # Bob's configuration cannot be chosen by Alice either.
        response = client.post(reverse("strategies:backtest_new"), backtest_post(config_for(bob)))
        assert "Select a valid choice" in response.content.decode()
        assert Backtest.objects.count() == 1


def test_admin_validates_parameters(client):
    admin_user = get_user_model().objects.create_superuser("root", password="a-long-password-1")
    client.force_login(admin_user)
    url = reverse("admin:strategies_strategyconfig_add")
    response = client.post(url, {"owner": admin_user.pk, "name": "bad", "strategy": "rsi_cross",
                                 "params": '{"rsi_period": 500}'})
    assert "rsi_period: must be between 2 and 200" in response.content.decode()
    assert not StrategyConfig.objects.exists()
    client.post(url, {"owner": admin_user.pk, "name": "good", "strategy": "rsi_cross", "params": '{"rsi_period": "9"}'})
    assert StrategyConfig.objects.get().params == {"rsi_period": 9, "oversold": 30.0, "overbought": 70.0}


def test_the_backtest_form_defaults_describe_a_default_bot(client, alice, btc_candles):
    """Percentages in both forms, the same defaults: a default backtest is what a new bot would do."""
    from bots.models import Bot

    upsert_candles("binance", "AAA/BTC", "1m", load_real("binance_UNNAMED-BTC_1m_gaps").iloc[:10])  # sorts first
    page = client.get(reverse("strategies:backtest_new")).content.decode()
    assert '<option value="binance|BTC/USDT|5m" selected>' in page
    for name, shown in (("fee", "0.1"), ("stake", "10"), ("stop_loss", "2"), ("take_profit", "6"),
                        ("trailing_stop", "0"), ("slippage", "0")):
        assert f'name="{name}" value="{shown}"' in page, name
    assert "Fee per side (%)" in page and "Stake (%)" in page
    config = config_for(alice)
    defaults = {"config": config.pk, "series": "binance|BTC/USDT|5m", "start": "", "end": "", "cash": "10000",
                "fee": "0.1", "slippage": "0", "stake": "10", "stop_loss": "2", "take_profit": "6",
                "trailing_stop": "0"}
    from strategies.forms import BacktestForm

    form = BacktestForm(defaults, owner=alice)
    assert form.is_valid(), form.errors
    settings = form.settings()
    bot = Bot(owner=alice)
    assert settings.fee == float(bot.fee) and settings.stop_loss == float(bot.stop_loss_pct)
    assert settings.take_profit == float(bot.take_profit_pct) and settings.trailing_stop == float(bot.trailing_stop_pct)
    assert settings.stake == float(min(bot.stake, bot.max_position_pct))
    assert settings.cash == float(bot.starting_balance)
