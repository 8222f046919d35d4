"""manage.py optimize: the JSON contract (one entry per combination, best first, equal to `backtest`), a
search and walk-forward from the command line, and bad input refused in one line before anything runs."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from strategies.tests.test_strategies import DATA

BTC = str(DATA / "binance_BTC-USDT_5m.csv")


def optimize(*args) -> dict:
    out = StringIO()
    call_command("optimize", *args, stdout=out)
    return json.loads(out.getvalue())


def backtest(*args) -> dict:
    out = StringIO()
    call_command("backtest", *args, stdout=out)
    return json.loads(out.getvalue())


def manage(*args) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tradingbot.settings"}
    return subprocess.run([sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "optimize", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_grid_json_has_every_combination_best_first_and_matches_backtest():
    costs = ["--fee", "0.002", "--slippage", "0.0005", "--cash", "500", "--stake", "0.5", "--take-profit", "0.03"]
    result = optimize("--strategy", "rsi_cross", "--csv", BTC, "--grid", "rsi_period=10:20:5,stop_loss=0|0.01",
                      "--objective", "sharpe", "--json", *costs)
    assert {"results", "best", "seconds"} <= set(result)
    assert len(result["results"]) == 6 and result["best"] == result["results"][0]
    sharpes = [r["metrics"]["sharpe"] for r in result["results"]]
    assert sharpes == sorted(sharpes, reverse=True)
    assert {(r["params"]["rsi_period"], r["params"]["stop_loss"]) for r in result["results"]} == {
        (p, s) for p in (10, 15, 20) for s in (0.0, 0.01)}
    best = result["best"]["params"]
    assert best["take_profit"] == 0.03 and best["trailing_stop"] == 0.0
    single = backtest("--strategy", "rsi_cross", "--csv", BTC, "--json", *costs[:-2], "--take-profit", "0.03",
                      "--stop-loss", str(best["stop_loss"]), "--param", f"rsi_period={best['rsi_period']}")
    assert result["best"]["metrics"]["trades"] == len(single["trades"])
    assert result["best"]["metrics"]["total_return"] == pytest.approx(single["metrics"]["total_return"], abs=1e-9)
    assert result["best"]["metrics"]["start_cash"] == 500


def test_search_and_walk_forward_from_the_command_line():
    args = ["--strategy", "rsi_cross", "--csv", BTC, "--grid", "rsi_period=5:30:1,oversold=20:40:5",
            "--trials", "15", "--seed", "5", "--walk-forward", "2", "--min-trades", "3", "--json"]
    first, again = optimize(*args), optimize(*args)
    assert [r["params"] for r in first["results"]] == [r["params"] for r in again["results"]]
    assert first["mode"] == "search" and first["trials"] == 15 and len(first["results"]) <= 15
    windows = first["walk_forward"]["windows"]
    assert len(windows) == 2 and all("in_sample" in w and "out_of_sample" in w and "flags" in w for w in windows)
    text = StringIO()
    call_command("optimize", *args[:-1], stdout=text)
    assert "Walk-forward, 2 window(s)" in text.getvalue() and "out-of-sample" in text.getvalue()


@pytest.mark.parametrize("args,message", [
    (["--grid", ""], "bad grid: the grid is empty"),
    (["--grid", "rsi_period=2:101:1,stop_loss=0:0.0999:0.0001,take_profit=0:0.099:0.001"],
     "bad grid: the grid has 10,000,000 combinations; the limit is 100,000"),
    (["--grid", "rsi_period=five:30:1"], "bad grid: rsi_period: 'five' is not a number"),
    (["--grid", "oversold=20:40:x"], "bad grid: oversold: 'x' is not a number"),
    ([], "give --grid NAME=LOW:HIGH:STEP,... for a grid, or --trials N for a search"),
    (["--grid", "rsi_period=14", "--stop-loss", "2"], "bad settings: stop-loss: must be from 0 to below 1"),
    (["--trials", "0"], "--trials must be from 1 to 100,000"),
    (["--grid", "rsi_period=14", "--walk-forward", "0"], "--walk-forward must be at least 1"),
])
def test_bad_input_is_one_line_and_status_2(args, message):
    done = manage("--strategy", "rsi_cross", "--csv", BTC, *args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_a_csv_too_short_for_the_period(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("".join(Path(BTC).read_text().splitlines(keepends=True)[:401]))
    done = manage("--strategy", "rsi_cross", "--csv", str(path), "--grid", "rsi_period=5:20:5")
    assert done.returncode == 2
    assert "400 candles are too few: the grid's longest warm-up needs 602" in done.stderr
    walk = manage("--strategy", "rsi_cross", "--csv", str(path), "--grid", "rsi_period=8", "--walk-forward", "4")
    assert walk.returncode == 2 and "171 candles are too few" in walk.stderr


@pytest.mark.django_db
def test_stored_candles_by_exchange_symbol_and_timeframe():
    from exchanges.candles import read_candle_file, upsert_candles

    upsert_candles("binance", "BTC/USDT", "5m", read_candle_file(BTC, "5m").iloc[:4000])
    stored = optimize("--strategy", "rsi_cross", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "5m",
                      "--grid", "rsi_period=10|14", "--json")
    assert stored["candles"] == 4000 and len(stored["results"]) == 2
    assert stored["best"]["metrics"]["trades"] > 0
