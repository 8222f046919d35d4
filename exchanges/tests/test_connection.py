"""Test connection: the service function (through real ccxt against the fake) and the POST view."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from exchanges.connection import test_connection as check_connection
from exchanges.models import ExchangeAccount
from tests.fake_exchange import fake_exchange  # noqa: F401  (the fixture, used through `fake`)

pytestmark = pytest.mark.django_db
FAST = {"backoff": 0.01, "retries": 1, "timeout": 2}


@pytest.fixture
def fake(fake_exchange):  # noqa: F811
    return fake_exchange


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user("owner", password="pw-owner-12345")


@pytest.fixture
def live(user, fake):
    return ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="Main", mode="live",
                                          api_key=fake.api_key, api_secret=fake.api_secret)


def test_ok_updates_status(live):
    ok, message = check_connection(live, **FAST)
    assert ok and message.startswith("Connection OK: 3 markets; balance in 2 assets (BTC, USDT)")
    live.refresh_from_db()
    assert live.status == ExchangeAccount.Status.OK and live.status_detail == message


def test_rejected_keys_mark_account_invalid(live, fake):
    fake.inject("auth")
    ok, message = check_connection(live, **FAST)
    assert not ok and "rejected the API keys" in message and "Invalid API-key" in message
    live.refresh_from_db()
    assert live.status == ExchangeAccount.Status.INVALID
    assert fake.api_key not in live.status_detail and fake.api_secret not in live.status_detail


def test_missing_keys_are_an_auth_error(user, fake):
    account = ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="NoKeys", mode="live")
    ok, message = check_connection(account, **FAST)
    assert not ok and "apiKey" in message
    assert ExchangeAccount.objects.get(pk=account.pk).status == ExchangeAccount.Status.INVALID


def test_exchange_down_is_an_error_not_invalid(live, fake):
    fake.inject("5xx", times=10)
    ok, message = check_connection(live, **FAST)
    assert not ok and message.startswith("Connection failed: load markets") and "ExchangeNotAvailable" in message
    live.refresh_from_db()
    assert live.status == ExchangeAccount.Status.ERROR


def test_paper_account_needs_no_keys(user, fake):
    account = ExchangeAccount.objects.create(owner=user, exchange_id="binance", label="Paper", mode="paper")
    ok, message = check_connection(account, **FAST)
    assert ok and "balance in 1 assets (USDT)" in message
    assert not fake.private_requests("/account")


def test_view_posts_and_redirects_with_message(client, user, live):
    client.force_login(user)
    url = reverse("exchanges:test_connection", args=[live.pk])
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == reverse("exchanges:detail", args=[live.pk])
    live.refresh_from_db()
    assert live.status == ExchangeAccount.Status.OK
    assert [str(m) for m in get_messages(response.wsgi_request)] == [f"Main: {live.status_detail}"]
    assert client.get(url).status_code == 405


def test_view_is_scoped_to_the_owner(client, django_user_model, live):
    other = django_user_model.objects.create_user("other", password="pw-other-12345")
    client.force_login(other)
    assert client.post(reverse("exchanges:test_connection", args=[live.pk])).status_code == 404
    live.refresh_from_db()
    assert live.status == ExchangeAccount.Status.UNTESTED
    client.logout()
    response = client.post(reverse("exchanges:test_connection", args=[live.pk]))
    assert response.status_code == 302 and "login" in response["Location"]
