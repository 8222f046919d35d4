"""manage.py fetch_candles through real ccxt against the fake exchange: paging, closed candles only, resume."""

from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from exchanges.candles import load_candles, read_candle_file
from exchanges.models import Candle
from tests.fake_exchange import fake_exchange  # noqa: F401  (the fixture, used through `fake`)

pytestmark = pytest.mark.django_db
ARGS = ["--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m", "--backoff", "0.01", "--retries", "1"]


@pytest.fixture
def fake(fake_exchange):  # noqa: F811
    return fake_exchange


def fetch(*args) -> str:
    out = StringIO()
    call_command("fetch_candles", *ARGS, *args, stdout=out)
    return out.getvalue()


def reference():
    return read_candle_file(Path(settings.CANDLE_DATA_DIR) / "binance_BTC-USDT_5m.csv", "5m")


def test_pages_through_and_stores_what_the_exchange_has(fake):
    out = fetch("--since", "2023-02-01", "--page", "500")
    ref = reference()
    expected = ref[ref.index >= datetime(2023, 2, 1, tzinfo=UTC)]
    assert f"{len(expected)} candles stored" in out and "0 missing candles" in out
    stored = load_candles("binance", "BTC/USDT", "5m")
    assert stored.equals(expected)
    klines = [r for r in fake.requests if r[1].endswith("/klines")]
    assert len(klines) >= len(expected) // 500  # really paged


def test_resumes_from_the_last_stored_candle(fake):
    fetch("--since", "2023-02-09T00:00", "--until", "2023-02-09T10:00")
    assert Candle.objects.count() == 121
    fake.requests.clear()
    out = fetch("--since", "2023-02-09T00:00")
    first_call = next(r for r in fake.requests if r[1].endswith("/klines"))
    assert int(first_call[2]["startTime"]) == int(datetime(2023, 2, 9, 10, 5, tzinfo=UTC).timestamp() * 1000)
    assert "135 candles stored" in out  # 10:05 .. 21:15
    assert "no new closed candles" in fetch()


def test_stores_only_closed_candles(fake):
    now_ms = int(datetime.now(UTC).timestamp() * 1000) // 300_000 * 300_000
    fake.set_candles("BTC/USDT", "5m", [[now_ms - k * 300_000, 10, 11, 9, 10, 1] for k in (3, 2, 1, 0)])
    fetch("--since", str(now_ms - 3 * 300_000))
    times = [t.timestamp() * 1000 for t in load_candles("binance", "BTC/USDT", "5m").index]
    assert times == [now_ms - 900_000, now_ms - 600_000, now_ms - 300_000]


def test_exchange_failure_keeps_what_was_stored_and_says_how_to_resume(fake):
    fetch("--since", "2023-02-09T00:00", "--until", "2023-02-09T01:00")
    fake.inject("5xx", times=10)
    with pytest.raises(CommandError, match="run the command again to resume"):
        fetch()
    assert Candle.objects.count() == 13


def test_bad_arguments(fake):
    with pytest.raises(CommandError, match="give --since"):
        fetch()
    with pytest.raises(CommandError, match="not a date"):
        fetch("--since", "yesterday-ish")
    with pytest.raises(CommandError, match="not an exchange ccxt knows"):
        call_command("fetch_candles", "--exchange", "nowhere", "--symbol", "BTC/USDT", "--timeframe", "5m")
    with pytest.raises(CommandError, match="unknown market"):
        call_command("fetch_candles", *ARGS[:2], "--symbol", "DOGE/USDT", "--timeframe", "5m", "--since", "2023-01-01")
    assert Candle.objects.count() == 0
