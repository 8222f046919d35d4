"""Taking the wheel in a real browser, against a daphne web server and a django-q2 worker (separate processes,
the real ccxt client against the fake Binance for paper prices): buy by hand on a paper account (the ticket's
inline result), see it in the portfolio, close a replay bot's position, set an alert on the replay price that
the worker's minute fires, and see the notification arrive on the open page without a reload. Then the new
pages on a phone-sized screen: nothing sideways, the P&L column kept. Screenshots in test-artifacts/."""

import json
import threading
import time

import pytest
from django.db import connections

from bots import control
from bots.models import Bot, Position
from bots.tests.factories import make_account, make_user
from commands.models import Activity, PriceAlert
from exchanges.models import ExchangeAccount
from tests.browser.conftest import WebServer, Worker, log_in, screenshot, wait_for_js
from tests.process_env import env_for_test_database

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
ALERT_WITHIN = 60  # seconds from forcing the minute's schedule to the toast on the page


@pytest.fixture
def fake(fake_exchange):  # tests/conftest.py's fake exchange, by its short name here
    return fake_exchange


@pytest.fixture
def servers(transactional_db, fake):
    from django_q.brokers import get_broker

    get_broker().purge_queue()
    env = env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}))
    web = WebServer(env).start()
    worker = Worker(env).start()
    try:
        yield web, worker
    finally:
        worker.stop()
        web.stop()


def in_a_thread(fn, *args):
    """Playwright keeps an event loop running in the test's thread, where the Redis channel layer's
    async_to_sync refuses to run: do the worker's part in a thread of its own, as the worker would."""
    result, errors = [], []

    def run():
        try:
            result.append(fn(*args))
        except Exception as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    if errors:
        raise errors[0]
    return result[0] if result else None


def replay_bot_stopped_with_a_position(user, account):
    from commands.tests.conftest import replay_bot_with_position

    bot = replay_bot_with_position(user, account, name="Replay RSI")
    return control.stop_bot(bot, source="command")


def fire_the_minute_now():
    from django.utils import timezone
    from django_q.brokers import get_broker
    from django_q.models import Schedule
    from django_q.scheduler import scheduler

    # The schedule migration 0002 makes; an earlier transactional test's flush may have removed it.
    Schedule.objects.update_or_create(
        name="commands: price alerts and manual books",
        defaults={"func": "commands.tasks.every_minute", "schedule_type": "I", "minutes": 1, "repeats": -1,
                  "next_run": timezone.now()},
    )
    Schedule.objects.exclude(func="commands.tasks.every_minute").delete()  # only this one, now
    scheduler(broker=get_broker())


