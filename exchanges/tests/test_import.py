"""manage.py import_candles: every shipped file, idempotent re-import, JSON layout, malformed files refused."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from exchanges.candles import demo_files, load_candles, shipped_files
from exchanges.models import Candle

pytestmark = pytest.mark.django_db

DATA = Path(settings.CANDLE_DATA_DIR)
# (file, rows, gaps) from the data README.
SHIPPED = {
    "binance_BTC-USDT_5m.csv": (10_999, 0),
    "binance_ETH-BTC_5m.csv": (5_760, 0),
    "binance_LTC-BTC_5m.csv": (5_760, 0),
    "binance_ADA-BTC_5m.csv": (5_720, 5),
    "binance_UNNAMED-BTC_1m_gaps.csv": (13_681, 538),
    "binance_XRP-ETH_1m.csv": (3_560, 0),
}
GOOD = "timestamp,open,high,low,close,volume\n1699999800000,10,11,9,10.5,3\n1700000100000,10.5,12,10,11,4\n"


def run(*args) -> str:
    out = StringIO()
    call_command("import_candles", *args, stdout=out)
    return out.getvalue()


def test_data_is_shipped_in_the_project():
    assert {f.path.name for f in shipped_files()} == set(SHIPPED)
    assert all(f.path.parent == DATA for f in shipped_files())
    # The demo imports the real markets only: no "UNNAMED" pair in the demo data.
    assert {f.path.name for f in demo_files()} == set(SHIPPED) - {"binance_UNNAMED-BTC_1m_gaps.csv"}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_import_every_shipped_file(name):
    demo = next(f for f in shipped_files() if f.path.name == name)
    rows, gaps = SHIPPED[name]
    out = run(str(demo.path), "--exchange", demo.exchange, "--symbol", demo.symbol, "--timeframe", demo.timeframe)
    assert f"{rows} candles imported" in out
    assert f", {gaps} gaps" in out
    assert Candle.objects.filter(symbol=demo.symbol, timeframe=demo.timeframe).count() == rows


def test_reimport_is_idempotent_and_demo_loads_btc():
    run("--demo")
    total = Candle.objects.count()
    assert total == sum(r for name, (r, _) in SHIPPED.items() if "UNNAMED" not in name)
    assert not Candle.objects.filter(symbol__startswith="UNNAMED").exists()
    run("--demo")
    assert Candle.objects.count() == total
    btc = load_candles("binance", "BTC/USDT", "5m")
    assert len(btc) == 10_999
    assert btc.index[0].isoformat() == "2023-01-02T16:45:00+00:00"
    assert btc.iloc[0]["open"] == 16727.3 and btc.iloc[0]["volume"] == 691.508


def test_ccxt_json_layout(tmp_path):
    path = tmp_path / "candles.json"
    path.write_text(json.dumps([[1699999800000, 10, 11, 9, 10.5, 3], [1700000100000, 10.5, 12, 10, 11, 4]]))
    out = run(str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert "2 candles imported" in out
    assert list(load_candles("binance", "BTC/USDT", "5m")["close"]) == [10.5, 11.0]


MALFORMED = {
    "bad header": ("time,open,high,low,close,volume\n1699999800000,10,11,9,10.5,3\n", "line 1", "header must be"),
    "non-numeric": (GOOD + "1700000400000,11,abc,10,11,1\n", "line 4", "high 'abc' is not a number"),
    "high below low": (GOOD + "1700000400000,11,9,12,11,1\n", "line 4", "high 9 is below low 12"),
    "unsorted": (GOOD + "1699999800000,11,12,10,11,1\n",
                 "line 4", "is earlier than the row before"),
    "duplicate": (GOOD + "1700000100000,11,12,10,11,1\n", "line 4", "(duplicate)"),
    "missing column": (GOOD + "1700000400000,11,12,10,11\n", "line 4", "expected 6 values"),
    "off the timeframe": (GOOD + "1700000500000,11,12,10,11,1\n", "line 4", "not on a 5m boundary"),
    "negative volume": (GOOD + "1700000400000,11,12,10,11,-1\n", "line 4", "volume -1 is negative"),
    "empty": ("", "line 1", "empty"),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_file_is_refused_with_line_and_nothing_stored(tmp_path, kind):
    existing = tmp_path / "existing.csv"
    existing.write_text(GOOD)
    run(str(existing), "--exchange", "binance", "--symbol", "ETH/USDT", "--timeframe", "5m")
    before = Candle.objects.count()
    text, where, message = MALFORMED[kind]
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(CommandError) as caught:
        run(str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert "nothing imported" in str(caught.value)
    assert where in str(caught.value) and message in str(caught.value)
    assert Candle.objects.count() == before
    assert not Candle.objects.filter(symbol="BTC/USDT").exists()  # not even the good rows before the bad one


def test_malformed_json_refused(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([[1699999800000, 10, 11, 9, 10.5, 3], [1700000100000, 10.5, "x", 10, 11, 4]]))
    with pytest.raises(CommandError, match=r"line 2: high 'x' is not a number"):
        run(str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert Candle.objects.count() == 0


def test_bad_arguments_are_clear(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    with pytest.raises(CommandError, match="--symbol, --timeframe required"):
        run(str(path), "--exchange", "binance")
    with pytest.raises(CommandError, match="not a timeframe"):
        run(str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5 minutes")
    with pytest.raises(CommandError, match="must look like BASE/QUOTE"):
        run(str(path), "--exchange", "binance", "--symbol", "BTCUSDT", "--timeframe", "5m")
    with pytest.raises(CommandError, match="no such file"):
        run(str(tmp_path / "missing.csv"), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert Candle.objects.count() == 0


# --- issue 9, item 17 and issue 11: bad input is a clear error and nothing is stored ---

def refused(tmp_path, *args) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert Candle.objects.count() == 0
    return str(caught.value)


def test_deeply_nested_json_is_refused_not_a_traceback(tmp_path):
    path = tmp_path / "nested.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    message = refused(tmp_path, str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert "nothing imported" in message and "JSON nested too deeply" in message


@pytest.mark.parametrize("suffix", ["csv", "json"])
def test_bad_utf8_is_refused_with_its_line(tmp_path, suffix):
    path = tmp_path / f"latin1.{suffix}"
    if suffix == "csv":
        path.write_bytes(GOOD.encode() + b"1700000400000,11,12,10,11,1\n1700000700000,11,12,10,11,1 caf\xe9\n")
        line = "line 5"
    else:
        path.write_bytes(b'[[1699999800000, 10, 11, 9, 10.5, 3],\n [1700000100000, 10.5, 12, 10, 11, "\xff"]]')
        line = "line 2"
    message = refused(tmp_path, str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert f"{line}: is not UTF-8 text (byte 0x" in message


@pytest.mark.parametrize(("option", "value", "message"), [
    ("--symbol", "BTC/" + "U" * 60, "--symbol 'BTC/UUUUUUUUUUUUUUUU'... is 64 characters long; at most 30"),
    ("--exchange", "b" * 51, "--exchange 'bbbbbbbbbbbbbbbbbbbb'... is 51 characters long; at most 50"),
    ("--symbol", "BTC/US\x00DT", "contains spaces or control characters"),
])
def test_names_too_long_for_their_column_are_refused(tmp_path, option, value, message):
    """On PostgreSQL an over-long --symbol was a DataError traceback; SQLite stored it over-length."""
    path = tmp_path / "ok.csv"
    path.write_text(GOOD)
    args = {"--exchange": "binance", "--symbol": "BTC/USDT", "--timeframe": "5m", option: value}
    assert message in refused(tmp_path, str(path), *[x for pair in args.items() for x in pair])


def test_a_file_whose_spacing_is_not_the_timeframe_is_refused(tmp_path):
    """15-minute candles labelled 5m: every timestamp is on a 5m boundary, but no two rows are 5 minutes apart."""
    rows = [f"{1699999200000 + n * 900_000},10,11,9,10.5,3" for n in range(20)]
    path = tmp_path / "15m.csv"
    path.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    message = refused(tmp_path, str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m")
    assert "the rows are 15m apart (the most common spacing), never 5m" in message and "--timeframe" in message
    # The same file as 15m imports; a 5m file with gaps still imports as 5m.
    out = run(str(path), "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "15m")
    assert "20 candles imported" in out
