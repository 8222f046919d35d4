"""Environment for the tests, loaded with `-p tests.pytest_env` before pytest-django reads the settings,
so that both the test process and the processes the tests start (worker, web server) see it."""

import os
import shutil
from pathlib import Path

import pytest

_VAR = Path(__file__).resolve().parent.parent / "var"
os.environ.setdefault("NUMBA_CACHE_DIR", str(_VAR / "numba-cache"))
# Password hashing cost is not what the tests test.
os.environ.setdefault("FAST_PASSWORD_HASHING", "1")
# One cache folder per test run (login throttling, worker heartbeat), so parallel runs do not meet.
_CACHE_DIR = _VAR / f"test-cache-{os.getpid()}"
os.environ.setdefault("CACHE_DIR", str(_CACHE_DIR))
# And one Prometheus multiprocess folder per run (metrics.process), shared with the processes the tests start.
_METRICS_DIR = _VAR / f"test-prometheus-{os.getpid()}"
os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", str(_METRICS_DIR))


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_CACHE_DIR, ignore_errors=True)
    shutil.rmtree(_METRICS_DIR, ignore_errors=True)
    # SQLite in WAL mode leaves these beside the test database pytest-django deletes.
    for leftover in _VAR.glob(f"test-db-{os.getpid()}.sqlite3*"):
        leftover.unlink(missing_ok=True)


@pytest.fixture(autouse=True)
def _english_after_each_test():
    """A request through Django's test client leaves its language active in the test's thread (LocaleMiddleware
    and the profile's language activate it; nothing deactivates after the response): each test starts in
    English, as a worker's thread does."""
    yield
    from django.utils import translation

    translation.deactivate()
