"""In real Chromium: create a strategy (the parameter fields follow the chosen rule), run a backtest, watch the
progress indicator, and read the result page (charts and trades)."""

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from exchanges.candles import upsert_candles
from strategies.models import Backtest, StrategyConfig
from strategies.tasks import run_backtest_job
from strategies.tests.test_strategies import load_real

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page(live_server, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    user = get_user_model().objects.create_user("carol", password="a-long-password-1")
    client = Client()
    client.force_login(user)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context()
        context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "url": live_server.url,
                              "value": client.cookies[settings.SESSION_COOKIE_NAME].value}])
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def test_create_strategy_and_run_a_backtest(page, live_server):
    upsert_candles("binance", "BTC/USDT", "5m", load_real())
    page.goto(f"{live_server.url}/strategies/new/")
    page.fill("#id_name", "My RSI")
    # Switching the rule swaps in its own parameter fields (htmx), keeping the typed name.
    page.select_option("#id_strategy", "mean_reversion")
    page.wait_for_selector("#id_param_window")
    assert page.locator("#id_param_rsi_period").count() == 0
    assert page.input_value("#id_name") == "My RSI"
    page.select_option("#id_strategy", "rsi_cross")
    page.wait_for_selector("#id_param_rsi_period")
    page.fill("#id_param_rsi_period", "1")
    page.click("button[type=submit]")
    assert "greater than or equal to 2" in page.inner_text("#config-form")
    assert not StrategyConfig.objects.exists()
    page.fill("#id_param_rsi_period", "14")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/strategies/")
    assert "My RSI" in page.inner_text("#configs")

    page.click("#configs a:text-is('Backtest')")
    page.select_option("#id_series", "binance|BTC/USDT|5m")
    page.click("button[type=submit]")
    page.wait_for_selector("#backtest-status progress")
    assert "Queued" in page.inner_text("#backtest-status")
    # The worker's part, done here: the page notices by polling and reloads with the result.
    run = Backtest.objects.get()
    assert run_backtest_job(run.pk).startswith("35 trades")
    page.wait_for_selector("#metrics")
    assert "+5.632 %" in page.inner_text("#metrics")
    assert page.locator("#candle-chart svg path.entry").count() == 35
    assert page.locator("#equity-chart svg polyline.equity").count() == 1
    assert page.locator("#trades tbody tr").count() == 35
    page.click("text=All backtests")
    assert "My RSI" in page.inner_text("#backtests")
