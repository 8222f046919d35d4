"""The Test connection button in a real browser: the web server (a subprocess) talks to the fake exchange."""

import json

import pytest

from exchanges.models import ExchangeAccount
from tests.browser.conftest import WebServer, chromium, log_in, page  # noqa: F401  (fixtures)
from tests.fake_exchange import fake_exchange  # noqa: F401  (the fixture)
from tests.process_env import env_for_test_database

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_button_shows_ok_then_the_mapped_auth_error(fake_exchange, page, django_user_model):  # noqa: F811
    fake = fake_exchange
    user = django_user_model.objects.create(username="clicker")
    account = ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="Main", mode="live",
                                             api_key=fake.api_key, api_secret=fake.api_secret)
    server = WebServer(env_for_test_database(CCXT_URL_OVERRIDES=json.dumps({"binance": fake.url}))).start()
    try:
        log_in(page, server.url, user)
        page.goto(f"{server.url}/exchanges/accounts/{account.pk}/")
        page.get_by_role("button", name="Test connection").click()
        page.get_by_text("Main: Connection OK: 3 markets").wait_for()
        account.refresh_from_db()
        assert account.status == ExchangeAccount.Status.OK

        fake.inject("auth")
        page.get_by_role("button", name="Test connection").click()
        message = page.get_by_text("Main: Connection failed: the exchange rejected the API keys")
        message.wait_for()
        assert fake.api_secret not in page.content()
        account.refresh_from_db()
        assert account.status == ExchangeAccount.Status.INVALID
    finally:
        server.stop()
