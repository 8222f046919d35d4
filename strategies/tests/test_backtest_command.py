"""manage.py backtest: the summary, the JSON contract, stored candles, and one-line errors with status 2."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from exchanges.candles import CandleFileError, read_candle_file
from strategies.tests.test_strategies import DATA, load_real

BTC = str(DATA / "binance_BTC-USDT_5m.csv")
HEADER = "timestamp,open,high,low,close,volume\n"


def run_command(*args) -> str:
    out = StringIO()
    call_command("backtest", *args, stdout=out)
    return out.getvalue()


def write(tmp_path, body: str, name="candles.csv") -> str:
    path = tmp_path / name
    path.write_text(body)
    return str(path)


def manage(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingbot.settings"}
    return subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "backtest", *args],
                          capture_output=True, text=True, env=env, timeout=120)


class TestOutput:
    def test_json_is_one_object_with_the_reference_figures(self):
        result = json.loads(run_command("--strategy", "rsi_cross", "--csv", BTC, "--json"))
        assert set(result) == {"metrics", "trades"}
        assert result["metrics"]["total_return"] == pytest.approx(0.05632, abs=5e-6)
        assert len(result["trades"]) == 35
        first = result["trades"][0]
        assert {"entry_time", "entry_price", "exit_time", "exit_price", "size", "pnl", "exit_reason"} <= set(first)
        assert first["entry_time"].endswith("Z") and first["entry_time"] == "2023-01-03T00:10:00Z"

    def test_parameters_costs_and_exits_reach_the_backtest(self):
        args = ["--strategy", "rsi_cross", "--csv", BTC, "--json"]
        plain = json.loads(run_command(*args))
        with_stop = json.loads(run_command(*args, "--param", "rsi_period=10", "--param", "oversold=25",
                                           "--stop-loss", "0.01", "--take-profit", "0.02", "--fee", "0.002",
                                           "--cash", "500"))
        reasons = {t["exit_reason"] for t in with_stop["trades"]}
        assert {"stop_loss", "take_profit"} <= reasons
        assert with_stop["metrics"]["start_cash"] == 500
        assert with_stop["trades"] != plain["trades"]

    def test_since_until_select_a_range(self):
        out = json.loads(run_command("--strategy", "rsi_cross", "--csv", BTC, "--since", "2023-01-10",
                                     "--until", "2023-01-20T00:00Z", "--json"))
        assert out["metrics"]["candles"] == 10 * 288 + 1
        assert all("2023-01-10" <= t["entry_time"] < "2023-01-20T00:05" for t in out["trades"])
        whole_days = json.loads(run_command("--strategy", "rsi_cross", "--csv", BTC, "--since", "2023-01-10",
                                            "--until", "2023-01-19", "--json"))
        assert whole_days["metrics"]["candles"] == 10 * 288

    def test_summary_table(self):
        text = run_command("--strategy", "mean_reversion", "--csv", BTC, "--trailing-stop", "0.01")
        assert "Total return" in text and "Max drawdown" in text and "Sharpe" in text
        assert "mean_reversion window=20, std=2.0, exit_z=0.5" in text
        assert "trailing_stop" in text

    @pytest.mark.django_db
    def test_stored_candles(self):
        from exchanges.candles import upsert_candles

        upsert_candles("binance", "BTC/USDT", "5m", load_real())
        stored = json.loads(run_command("--strategy", "rsi_cross", "--exchange", "binance", "--symbol", "BTC/USDT",
                                        "--timeframe", "5m", "--json"))
        from_file = json.loads(run_command("--strategy", "rsi_cross", "--csv", BTC, "--json"))
        assert stored == from_file

    @pytest.mark.django_db
    def test_no_stored_candles_says_so(self):
        with pytest.raises(CommandError, match="no candles to backtest in binance ETH/USDT 1h.*import_candles") as e:
            run_command("--strategy", "rsi_cross", "--exchange", "binance", "--symbol", "ETH/USDT", "--timeframe", "1h")
        assert e.value.returncode == 2


class TestBadInput:
    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--strategy", "moon", "--csv", BTC], "unknown strategy 'moon'"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--param", "rsi_period=0"], "rsi_period: must be between"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--param", "rsi_period"], "must look like NAME=VALUE"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--stop-loss", "1.5"], "stop-loss"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--fee", "-1"], "fee"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--cash", "1e308"], "cash: must be above 0 and at most 1e"),
            (["--strategy", "rsi_cross"], "no data"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--exchange", "binance"], "not both"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--since", "yesterday"], "--since 'yesterday'"),
            (["--strategy", "rsi_cross", "--csv", BTC, "--since", "2030-01-01"], "no candles to backtest"),
        ],
    )
    def test_clear_error_and_status_2(self, args, message):
        with pytest.raises(CommandError, match=message) as caught:
            run_command(*args)
        assert caught.value.returncode == 2

    def test_bad_file_from_the_shell_is_one_line_on_stderr(self, tmp_path):
        path = write(tmp_path, HEADER + "1672677900000,16700,16710,16690,16705,1.5\n1672678200000,16705,abc,1,2,3\n")
        done = manage("--strategy", "rsi_cross", "--csv", path, "--json")
        assert done.returncode == 2
        assert done.stdout == ""
        assert done.stderr.strip().count("\n") == 0
        assert "candles.csv, line 3: high 'abc' is not a number" in done.stderr

    def test_nested_json_and_bad_utf8_from_the_shell_are_one_line(self, tmp_path):
        """Issue 9, item 17: deeply nested JSON was a RecursionError traceback; bad UTF-8 had no line number."""
        nested = write(tmp_path, "[" * 100_000 + "]" * 100_000, name="nested.json")
        done = manage("--strategy", "rsi_cross", "--csv", nested)
        assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr[-2000:]
        assert "nested.json: JSON nested too deeply" in done.stderr and "Traceback" not in done.stderr
        latin = tmp_path / "latin.csv"
        latin.write_bytes((HEADER + "1672677900000,16700,16710,16690,16705,1.5\n").encode()
                          + b"1672678200000,16705,16710,16690,16705,1.5 \xe9\n")
        done = manage("--strategy", "rsi_cross", "--csv", str(latin))
        assert done.returncode == 2 and "latin.csv, line 3: is not UTF-8 text" in done.stderr

    def test_bad_argument_from_the_shell_is_one_line(self):
        done = manage("--strategy", "rsi_cross", "--csv", BTC, "--cash", "lots")
        assert done.returncode == 2
        assert done.stderr.strip().count("\n") == 0
        assert "--cash: invalid float value: 'lots'" in done.stderr


class TestCandleCSV:
    def test_reads_the_shipped_file(self):
        candles = read_candle_file(BTC)
        assert len(candles) == 10999
        assert str(candles.index.tz) == "UTC" and candles.index.name == "time"
        assert list(candles.columns) == ["open", "high", "low", "close", "volume"]
        assert candles.index[0].isoformat() == "2023-01-02T16:45:00+00:00"

    def test_blank_lines_are_skipped_and_line_numbers_stay_true(self, tmp_path):
        body = HEADER + "1672677900000,10,11,9,10,1\n\n1672678200000,10,11,9,10,1\n1672678500000,10,11,12,10,1\n"
        with pytest.raises(CandleFileError, match=r"line 5: high 11 is below low 12"):
            read_candle_file(write(tmp_path, body))
        assert len(read_candle_file(write(tmp_path, body.rsplit("1672678500000", 1)[0]))) == 2

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ("", "candles.csv, line 1: the file is empty"),
            ("time,o,h,l,c,v\n1,2,3,4,5,6\n", "line 1: header must be timestamp,open,high,low,close,volume"),
            (HEADER, "contains no candles"),
            (HEADER + "1672677900000,10,11,9,10\n", "line 2: expected 6 values, found 5"),
            (HEADER + "1672677900000,10,11,9,,1\n", "line 2: close is missing"),
            (HEADER + "1672677900000,10,11,9,10,1,7\n", "line 2: expected 6 values, found 7"),
            (HEADER + "1672677900000,10,11,9,10,1\n1672678200000,10,11,9,10,1,7\n", "line 3: expected 6 values"),
            (HEADER + "1672677900,10,11,9,10,1\n", "line 2: timestamp 1672677900 is not milliseconds"),
            (HEADER + "1672677900000.5,10,11,9,10,1\n", "line 2: timestamp .* is not a whole number"),
            (HEADER + "1672677900000,0,11,0,10,1\n", "line 2: prices must be positive"),
            (HEADER + "1672677900000,10,11,9,10,-1\n", "line 2: volume -1 is negative"),
            (HEADER + "1672677900000,10,11,9,12,1\n", "line 2: open and close must lie between low and high"),
            (HEADER + "1672677900000,10,11,9,10,1\n1672677900000,10,11,9,10,1\n", "line 3: .* repeats the previous"),
            (HEADER + "1672677900000,10,11,9,10,1\n1672677600000,10,11,9,10,1\n",
             "line 3: .* earlier than the row before"),
            (HEADER + "1672677900000,10,11,9,inf,1\n", "line 2: a value is not a finite number"),
        ],
    )
    def test_bad_files(self, tmp_path, body, message):
        with pytest.raises(CandleFileError, match=message):
            read_candle_file(write(tmp_path, body))

    def test_missing_binary_and_directory(self, tmp_path):
        with pytest.raises(CandleFileError, match="nope.csv: no such file"):
            read_candle_file(tmp_path / "nope.csv")
        with pytest.raises(CandleFileError, match="is a directory"):
            read_candle_file(tmp_path)
        (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00\x01garbage")
        with pytest.raises(CandleFileError, match="bin.csv(, line 1)?: (is not a text CSV file|header must be)"):
            read_candle_file(tmp_path / "bin.csv")
