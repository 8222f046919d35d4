"""The interactive charts in real Chromium: a backtest chart zooms (its endpoint is asked again and finer bars
appear), shows trade markers and crosshair values; a bot page's chart follows live updates; the comparison
chart overlays runs; everything fits a phone-sized screen."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connections

from bots import live
from bots.models import Bot, PnLSnapshot
from bots.tests.factories import make_bot
from bots.tests.test_views import add_trade
from exchanges.candles import upsert_candles
from strategies.models import Backtest, StrategyConfig
from strategies.tasks import run_backtest_job
from strategies.tests.test_strategies import load_real
from tests.browser.conftest import log_in, screenshot, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
SETTINGS = {"cash": 10_000.0, "fee": 0.001, "slippage": 0.0, "stop_loss": 0.0, "take_profit": 0.0,
            "trailing_stop": 0.0, "stake": 1.0}


def finished_run(owner, **settings) -> Backtest:
    config, _ = StrategyConfig.objects.get_or_create(owner=owner, name="RSI", strategy="rsi_cross", params={})
    run = Backtest.objects.create(owner=owner, config=config, strategy="rsi_cross", params=config.build().values,
                                  exchange="binance", symbol="BTC/USDT", timeframe="5m",
                                  settings={**SETTINGS, **settings})
    run_backtest_job(run.pk)
    return Backtest.objects.get(pk=run.pk)


def attribute(page, selector, name):
    return page.get_attribute(selector, name)


def test_backtest_chart_zooms_into_finer_candles_with_markers_and_crosshair_values(web_server, page):
    user = get_user_model().objects.create_user("carol", password="a-long-password-1")
    upsert_candles("binance", "BTC/USDT", "5m", load_real())
    run = finished_run(user)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if f"/backtests/{run.pk}/chart/" in r.url else None)
    log_in(page, web_server.url, user)
    page.goto(f"{web_server.url}/strategies/backtests/{run.pk}/")
    chart = "#backtest-chart"
    page.wait_for_selector(f"{chart}[data-ready='1']")
    assert attribute(page, chart, "data-bucket") == "8" and int(attribute(page, chart, "data-bars")) == 1375
    assert int(attribute(page, chart, "data-markers")) == 70  # 35 entries and 35 exits, none sharing a bar
    caption = page.inner_text("[data-chart-caption]")
    assert "Showing 1,375 bars of 10,999 candles, 8 candles per bar" in caption
    assert len(asked) == 1
    # No crosshair yet: the legend shows the last bar; hovering shows the values under the pointer.
    last_legend = page.inner_text("[data-chart-legend]")
    assert "2023-02-09" in last_legend and "Equity 10,563.21 USDT (+5.63 %)" in last_legend
    box = page.locator(chart).bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.3)
    wait_for_js(page, "!document.querySelector('[data-chart-legend]').innerText.includes('2023-02-09')")
    legend = page.inner_text("[data-chart-legend]")
    assert " O " in f" {legend}" and " H " in legend and " C " in legend and "Equity" in legend
    screenshot(page, "backtest-chart")

    # Zoom in with the mouse wheel: the endpoint is asked for the visible range and finer bars replace the
    # overview's there.
    for _ in range(25):
        page.mouse.wheel(0, -400)
        page.wait_for_timeout(60)
    wait_for_js(page, f"parseInt(document.querySelector('{chart}').dataset.bucket) < 8", timeout=10_000)
    zoomed = [url for url in asked if "from=" in url]
    assert zoomed and "align=2400" in zoomed[-1]
    bucket = int(attribute(page, chart, "data-bucket"))
    assert bucket in (1, 2, 4)
    assert int(attribute(page, chart, "data-bars")) > 1375  # overview outside, finer bars inside
    assert "candles per bar" in page.inner_text("[data-chart-caption]") or bucket == 1
    assert int(attribute(page, chart, "data-markers")) >= 70
    screenshot(page, "backtest-chart-zoomed")
    # "Whole run" goes back to the overview.
    page.click("[data-chart-reset]")
    wait_for_js(page, f"document.querySelector('{chart}').dataset.bucket === '8'")


def test_compare_overlays_equity_curves_and_pages_fit_a_phone(web_server, chromium):
    user = get_user_model().objects.create_user("dave", password="a-long-password-1")
    upsert_candles("binance", "BTC/USDT", "5m", load_real())
    first = finished_run(user)
    second = finished_run(user, stop_loss=0.01, cash=500.0)
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, web_server.url, user)
        page.goto(f"{web_server.url}/strategies/backtests/")
        page.check(f"input[name=ids][value='{first.pk}']")
        page.check(f"input[name=ids][value='{second.pk}']")
        page.click("#compare-button")
        page.wait_for_selector("#compare-chart[data-ready='1']")
        assert page.get_attribute("#compare-chart", "data-series") == "2"
        assert "+5.632 %" in page.inner_text("#compare-metrics")
        screenshot(page, "compare-phone")
        for path in ("/strategies/backtests/", f"/strategies/backtests/{first.pk}/",
                     f"/strategies/backtests/compare/?ids={first.pk},{second.pk}"):
            page.goto(f"{web_server.url}{path}")
            page.wait_for_load_state("networkidle")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, path
            chart = page.locator("[data-chart]")
            if chart.count():
                box = chart.first.bounding_box()
                assert box["width"] <= 390 and box["height"] >= 200, path
        page.goto(f"{web_server.url}/strategies/backtests/{first.pk}/")
        page.wait_for_selector("#backtest-chart[data-ready='1']")
        screenshot(page, "backtest-chart-phone")
        assert not errors
    finally:
        context.close()


def publish_and_close(bot_id):
    try:
        live.publish_bot_update(bot_id)
    finally:
        connections.close_all()


def test_bot_chart_follows_each_live_update(web_server, page):
    """What a tick leaves (its candle processed, a snapshot, maybe a fill) and its publish: the open chart gains
    the candle, the equity point and the marker without asking the server again."""
    user = get_user_model().objects.create_user("erin", password="a-long-password-1")
    candles = load_real().iloc[:400]
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    bot = make_bot(user, name="chart bot", mode=Bot.Mode.REPLAY, starting_balance=Decimal("10000"),
                   replay_start=candles.index[0].to_pydatetime())
    times = [t.to_pydatetime() for t in candles.index]
    for k in range(300):
        PnLSnapshot.objects.create(bot=bot, time=times[k], equity=Decimal("10000") + k, realised=Decimal("0"),
                                   unrealised=Decimal(k))
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=times[299])
    asked = []
    page.on("request", lambda r: asked.append(r.url) if f"/bots/{bot.pk}/chart/" in r.url else None)
    log_in(page, web_server.url, user)
    page.goto(f"{web_server.url}/bots/{bot.pk}/")
    page.wait_for_selector("#live-state.live-on")
    chart = "#bot-chart"
    page.wait_for_selector(f"{chart}[data-ready='1']")
    assert attribute(page, chart, "data-bars") == "300" and attribute(page, chart, "data-markers") == "0"

    for step, k in enumerate((300, 301, 302), start=1):
        Bot.objects.filter(pk=bot.pk).update(last_candle_at=times[k])
        PnLSnapshot.objects.create(bot=bot, time=times[k], equity=Decimal("10500"), realised=Decimal("0"),
                                   unrealised=Decimal("500"))
        if k == 301:
            add_trade(bot, price="16700", when=times[k] + timedelta(minutes=5))
        publisher = threading.Thread(target=publish_and_close, args=(bot.pk,))
        publisher.start()
        publisher.join()
        wait_for_js(page, f"document.querySelector('{chart}').dataset.liveUpdates === '{step}'", timeout=5000)
        assert attribute(page, chart, "data-bars") == str(300 + step)
    assert attribute(page, chart, "data-markers") == "1"
    assert "(+3 live since loaded)" in page.inner_text("#bot-chart-card [data-chart-caption]")
    assert "Equity 10,500.00 USDT (+5.00 %)" in page.inner_text("#bot-chart-card [data-chart-legend]")
    assert len(asked) == 1  # every update was folded in; the endpoint was asked once, on load
    screenshot(page, "bot-chart-live")


def test_chart_pages_run_under_a_strict_script_policy(web_server, page):
    """Every chart page works with `script-src 'self'` (no inline script, no eval): the header is added to
    each response here, as the coming Content-Security-Policy will."""
    user = get_user_model().objects.create_user("frank", password="a-long-password-1")
    upsert_candles("binance", "BTC/USDT", "5m", load_real().iloc[:3000])
    first, second = finished_run(user), finished_run(user, stop_loss=0.01)
    bot = make_bot(user, name="csp bot", mode=Bot.Mode.REPLAY, replay_start=first.chart.first_candle)
    PnLSnapshot.objects.create(bot=bot, time=first.chart.first_candle, equity=Decimal("10000"), realised=0,
                               unrealised=0)
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=first.chart.first_candle)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)

    def with_policy(route):
        response = route.fetch()
        headers = {**response.headers, "content-security-policy": "script-src 'self'; object-src 'none'"}
        route.fulfill(response=response, headers=headers)

    log_in(page, web_server.url, user)
    page.route(f"{web_server.url}/**", with_policy)
    for path, selector in ((f"/strategies/backtests/{first.pk}/", "#backtest-chart"),
                           (f"/bots/{bot.pk}/", "#bot-chart"), ("/", "#dash-equity-chart"),
                           (f"/strategies/backtests/compare/?ids={first.pk},{second.pk}", "#compare-chart")):
        page.goto(f"{web_server.url}{path}")
        page.wait_for_selector(f"{selector}[data-ready='1']")
        assert violations == [], path
    # The policy is in force: an inline script added now is refused (and reported).
    ran = page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.__x = 1';
                                   document.body.appendChild(s); return window.__x === 1; }""")
    page.wait_for_timeout(200)
    assert ran is False and violations
    html = page.content()
    assert "javascript:" not in html
