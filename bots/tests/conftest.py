import pytest


@pytest.fixture(autouse=True)
def fresh_live_watch_cache():
    """bots.live keeps the watched groups for a second, bots.charts the candle tails: no test sees another's."""
    from bots import charts, live

    live.forget_watched_cache()
    charts._tail_cache.clear()  # the candle tails of another test's candles
    yield
    live.forget_watched_cache()
    charts._tail_cache.clear()
