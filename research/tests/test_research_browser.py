"""In real Chromium against daphne and a real django-q2 worker: run a small grid, watch its progress arrive
over the websocket up to 100 % (no reload), open the heatmap, sort the table, save the best set as a config."""

import re
import time

import pytest
from django.contrib.auth import get_user_model

from exchanges.candles import upsert_candles
from research.models import OptimizationRun
from strategies.models import StrategyConfig
from strategies.tests.test_strategies import load_real
from tests.browser.conftest import chromium, log_in, page, screenshot, wait_for_js, web_server, worker  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_run_a_grid_watch_it_finish_open_the_heatmap_and_save_the_best(web_server, worker, page):  # noqa: F811
    user = get_user_model().objects.create_user("dora", password="a-long-password-1")
    StrategyConfig.objects.create(owner=user, name="My RSI", strategy="rsi_cross", params={})
    upsert_candles("binance", "BTC/USDT", "5m", load_real())
    log_in(page, web_server.url, user)
    page.goto(f"{web_server.url}/research/new/")
    page.select_option("#id_config", label="My RSI")
    page.select_option("#id_series", "binance|BTC/USDT|5m")
    page.fill("#id_grid", "rsi_period=5:40:1,oversold=15:40:5")
    page.fill("#id_stake", "100")
    page.fill("#id_stop_loss", "0")
    page.fill("#id_take_profit", "0")
    page.fill("#id_walk_forward", "2")
    page.click("#run-optimization")
    page.wait_for_url(re.compile(r".*/research/\d+/$"))
    run = OptimizationRun.objects.get()
    assert run.total == 36 * 6 * 3
    # A mark on this very page: if it is still there at the end, the progress came over the socket.
    page.evaluate("window.__notReloaded = true")
    seen = set()
    selector = f"#run-progress-{run.pk}"

    def percent_now():
        value = page.get_attribute(selector, "data-percent")
        seen.add(int(value))
        return page.get_attribute(selector, "data-status")

    deadline = time.monotonic() + 120
    while percent_now() != "done":
        assert time.monotonic() < deadline, f"not done in 120 s; seen {sorted(seen)}"
        time.sleep(0.05)
    assert 100 in seen
    assert page.evaluate("window.__notReloaded === true")
    assert "100 %" in page.inner_text(selector)
    screenshot(page, "research-progress-done")

    page.click("#run-show-results")
    page.wait_for_selector("#results")
    page.click("#heatmap summary")
    assert page.is_visible("#heatmap-svg")
    assert page.locator("#heatmap-svg rect").count() == 36 * 6
    assert page.locator("#walk-forward tbody tr").count() == 2
    # Sorting by trades (a click on its heading) orders the rows by it, largest first.
    trades_column = page.locator("#results thead th").all_inner_texts().index("Trades")
    page.locator("#results thead th").nth(trades_column).click()
    wait_for_js(page, "document.querySelector('#results thead th[aria-sort]') !== null")
    values = page.evaluate(
        f"Array.from(document.querySelectorAll('#results tbody tr')).map(r => +r.cells[{trades_column}]"
        ".getAttribute('data-value'))")
    assert values == sorted(values, reverse=True) and len(values) == 100
    screenshot(page, "research-results")

    page.locator("#results thead th").first.click()  # back to the ranking (rank 1 first)
    wait_for_js(page, "document.querySelector('#results tbody tr').id === 'result-0'", timeout=5000)
    page.click("#save-0")
    page.wait_for_url(re.compile(r".*/strategies/\d+/edit/$"))
    run.refresh_from_db()
    saved = StrategyConfig.objects.get(name=f"My RSI (optimised {run.pk})")
    assert saved.params["rsi_period"] == run.best["params"]["rsi_period"]
    assert saved.params["oversold"] == run.best["params"]["oversold"]
