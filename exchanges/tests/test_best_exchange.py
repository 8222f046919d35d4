"""best_exchange: lowest spread relative to volume among a user's accounts, ties broken by fee."""

from decimal import Decimal

import pytest

from exchanges.connection import best_exchange
from exchanges.models import ExchangeAccount
from tests.fake_exchange import FakeExchange, fake_exchange  # noqa: F401  (the fixture, used through `fake`)

pytestmark = pytest.mark.django_db
FAST = {"backoff": 0.01, "retries": 1, "timeout": 2}
OPTIONS = {"live": FAST, "paper": FAST}


@pytest.fixture
def fake(fake_exchange):  # noqa: F811
    return fake_exchange


@pytest.fixture
def us_fake(settings, fake):
    second = FakeExchange().start()
    settings.CCXT_URL_OVERRIDES = {"binance": fake.url, "binanceus": second.url}
    yield second
    second.stop()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create(username="chooser")


def account(user, fake, label, exchange_id="binance", mode="live", **fields):
    return ExchangeAccount.objects.create(owner=user, exchange_id=exchange_id, label=label, mode=mode,
                                          api_key=fake.api_key, api_secret=fake.api_secret, **fields)


def test_lowest_spread_relative_to_volume_wins(user, fake, us_fake):
    main = account(user, fake, "Binance")
    us = account(user, us_fake, "Binance US", exchange_id="binanceus")
    # Binance: spread 2 bp on 25,000 BTC; Binance US: a tighter 1 bp but on only 100 BTC.
    us_fake.set_price("BTC/USDT", "20000", spread="0.0001", volume="100")
    choice = best_exchange(user, "BTC/USDT", client_options=OPTIONS)
    assert choice.account == main
    assert choice.spread == Decimal("0.0002") and choice.quote_volume == Decimal("500000000")
    assert choice.score == Decimal("0.0002") / Decimal("500000000")

    us_fake.set_price("BTC/USDT", "20000", spread="0.0001", volume="1000000")
    assert best_exchange(user, "BTC/USDT", client_options=OPTIONS).account == us


def test_ties_are_broken_by_fee(user, fake):
    live = account(user, fake, "Live")
    paper = account(user, fake, "Paper", mode="paper")  # same exchange, same ticker: a tie on spread/volume
    cheap = {"live": FAST, "paper": {**FAST, "fee": 0.0005}}
    dear = {"live": FAST, "paper": {**FAST, "fee": 0.002}}
    assert best_exchange(user, "BTC/USDT", client_options=cheap).account == paper
    choice = best_exchange(user, "BTC/USDT", client_options=dear)
    assert choice.account == live and choice.fee == Decimal("0.001")


def test_invalid_unreachable_and_other_users_accounts_are_left_out(user, fake, django_user_model):
    account(user, fake, "Rejected", status=ExchangeAccount.Status.INVALID)
    kept = account(user, fake, "Good")
    stranger = django_user_model.objects.create(username="stranger")
    account(stranger, fake, "Theirs")
    choice = best_exchange(user, "BTC/USDT", client_options=OPTIONS)
    assert choice.account == kept and choice.skipped == []
    assert best_exchange(user, "DOGE/USDT", client_options=OPTIONS) is None


def test_a_failing_account_is_skipped_with_its_reason(user, fake, us_fake):
    good = account(user, fake, "Good")
    account(user, us_fake, "Down", exchange_id="binanceus")
    us_fake.inject("5xx", times=10)
    choice = best_exchange(user, "BTC/USDT", client_options=OPTIONS)
    assert choice.account == good
    assert [(a.label, "ExchangeNotAvailable" in reason) for a, reason in choice.skipped] == [("Down", True)]