def no_overflow(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_buy_by_hand_portfolio_close_a_position_and_a_live_alert(servers, fake, page, chromium):
    web, worker = servers
    alice = make_user("trader")
    paper = make_account(alice, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    bot = in_a_thread(replay_bot_stopped_with_a_position, alice, paper)
    base = web.url
    log_in(page, base, alice)

    # Buy 500 USDT of BTC by hand on the paper account: the ticket answers in place.
    page.goto(f"{base}/exchanges/accounts/{paper.pk}/")
    page.wait_for_selector("#ticket-account")
    page.evaluate("window.__sameDocument = true")
    page.fill("#id_account_amount", "500")
    page.select_option("#id_account_unit", "quote")
    page.click("#ticket-account button[type=submit]")
    page.wait_for_selector("#ticket-account-result .outcome-done", timeout=15_000)
    assert "Bought 0.02497 BTC" in page.inner_text("#ticket-account-result")
    # The account's positions follow without a reload (the outcome's HX-Trigger reloads them).
    page.wait_for_selector("#account-books :text('Manual · Paper · BTC/USDT')", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    manual = Position.objects.get(bot__kind=Bot.Kind.MANUAL, status="open")
    assert str(manual.quantity.normalize()) == "0.02497"
    # The limit price appears only for a limit order (static/js/commands.js).
    assert page.is_hidden("#ticket-account [data-ticket-price]")
    page.select_option("#id_account_order_type", "limit")
    assert page.is_visible("#ticket-account [data-ticket-price]")
    screenshot(page, "commands-01-ticket")

    # The portfolio shows it: the paper wallet's BTC and the manual position, valued at the fake's price.
    page.goto(f"{base}/portfolio/")
    page.wait_for_selector("#balances-" + str(paper.pk) + " tr[data-asset=BTC]", timeout=20_000)
    assert "0.02497" in page.inner_text(f"#balances-{paper.pk} tr[data-asset=BTC]")
    assert "Manual · Paper · BTC/USDT" in page.inner_text("#portfolio-positions")
    assert "Replay RSI" in page.inner_text("#portfolio-positions")
    screenshot(page, "commands-02-portfolio")

    # Close the replay bot's position from its page (replay: at once); the page follows without a reload.
    page.goto(f"{base}/bots/{bot.pk}/")
    page.wait_for_selector("#live-state.live-on")
    assert page.inner_text("#live-state") == "updating"  # not "live": this is a replay bot
    page.evaluate("window.__sameDocument = true")
    page.click(f"#bot-{bot.pk}-position [data-action=close-position]")
    page.wait_for_selector(f"#bot-{bot.pk}-command-result .outcome-done", timeout=15_000)
    assert "Sold" in page.inner_text(f"#bot-{bot.pk}-command-result")
    wait_for_js(
        page, f"document.querySelector('#bot-{bot.pk}-position').innerText.includes('No open position')", timeout=5000)
    assert Position.objects.get(bot=bot).status == "closed"
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "commands-03-closed")

    # An alert on the replay bot's price (its clock stands where the bot stopped): below a price above it.
    page.goto(f"{base}/alerts/")
    page.select_option("#id_source", f"bot:{bot.pk}")
    page.fill("#id_symbol", "BTC/USDT")
    page.select_option("#id_direction", "below")
    page.fill("#id_price", "100000")
    page.click("main form.alert-form button[type=submit]")
    page.wait_for_selector("#alerts .alert-active")
    alert = PriceAlert.objects.get()
    assert alert.bot_id == bot.pk and alert.status == "active"
    page.wait_for_selector("html[data-live=on]", state="attached")  # its notification socket is open
    page.evaluate("window.__sameDocument = true")
    fire_the_minute_now()
    deadline = time.monotonic() + ALERT_WITHIN
    while not PriceAlert.objects.filter(pk=alert.pk, status="fired").exists():
        assert time.monotonic() < deadline, "the alert did not fire; see test-artifacts/qcluster.log"
        assert worker.process.poll() is None, "the worker died"
        time.sleep(0.2)
    page.wait_for_selector("#notifications .toast-alert_fired", timeout=5000)
    toast = page.inner_text("#notifications .toast-alert_fired")
    assert "BTC/USDT went below 100,000.00 USDT" in toast and "replay bot Replay RSI" in toast
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "commands-04-alert-notification")
    page.click("#notifications .toast-alert_fired [data-dismiss]")
    assert page.query_selector("#notifications .toast") is None

    # Everything is in the activity log.
    page.goto(f"{base}/activity/")
    log = page.inner_text("#activity")
    for command in ("place_order", "close_position", "create_alert", "alert_fired"):
        assert command in log, command
    assert Activity.objects.filter(owner=alice, status="done").count() == 4
    screenshot(page, "commands-05-activity")

    # A phone-sized screen: nothing sideways, the P&L column of the positions kept on screen.
    phone = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                 timezone_id="UTC")
    small = phone.new_page()
    try:
        log_in(small, base, alice)
        for path, name in (("/portfolio/", "portfolio"), ("/alerts/", "alerts"), ("/activity/", "activity"),
                           (f"/exchanges/accounts/{paper.pk}/", "account-ticket"), (f"/bots/{bot.pk}/", "bot"),
                           (f"/bots/{bot.pk}/edit/", "bot-edit")):
            small.goto(f"{base}{path}")
            small.wait_for_load_state("networkidle")
            assert no_overflow(small) <= 0, path
            screenshot(small, f"commands-phone-{name}")
        small.goto(f"{base}/portfolio/")
        small.wait_for_selector("#portfolio-positions table")
        header = small.query_selector("#portfolio-positions th:has-text('P&L')")
        assert header is not None and header.is_visible()
        box = header.bounding_box()
        assert box["x"] + box["width"] <= 390, box
    finally:
        phone.close()
