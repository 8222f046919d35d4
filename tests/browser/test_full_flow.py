"""The whole story in a real browser, against a daphne web server and a django-q2 worker (separate processes):
sign up, add a paper exchange account, create an RSI-cross strategy, backtest it and see the chart, create a
replay bot on BTC/USDT 5m, start it, see P&L and the trade log change within 2 s of a tick without a reload,
stop it. Runs on whatever database and channel layer the suite runs on (SQLite + relay, or PostgreSQL +
Redis). Screenshots of every page go to test-artifacts/flow-*.png."""

import time
import zoneinfo

import pytest
from django.conf import settings

from bots import live
from bots.models import Bot, Fill
from exchanges.candles import load_candles, read_candle_file, upsert_candles
from strategies.registry import build_strategy
from tests.browser.conftest import screenshot, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PASSWORD = "correct-horse-battery-9"
BROWSER_ZONE = "Europe/Berlin"  # the page fixture's browser time zone
FIRST_TRADE_WITHIN = 60  # seconds; the entry signal is 8 replayed candles (8 s at 300x) after the start


def import_demo_candles():
    """What an operator does once (manage.py import_candles): the shipped BTC/USDT 5m candles."""
    frame = read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m")
    upsert_candles("binance", "BTC/USDT", "5m", frame)
    return load_candles("binance", "BTC/USDT", "5m")


def replay_start_before_first_buy(candles, lead: int = 8) -> str:
    """A replay start a few candles before the first RSI-cross entry that has the strategy's warm-up history
    before it (a tick with less history holds), as the browser's datetime-local."""
    strategy = build_strategy("rsi_cross", {})
    signals = strategy.signals(candles)
    first_buy = next(i for i, s in enumerate(signals) if s == 1 and i >= strategy.warmup + lead)
    start = candles.index[first_buy - lead].to_pydatetime()
    return start.astimezone(zoneinfo.ZoneInfo(BROWSER_ZONE)).strftime("%Y-%m-%dT%H:%M")


def no_trade_report(bot) -> str:
    state = Bot.objects.filter(pk=bot.pk).values("status", "last_candle_at", "next_tick_at", "replay_start").first()
    events = list(bot.events.values_list("kind", "message"))
    return f"no trade after {FIRST_TRADE_WITHIN} s: {state}, events {events}; see test-artifacts/qcluster.log"


def fire_dispatcher_now():
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    # The schedule migration 0005 makes; an earlier transactional test's flush may have removed it.
    Schedule.objects.update_or_create(
        name="bots dispatcher",
        defaults={"func": "bots.scheduler.dispatch", "schedule_type": "I", "minutes": 1, "repeats": -1,
                  "next_run": timezone.now()},
    )
    scheduler(broker=get_broker())


def submit(page):
    page.click("main form button[type=submit]")
    page.wait_for_load_state("load")


