"""Cross-app test fixtures: the fake exchange (tests.fake_exchange) for every test under tests/."""

import pytest

from tests.fake_exchange import fake_exchange  # noqa: F401  (a pytest fixture)
from tests.fake_telegram import fake_telegram  # noqa: F401, E402  (a pytest fixture: tests/test_i18n.py)
from tests.i18n_fixtures import thai_catalogue  # noqa: F401, E402  (a pytest fixture: the i18n tests)


@pytest.fixture(autouse=True)
def fresh_live_caches():
    """Per-process caches of bots.live (watched groups) and bots.charts (candle tails): none across tests."""
    from bots import charts, live

    live.forget_watched_cache()
    charts._tail_cache.clear()
    yield
    live.forget_watched_cache()
    charts._tail_cache.clear()
