"""A finished backtest's chart endpoint, CSV exports, trade pages and comparison: aggregation against the
stored candles, the zoom path, owner isolation on every URL, bad input, and the size of a 1M-candle page."""

import csv
import gzip
import io
import json

import numpy as np
import pandas as pd
import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from exchanges.candles import upsert_candles
from exchanges.models import Candle
from strategies.backtest import BacktestSettings, backtest_strategy
from strategies.charts import iso_seconds
from strategies.models import Backtest, BacktestChart, StrategyConfig
from strategies.registry import build_strategy
from strategies.tasks import run_backtest_job, store_chart
from strategies.tests.test_strategies import load_real

pytestmark = pytest.mark.django_db
SETTINGS = {"cash": 10_000.0, "fee": 0.001, "slippage": 0.0, "stop_loss": 0.01, "take_profit": 0.0,
            "trailing_stop": 0.0, "stake": 0.8}


@pytest.fixture
def alice(client):
    user = get_user_model().objects.create_user("alice", password="a-long-password-1")
    client.force_login(user)
    return user


@pytest.fixture
def bob():
    return get_user_model().objects.create_user("bob", password="a-long-password-1")


@pytest.fixture
def btc_candles():
    candles = load_real()
    upsert_candles("binance", "BTC/USDT", "5m", candles)
    return candles


def finished_run(owner, settings=None, name="RSI") -> Backtest:
    config, _ = StrategyConfig.objects.get_or_create(owner=owner, name=name, strategy="rsi_cross", params={})
    run = Backtest.objects.create(owner=owner, config=config, strategy="rsi_cross", params=config.build().values,
                                  exchange="binance", symbol="BTC/USDT", timeframe="5m",
                                  settings=settings or SETTINGS)
    assert "trades" in run_backtest_job(run.pk)
    return Backtest.objects.get(pk=run.pk)


def chart(client, run, headers=None, **params):
    return client.get(reverse("strategies:backtest_chart", args=[run.pk]), params, headers=headers)


def test_overview_bars_equal_the_stored_candles_of_their_bucket(client, alice, btc_candles):
    run = finished_run(alice)
    data = chart(client, run, bars=500).json()
    assert data["bucket"] == 32 and data["bucket_seconds"] == 32 * 300  # 10,999 candles in <= 500 bars
    assert len(data["bars"]) <= 500 and data["candles_in_range"] == 10_999 == data["total_candles"]
    seconds = btc_candles.index.asi8 // 1_000_000_000
    for time, o, h, low, c, v in data["bars"][:3] + data["bars"][-3:]:
        inside = btc_candles[(seconds >= time) & (seconds < time + 32 * 300)]
        assert [o, h, low, c] == [inside["open"].iloc[0], inside["high"].max(), inside["low"].min(),
                                  inside["close"].iloc[-1]]
        assert v == pytest.approx(inside["volume"].sum(), rel=1e-9)
    assert "Showing" in data["caption"] and "10,999 candles, 32 candles per bar" in data["caption"]
    assert sum(m[2] for m in data["markers"] if m[1] == "entry") == len(run.trades)
    assert data["start_cash"] == 10_000.0
    assert data["equity"][-1][1] == pytest.approx(run.metrics["end_equity"], rel=1e-9)


