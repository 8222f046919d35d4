import pytest


@pytest.fixture(autouse=True)
def fresh_live_watch_cache():
    """bots.live keeps the watched groups of this process for a second: no test sees another's."""
    from bots import live

    live.forget_watched_cache()
    yield
    live.forget_watched_cache()
