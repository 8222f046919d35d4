"""Fixtures of the API tests: users, tokens, the shipped BTC/USDT 5m candles, and an HTTP client per token."""

import json

import pytest
from django.test import Client

from api import tokens
from bots.tests.factories import make_account, make_user
from commands.tests.conftest import fake  # noqa: F401  (a pytest fixture)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


class TokenClient:
    """The real HTTP stack (middleware, CSRF, URL routing) with a bearer token and no session."""

    def __init__(self, raw: str):
        self.raw = raw
        self.client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")

    def get(self, path, **params):
        return self.client.get(path, params)

    def post(self, path, body=None, **extra):
        return self.client.post(path, json.dumps(body if body is not None else {}), content_type="application/json",
                                **extra)

    def delete(self, path):
        return self.client.delete(path)


def token_client(user, scope="trade", **kwargs) -> TokenClient:
    return TokenClient(tokens.create_token(user, name=f"{scope} test", scope=scope, **kwargs).raw)


@pytest.fixture
def alice_trade(alice):
    return token_client(alice, "trade")


@pytest.fixture
def alice_read(alice):
    return token_client(alice, "read")


@pytest.fixture
def bob_trade(bob):
    return token_client(bob, "trade")


@pytest.fixture
def candles(db, settings):
    from exchanges.candles import read_candle_file, upsert_candles

    frame = read_candle_file(settings.CANDLE_DATA_DIR / "binance_BTC-USDT_5m.csv", "5m")
    upsert_candles("binance", "BTC/USDT", "5m", frame)
    return frame


@pytest.fixture
def paper_account(alice):
    return make_account(alice, label="Paper")
