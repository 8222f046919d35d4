"""The assistant's command box in a real browser, against a daphne web server (the real ccxt client against
the fake Binance for prices and the live account): a buy on a paper account runs only after Confirm, a Thai
command does the same, and a live-account command waits for its confirmation (nothing reaches the exchange
before it). All in place, on the same page. Screenshots in test-artifacts/."""

import json

import pytest

from bots.models import Order
from bots.tests.factories import make_account, make_user
from commands.models import Activity
from exchanges.models import ExchangeAccount
from tests.browser.conftest import WebServer, log_in, screenshot, wait_for_js
from tests.process_env import env_for_test_database

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def fake(fake_exchange):  # tests/conftest.py's fake exchange, by its short name here
    return fake_exchange


@pytest.fixture
def web(transactional_db, fake):
    env = env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}), OPENAI_API_KEY="",
                                OPENAI_BASE_URL="")
    server = WebServer(env).start()
    try:
        yield server
    finally:
        server.stop()


def send(page, text: str, count: int) -> None:
    """Type a command into the box and wait for its reply (the newest is first)."""
    page.fill("#command-text", text)
    page.click("#command-box button[type=submit]")
    wait_for_js(page, f"document.querySelectorAll('#command-reply > .assistant-reply').length >= {count}"
                      " && document.querySelector('#command-text').value === ''", timeout=15_000)


def newest(page) -> str:
    return page.inner_text("#command-reply > .assistant-reply:first-child")


def test_the_command_box_confirms_in_place_on_paper_in_thai_and_waits_on_a_live_account(web, fake, page):
    alice = make_user("trader")
    make_account(alice, label="Paper", mode=ExchangeAccount.Mode.PAPER)
    log_in(page, web.url, alice)
    page.goto(f"{web.url}/portfolio/")
    page.evaluate("window.__sameDocument = true")

    # English, paper: proposed, nothing done, then Confirm buys.
    send(page, "buy 100 USDT of BTC", 1)
    reply = "#command-reply > .assistant-reply[data-kind=confirm]"
    assert "Buy 0.00499 BTC at market on Paper" in page.inner_text(reply)
    assert not Order.objects.exists()
    screenshot(page, "assistant-01-confirm", full_page=False)
    page.click(f"{reply} button.confirm")
    page.wait_for_selector("#command-reply > .assistant-reply[data-kind=done]")
    assert "Bought 0.00499 BTC" in newest(page)
    assert Order.objects.filter(side="buy", status="closed").count() == 1

    # Thai (no spaces between words): the same path.
    send(page, "ซื้อ BTC 100 USDT", 2)
    assert "Buy 0.00499 BTC at market on Paper" in newest(page)
    page.click(f"{reply} button.confirm")
    wait_for_js(page, "document.querySelectorAll('#command-reply > .assistant-reply[data-kind=done]').length === 2")
    assert Order.objects.filter(side="buy", status="closed").count() == 2
    screenshot(page, "assistant-02-thai", full_page=False)

    # A live account: the command waits; nothing reaches the exchange until Confirm.
    live = make_account(alice, label="Binance", mode=ExchangeAccount.Mode.LIVE)
    live.api_key, live.api_secret = fake.api_key, fake.api_secret
    live.save()
    send(page, "buy 0.001 BTC on live", 3)
    text = newest(page)
    assert "Buy 0.001 BTC at market on Binance" in text and "live" in text, text
    pending = Activity.objects.get(status="pending")
    assert pending.door == "web" and fake.orders == []
    page.click(f"{reply} button.confirm")
    wait_for_js(page, "document.querySelectorAll('#command-reply > .assistant-reply[data-kind=done]').length === 3")
    assert len(fake.orders) == 1 and Activity.objects.get(pk=pending.pk).status == "done"
    assert page.evaluate("window.__sameDocument") is True  # all of it in place, no page load

    page.goto(f"{web.url}/assistant/history/")
    history = page.inner_text("#assistant-history")
    assert "ซื้อ BTC 100 USDT" in history and history.count("Done") >= 3
    screenshot(page, "assistant-03-history")
