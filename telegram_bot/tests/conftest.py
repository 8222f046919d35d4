"""The fake Bot API server (tests.fake_telegram) for the Telegram tests, and a clean shared cache (the bot's
username and the sending pause live there)."""

import pytest
from django.core.cache import cache

from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture: the assistant's free text)
from tests.fake_telegram import fake_telegram  # noqa: F401  (a pytest fixture)


@pytest.fixture(autouse=True)
def clean_cache():
    cache.clear()
    yield
    cache.clear()