def test_sign_up_to_a_live_trading_replay_bot(web_server, worker, page):
    candles = import_demo_candles()
    base = web_server.url

    # Sign up (and get logged in).
    page.goto(f"{base}/accounts/signup/")
    page.fill("#id_username", "trader")
    page.fill("#id_email", "trader@example.com")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    submit(page)
    page.wait_for_url(f"{base}/")
    screenshot(page, "flow-01-dashboard-new-user")

    # A paper exchange account.
    page.goto(f"{base}/exchanges/accounts/new/")
    page.fill("#id_label", "Paper")
    page.fill("#id_exchange_id", "binance")
    page.select_option("#id_mode", "paper")
    submit(page)
    assert "Paper" in page.inner_text("main")
    screenshot(page, "flow-02-exchange-account")

    # An RSI-cross strategy configuration (the form re-renders its parameters when the strategy changes).
    page.goto(f"{base}/strategies/new/")
    page.fill("#id_name", "RSI cross")
    page.select_option("#id_strategy", "rsi_cross")
    page.wait_for_load_state("networkidle")
    submit(page)
    assert "RSI cross" in page.inner_text("main")
    screenshot(page, "flow-03-strategy")

    # A backtest, run by the worker; the page shows its charts when it is done.
    page.goto(f"{base}/strategies/backtests/new/")
    page.select_option("#id_config", label="RSI cross")
    submit(page)
    page.wait_for_selector("#backtest-chart[data-ready='1']", timeout=60_000)
    assert "Total return" in page.inner_text("#metrics")
    screenshot(page, "flow-04-backtest")

    # A replay bot on BTC/USDT 5m.
    page.goto(f"{base}/bots/new/")
    page.fill("#id_name", "RSI replay")
    page.select_option("#id_exchange_account", label="Paper (binance, paper)")
    page.select_option("#id_strategy", label="RSI cross")
    page.select_option("#id_mode", "replay")
    page.wait_for_selector("#symbol-options option[value='BTC/USDT']", state="attached")
    page.fill("#id_symbol", "BTC/USDT")
    page.select_option("#id_timeframe", "5m")
    page.fill("#id_replay_start", replay_start_before_first_buy(candles))
    page.fill("#id_replay_speed", "300")
    screenshot(page, "flow-05-create-bot")
    submit(page)
    bot = Bot.objects.get(name="RSI replay")
    page.wait_for_url(f"{base}/bots/{bot.pk}/")
    page.wait_for_selector("#live-state.live-on")
    page.evaluate("window.__sameDocument = true")
    assert page.inner_text(f"#bot-{bot.pk}-stats [data-field=fill-count]") == "0"

    # Start it; the worker ticks it; the first fill reaches the open page within 2 s of the tick.
    # A tick acts on the newest closed candle only, and the replay runs at 300x: make the worker's
    # once-a-minute dispatcher fire now rather than up to a minute later, past the replayed entry signal.
    fire_dispatcher_now()
    page.click(f"#bot-{bot.pk}-controls button:has-text('Start')")
    page.wait_for_selector(f"#bot-{bot.pk}-status [data-status=running]")
    deadline = time.monotonic() + FIRST_TRADE_WITHIN
    fill = None
    while fill is None:
        assert time.monotonic() < deadline, no_trade_report(bot)
        assert worker.process.poll() is None, "the worker died"
        time.sleep(0.1)
        fill = Fill.objects.filter(bot=bot).order_by("id").first()
    booked = time.monotonic()
    page.wait_for_selector(f"#fill-{fill.pk}", timeout=2000)
    assert time.monotonic() - booked < 2.0
    wait_for_js(page, f"document.querySelector('#bot-{bot.pk}-stats [data-field=fill-count]').innerText !== '0'",
                timeout=2000)
    total_pnl = page.inner_text(f"#bot-{bot.pk}-stats [data-field=total-pnl]")
    assert total_pnl.endswith("USDT")
    assert page.evaluate("window.__sameDocument") is True
    # P&L moves with later ticks too (the replay runs on; its equity follows the price).
    wait_for_js(page, f"document.querySelector('#bot-{bot.pk}-stats [data-field=equity]').innerText !== "
                      "'10,000.00 USDT'", timeout=20_000)
    screenshot(page, "flow-06-bot-trading")

    # Stop it (the page asks for confirmation; the fixture accepts).
    page.click(f"#bot-{bot.pk}-controls button:has-text('Stop')")
    page.wait_for_selector(f"#bot-{bot.pk}-status [data-status=stopped]")
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED
    screenshot(page, "flow-07-bot-stopped")

    page.goto(f"{base}/")
    assert "RSI replay" in page.inner_text(f"#dash-bot-{bot.pk}")
    assert "USDT" in page.inner_text(f"#dash-bot-{bot.pk} [data-field=equity]")
    screenshot(page, "flow-08-dashboard")
    assert live.last_message_id(live.bot_group(bot.pk)) > 0
