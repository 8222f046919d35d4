"""The live pages in a real browser: numbers move without a reload, a dropped socket catches up, phone layout."""

import threading
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connections

from bots import live
from bots.models import Bot, PnLSnapshot
from bots.tests.test_live import make_bot, make_user
from bots.tests.test_views import add_trade
from tests.browser.conftest import log_in, screenshot, wait_for_js

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

def publish_and_close(bot_id):
    try:
        live.publish_bot_update(bot_id)
    finally:
        connections.close_all()  # this thread's own connection, or PostgreSQL cannot drop the test database


def tick(bot, equity: str, price: str, when: datetime):
    """What the worker's tick leaves behind, then its publish: a fill, a snapshot, a live update."""
    fill = add_trade(bot, price=price, amount="0.01", when=when)
    PnLSnapshot.objects.create(bot=bot, time=when, equity=Decimal(equity), realised=Decimal("0"),
                               unrealised=Decimal(equity) - bot.starting_balance)
    # In a thread of its own, as in the worker: Playwright keeps an event loop running in this one, where
    # the Redis channel layer's async_to_sync refuses to run.
    publisher = threading.Thread(target=publish_and_close, args=(bot.pk,))
    publisher.start()
    publisher.join()
    return fill


def test_bot_page_updates_live_and_catches_up_after_the_server_restarts(web_server, page):
    alice = make_user()
    bot = make_bot(alice, name="live bot", starting_balance=Decimal("10000"))
    log_in(page, web_server.url, alice)
    page.goto(f"{web_server.url}/bots/{bot.pk}/")
    page.wait_for_selector("#live-state.live-on")
    page.evaluate("window.__sameDocument = true")

    started = time.monotonic()
    fill = tick(bot, "10123.40", "20100", datetime(2026, 11, 20, 12, 5, tzinfo=UTC))
    page.wait_for_selector(f"#fill-{fill.pk}", timeout=2000)
    assert time.monotonic() - started < 2.0
    assert page.inner_text(f"#bot-{bot.pk}-stats [data-field=total-pnl]") == "+123.40 USDT"
    assert "20,100.00 USDT" in page.inner_text(f"#fill-{fill.pk}")
    # The worker rendered that row in UTC; the browser shows it in its own zone (Berlin, UTC+1).
    assert "2026-11-20 13:05:00" in page.inner_text(f"#fill-{fill.pk}")
    screenshot(page, "bot-page-live")

    # The server goes away; a tick happens meanwhile; the server comes back: the page catches up by itself.
    web_server.stop()
    page.wait_for_selector("#live-state.live-off")
    missed = tick(bot, "10200.00", "20200", datetime(2026, 11, 20, 12, 10, tzinfo=UTC))
    web_server.start()
    page.wait_for_selector(f"#fill-{missed.pk}", timeout=20_000)
    assert page.inner_text(f"#bot-{bot.pk}-stats [data-field=total-pnl]") == "+200.00 USDT"
    assert page.evaluate("window.__sameDocument") is True  # no reload happened

    # Stop needs a confirmation (accepted by the fixture); the badge changes in place.
    page.click(f"#bot-{bot.pk}-controls button:has-text('Start')")
    page.wait_for_selector(f"#bot-{bot.pk}-status [data-status=running]")
    page.click(f"#bot-{bot.pk}-controls button:has-text('Stop')")
    page.wait_for_selector(f"#bot-{bot.pk}-status [data-status=stopped]")
    assert Bot.objects.get(pk=bot.pk).status == Bot.Status.STOPPED


def test_dashboard_updates_live_and_fits_a_phone(web_server, chromium):
    alice = make_user()
    bot = make_bot(alice, name="phone bot", starting_balance=Decimal("10000"))
    context = chromium.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True,
                                   timezone_id="UTC")
    page = context.new_page()
    try:
        log_in(page, web_server.url, alice)
        page.wait_for_selector("#live-state.live-on")
        tick(bot, "9950.25", "19900", datetime(2026, 11, 20, 12, 5, tzinfo=UTC))
        wait_for_js(page, f"document.querySelector('#dash-bot-{bot.pk} [data-field=total-pnl]').innerText"
                          ".includes('-49.75 USDT')", timeout=2000)
        assert "19,900.00 USDT" in page.inner_text("#dash-trades")
        # A bot created after the page was rendered shows up with its first update.
        newcomer = make_bot(alice, name="newcomer", symbol="ETH/BTC", starting_balance=Decimal("1"))
        tick(newcomer, "1.5", "0.075", datetime(2026, 11, 20, 12, 10, tzinfo=UTC))
        page.wait_for_selector(f"#dash-bots #dash-bot-{newcomer.pk}", timeout=2000)
        assert "+0.50000000 BTC" in page.inner_text(f"#dash-bot-{newcomer.pk} [data-field=total-pnl]")
        # Nothing sticks out sideways on a phone (tables scroll inside their own box).
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
        screenshot(page, "dashboard-phone")
        for path, name in ((f"/bots/{bot.pk}/", "bot-page-phone"), ("/bots/", "bot-list-phone"),
                           ("/bots/new/", "create-bot-phone")):
            page.goto(f"{web_server.url}{path}")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, path
            screenshot(page, name)
    finally:
        context.close()


def test_a_foreign_bot_page_is_not_found_and_its_socket_is_refused(web_server, page):
    alice = make_user("alice")
    bob = make_user("bob")
    bobs_bot = make_bot(bob, name="bob's")
    log_in(page, web_server.url, alice)
    response = page.goto(f"{web_server.url}/bots/{bobs_bot.pk}/")
    assert response.status == 404
    code = page.evaluate(
        """(url) => new Promise((resolve) => {
            const ws = new WebSocket(url);
            ws.onclose = (e) => resolve(e.code);
        })""",
        f"ws://127.0.0.1:{web_server.port}/ws/live/?bot={bobs_bot.pk}",
    )
    assert code == 4403