def test_zoom_reads_finer_candles_and_rebuilds_the_equity(client, alice, btc_candles):
    run = finished_run(alice)
    # Force the fine path: the stored level holds 16 candles per row, the zoom asks for single candles.
    level = BacktestChart.objects.get(backtest=run)
    from strategies.charts import Bars, build_level

    settings = BacktestSettings(**run.settings)
    result = backtest_strategy(build_strategy("rsi_cross", {}), btc_candles, settings)
    size, coarse = build_level(btc_candles, result.equity, 300, rows=1000)
    BacktestChart.objects.filter(pk=level.pk).update(bucket=size, rows=coarse.to_bytes())
    trade = run.trades[10]
    t = int(iso_seconds([trade["entry_time"]])[0])
    data = chart(client, run, **{"from": t - 3000, "to": t + 3000, "bars": 200}).json()
    assert data["bucket"] == 1 and 15 <= len(data["bars"]) <= 30
    assert data["from"] <= t - 3000 and data["to"] > t + 3000
    rows = {int(ts.value // 1_000_000_000): row for ts, row in btc_candles.iterrows()}
    for time, o, h, low, c, v in data["bars"]:
        assert [o, h, low, c, v] == pytest.approx(list(rows[time][["open", "high", "low", "close", "volume"]]))
    equity = dict(zip(result.equity.index.asi8 // 1_000_000_000, result.equity.to_numpy(), strict=True))
    for time, value in data["equity"]:
        assert value == pytest.approx(equity[time], rel=1e-9)
    assert [t, "entry", 1, trade["entry_price"], ""] in data["markers"]
    # Aligned to the page's overview buckets, so these bars replace whole overview bars.
    aligned = chart(client, run, **{"from": t - 3000, "to": t + 3000, "bars": 200, "align": 64 * 300}).json()
    assert aligned["from"] % (64 * 300) == 0 and aligned["to"] % (64 * 300) == 0
    # Coarser than the level again: aggregated from it, not from the candles.
    wide = chart(client, run, bars=100).json()
    assert wide["bucket"] == 128 and wide["candles_in_range"] == 10_999
    assert Bars.from_bytes(BacktestChart.objects.get(pk=level.pk).rows).count.sum() == 10_999


def test_a_run_whose_candles_were_deleted_shows_its_saved_overview(client, alice, btc_candles):
    run = finished_run(alice)
    BacktestChart.objects.filter(backtest=run).update(bucket=16)  # as if the level were coarse
    Candle.objects.all().delete()
    data = chart(client, run, **{"from": 1672700000, "to": 1672710000}).json()
    assert "no longer stored" in data["caption"] and data["bucket"] == 16
    rows = list(csv.reader(io.StringIO(b"".join(client.get(
        reverse("strategies:backtest_equity_csv", args=[run.pk])).streaming_content).decode())))
    assert rows[0] == ["time", "equity"] and len(rows) == 1 + 10_999  # the level held every candle


@pytest.mark.parametrize(("params", "message"), [
    ({"bars": "lots"}, "bars must be a whole number"),
    ({"bars": "1"}, "bars must be from 10 to 5000"),
    ({"bars": "99999"}, "bars must be from 10 to 5000"),
    ({"from": "20", "to": "10"}, "to must not be before from"),
    ({"align": "0"}, "align must be from 1"),
])
def test_bad_chart_parameters_are_clear_json_errors(client, alice, btc_candles, params, message):
    run = finished_run(alice)
    response = chart(client, run, **params)
    assert response.status_code == 400 and message in response.json()["error"]


def test_a_huge_align_cannot_make_the_endpoint_send_every_candle(client, alice, btc_candles):
    run = finished_run(alice)
    data = chart(client, run, **{"from": 1673000000, "to": 1673003000, "bars": 100, "align": 10**9}).json()
    assert len(data["bars"]) <= 5000


def test_trades_csv_and_equity_csv(client, alice, btc_candles):
    run = finished_run(alice)
    response = client.get(reverse("strategies:backtest_trades_csv", args=[run.pk]))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="backtest-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == len(run.trades) > 10
    assert rows[3]["entry_time"] == run.trades[3]["entry_time"]
    assert float(rows[3]["pnl"]) == run.trades[3]["pnl"] and rows[3]["exit_reason"] == run.trades[3]["exit_reason"]
    response = client.get(reverse("strategies:backtest_equity_csv", args=[run.pk]))
    assert "-downsampled" not in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    result = backtest_strategy(build_strategy("rsi_cross", {}), btc_candles, BacktestSettings(**run.settings))
    assert rows[0] == ["time", "equity"] and len(rows) == 1 + 10_999
    assert rows[1][0] == "2023-01-02T16:45:00Z" and rows[-1][0] == "2023-02-09T21:15:00Z"
    values = np.array([float(r[1]) for r in rows[1:]])
    assert np.allclose(values, result.equity.to_numpy(), rtol=1e-9, atol=0)


def test_trades_paginate_and_htmx_gets_only_the_table(client, alice, btc_candles):
    run = finished_run(alice, {**SETTINGS, "stop_loss": 0.002})
    assert len(run.trades) > 50
    url = reverse("strategies:backtest_detail", args=[run.pk])
    page1 = client.get(url).content.decode()
    assert page1.count("<tr>") == 51 and f'data-pages="{-(-len(run.trades) // 50)}"' in page1
    assert f"of {len(run.trades)})" in page1 and run.trades[0]["entry_time"][:16].replace("T", " ") in page1
    page2 = client.get(url, {"page": 2}, headers={"HX-Request": "true", "HX-Target": "trades-section"})
    body = page2.content.decode()
    assert body.startswith('<div id="trades-section">') and "<h1>" not in body
    assert run.trades[50]["entry_time"][:16].replace("T", " ") in body
    assert client.get(url, {"page": "999"}).status_code == 200  # past the end: the last page
    assert client.get(url, {"page": "x"}).status_code == 200


def test_compare_two_runs(client, alice, btc_candles):
    first = finished_run(alice)
    second = finished_run(alice, {**SETTINGS, "cash": 500.0, "stop_loss": 0.0}, name="RSI no stop")
    response = client.get(reverse("strategies:backtest_compare"), {"ids": f"{first.pk},{second.pk}"})
    page = response.content.decode()
    assert response.status_code == 200
    assert f"#{first.pk}" in page and "RSI no stop" in page and 'id="compare-data"' in page
    series = response.context["series"]
    assert [s["id"] for s in series] == [first.pk, second.pk]
    # Returns from each run's own cash: comparable although one started with 500.
    assert series[1]["points"][-1][1] == pytest.approx(second.metrics["total_return"] * 100, abs=1e-4)
    assert series[0]["points"][-1][1] == pytest.approx(first.metrics["total_return"] * 100, abs=1e-4)
    assert 0 < len(series[0]["points"]) <= 1000
    listing = client.get(reverse("strategies:backtests"), {"compare": first.pk}).content.decode()
    assert f'name="ids" value="{first.pk}" aria-label="Compare run {first.pk}" checked' in listing


@pytest.mark.parametrize(("ids", "message"), [
    ([], "Choose two or more"), (["1"], "Choose two or more"), (["1,x"], "is not a backtest number"),
    ([",".join(str(i) for i in range(1, 11))], "at most 8"),
])
def test_compare_bad_choices(client, alice, ids, message):
    response = client.get(reverse("strategies:backtest_compare"), {"ids": ids})
    assert response.status_code == 400 and message in response.content.decode()


def test_compare_refuses_an_unfinished_run(client, alice, btc_candles):
    done = finished_run(alice)
    queued = Backtest.objects.create(owner=alice, strategy="rsi_cross", exchange="binance", symbol="BTC/USDT",
                                     timeframe="5m", settings=SETTINGS)
    response = client.get(reverse("strategies:backtest_compare"), {"ids": [done.pk, queued.pk]})
    assert response.status_code == 400 and f"#{queued.pk} has not finished" in response.content.decode()


def test_another_users_backtest_is_404_on_every_new_url(client, alice, bob, btc_candles):
    theirs = finished_run(bob)
    mine = finished_run(alice)
    for name in ("backtest_chart", "backtest_trades_csv", "backtest_equity_csv", "backtest_detail"):
        assert client.get(reverse(f"strategies:{name}", args=[theirs.pk])).status_code == 404, name
    compare = client.get(reverse("strategies:backtest_compare"), {"ids": [mine.pk, theirs.pk]})
    assert compare.status_code == 404
    client.logout()
    response = client.get(reverse("strategies:backtest_chart", args=[mine.pk]))
    assert response.status_code == 302 and "/accounts/login" in response["Location"]


def test_unfinished_run_has_no_chart_or_exports(client, alice):
    run = Backtest.objects.create(owner=alice, strategy="rsi_cross", exchange="binance", symbol="BTC/USDT",
                                  timeframe="5m", settings=SETTINGS)
    for name in ("backtest_chart", "backtest_trades_csv", "backtest_equity_csv"):
        assert client.get(reverse(f"strategies:{name}", args=[run.pk])).status_code == 404


def million_candles() -> pd.DataFrame:
    """1,000,000 1m candles: a seeded random walk around BTC's price (the real files are 11k rows)."""
    rng = np.random.default_rng(7)
    n = 1_000_000
    close = 20_000 * np.exp(np.cumsum(rng.normal(0, 0.0012, n)))
    open_ = np.r_[close[0], close[:-1]]
    spread = np.abs(rng.normal(0, 0.0008, n))
    high = np.maximum(open_, close) * (1 + spread)
    low = np.minimum(open_, close) * (1 - spread)
    index = pd.DatetimeIndex(pd.date_range("2021-01-01", periods=n, freq="1min", tz="UTC"), name="time")
    return pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                         "volume": rng.uniform(1, 50, n).round(4)}, index=index)


@pytest.mark.slow
def test_a_million_candle_backtest_page_is_small_and_its_chart_sends_a_few_thousand_bars(client, alice):
    candles = million_candles()
    settings = BacktestSettings(stop_loss=0.004)
    result = backtest_strategy(build_strategy("rsi_cross", {}), candles, settings)
    assert len(result.trades) > 5_000
    run = Backtest.objects.create(owner=alice, strategy="rsi_cross", params={}, exchange="synthetic",
                                  symbol="BTC/USDT", timeframe="1m", settings=settings.as_dict(),
                                  status=Backtest.Status.DONE, progress=100, metrics=result.metrics,
                                  trades=result.trades, candle_count=len(candles))
    level = store_chart(run, candles, result.equity)
    assert level.bucket == 64 and len(level.rows) <= 16_384 * 9 * 8
    page = client.get(reverse("strategies:backtest_detail", args=[run.pk]))
    size = len(page.content)
    print(f"1M-candle backtest page: {size:,} bytes, {len(result.trades):,} trades")
    assert size < 300_000
    html = page.content.decode()
    assert "<svg" not in html and html.count("<tr>") == 51
    response = chart(client, run, headers={"Accept-Encoding": "gzip"})
    assert response["Content-Encoding"] == "gzip"
    raw = gzip.decompress(response.content)
    data = json.loads(raw)
    print(f"its chart data: {len(raw):,} bytes ({len(response.content):,} gzipped), "
          f"{len(data['bars'])} bars, {len(data['markers'])} markers")
    assert len(data["bars"]) <= 2000 and data["bucket"] == 512
    assert "of 1,000,000 candles, 512 candles per bar" in data["caption"]
    assert data["candles_in_range"] == 1_000_000
    assert sum(m[2] for m in data["markers"] if m[1] == "exit") == len(result.trades)
    # A zoom finer than the stored level needs the candles; these were never stored: the level is shown.
    t = int(candles.index[500_000].value // 1_000_000_000)
    zoom = chart(client, run, **{"from": t, "to": t + 3600, "bars": 500}).json()
    assert zoom["bucket"] == 64 and "no longer stored" in zoom["caption"]
