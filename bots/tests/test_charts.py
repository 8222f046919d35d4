"""A bot's chart endpoint, live chart tail, fill pages and CSV exports: candles only up to the candle the
bot processed, equity and fills in their buckets, owner isolation on every URL."""

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import timezone

from bots import live
from bots.models import Bot, Fill, Order, PnLSnapshot, Position
from bots.tests.factories import make_bot, make_user
from bots.tests.test_parity import btc_candles, play, replay_bot  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def epoch(value) -> int:
    return int(value.timestamp())


@pytest.fixture
def traded(btc_candles, client):  # noqa: F811
    bot = replay_bot(btc_candles)
    play(bot, 400)  # the first two round trips of the file
    bot.refresh_from_db()
    assert Fill.objects.filter(bot=bot).count() >= 4
    client.force_login(bot.owner)
    return bot


def chart(client, bot, **params):
    return client.get(reverse("bots:chart", args=[bot.pk]), params)


def test_chart_candles_stop_at_the_last_candle_fills_land_in_their_bar_and_exports(client, traded, btc_candles):  # noqa: F811, E501
    data = chart(client, traded).json()
    last = epoch(traded.last_candle_at)
    assert data["bucket"] == 1 and data["bars"][-1][0] == last == data["last_candle"]
    assert all(bar[0] <= last for bar in data["bars"])  # never the replay's future
    assert len(btc_candles[btc_candles.index > traded.last_candle_at]) > 10_000
    first = btc_candles.loc[btc_candles.index[0]]
    assert data["bars"][0][1:5] == [first["open"], first["high"], first["low"], first["close"]]
    snapshots = list(PnLSnapshot.objects.filter(bot=traded).order_by("time").values_list("time", "equity"))
    assert [t for t, _ in data["equity"]] == [epoch(t) for t, _ in snapshots]
    assert [v for _, v in data["equity"]] == pytest.approx([float(v) for _, v in snapshots], rel=1e-9)
    fills = list(Fill.objects.filter(bot=traded).order_by("time"))
    assert sum(m[2] for m in data["markers"]) == len(fills)
    for fill in fills:
        kind = "entry" if fill.side == "buy" else "exit"
        assert any(m[0] == epoch(fill.time) and m[1] == kind for m in data["markers"])
    assert data["start_cash"] == 10_000.0 and data["last_fill"] == max(f.pk for f in fills)
    assert "Showing 400 of 400 candles" in data["caption"]  # one tick per candle

    # Coarser bars aggregate the candles, the equity (its last value) and the fills of each bucket.
    data = chart(client, traded, bars=40).json()
    assert data["bucket"] == 16 and len(data["bars"]) <= 40
    seconds = btc_candles.index.asi8 // 1_000_000_000
    for time, o, h, low, c, v in data["bars"]:
        inside = btc_candles[(seconds >= time) & (seconds < time + 16 * 300) & (seconds <= data["last_candle"])]
        assert [o, h, low, c] == [inside["open"].iloc[0], inside["high"].max(), inside["low"].min(),
                                  inside["close"].iloc[-1]]
        assert v == pytest.approx(inside["volume"].sum(), rel=1e-9)
    snapshots = list(PnLSnapshot.objects.filter(bot=traded).order_by("time", "id").values_list("time", "equity"))
    last_in_bucket = {}
    for t, value in snapshots:
        last_in_bucket[epoch(t) // (16 * 300) * (16 * 300)] = float(value)
    assert [t for t, _ in data["equity"]] == list(last_in_bucket)
    assert [v for _, v in data["equity"]] == pytest.approx(list(last_in_bucket.values()), rel=1e-9)
    assert sum(m[2] for m in data["markers"]) == Fill.objects.filter(bot=traded).count()
    assert all(m[0] % (16 * 300) == 0 for m in data["markers"])

    # Each live update carries the newest candles, equity and fills for the open page to fold in.
    html = live.render_bot_page_fragments(traded)
    match = re.search(rf'id="bot-{traded.pk}-chart" hidden data-chart-tail="([^"]*)"', html)
    assert match, html[:500]
    tail = json.loads(match.group(1).replace("&quot;", '"'))
    assert tail["bars"][-1][0] == epoch(traded.last_candle_at) and len(tail["bars"]) == 20
    newest = PnLSnapshot.objects.filter(bot=traded).order_by("-time").first()
    assert tail["equity"][-1] == [epoch(newest.time), float(newest.equity)]
    newest_fill = Fill.objects.filter(bot=traded).order_by("-time", "-id").first()
    assert tail["fills"][-1][:4] == [newest_fill.pk, epoch(newest_fill.time),
                                     "entry" if newest_fill.side == "buy" else "exit", float(newest_fill.price)]
    assert "<svg" not in html

    # CSV of its trades (closed positions) and of its equity.
    response = client.get(reverse("bots:trades_csv", args=[traded.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    closed = list(Position.objects.filter(bot=traded, status="closed").order_by("opened_at"))
    assert len(rows) == len(closed) >= 2
    assert D(rows[0]["pnl"]) == closed[0].realised_pnl and rows[0]["exit_reason"] == closed[0].exit_reason
    response = client.get(reverse("bots:equity_csv", args=[traded.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    snapshots = list(PnLSnapshot.objects.filter(bot=traded).order_by("time", "id"))
    assert len(rows) == len(snapshots) and D(rows[-1]["equity"]) == snapshots[-1].equity



def test_a_paper_bot_without_stored_candles_charts_its_equity_alone(client):
    owner = make_user()
    bot = make_bot(owner, mode=Bot.Mode.PAPER)
    client.force_login(owner)
    empty = chart(client, bot).json()
    assert empty["bars"] == [] and "first tick" in empty["caption"]
    now = timezone.now().replace(second=0, microsecond=0)
    for k in range(5):
        PnLSnapshot.objects.create(bot=bot, time=now + timedelta(minutes=5 * k), equity=D("10000") + k,
                                   realised=D("0"), unrealised=D(k))
    Bot.objects.filter(pk=bot.pk).update(last_candle_at=now + timedelta(minutes=20))
    data = chart(client, bot).json()
    assert data["bars"] == [] and [v for _, v in data["equity"]] == [10000.0, 10001.0, 10002.0, 10003.0, 10004.0]
    assert "No stored candles for BTC/USDT 5m on binance" in data["caption"]


def make_fills(bot, count):
    now = timezone.now()
    for k in range(count):
        side = "buy" if k % 2 == 0 else "sell"
        order = Order.objects.create(bot=bot, client_order_id=f"t-{bot.pk}-{k}", symbol=bot.symbol, side=side,
                                     amount=D("0.1"), status=Order.Status.CLOSED, reason="signal",
                                     candle_at=now + timedelta(minutes=k))
        Fill.objects.create(order=order, bot=bot, side=side, amount=D("0.1"), price=D("20000") + k, fee=D("0.02"),
                            time=now + timedelta(minutes=k))


def test_fills_paginate_newest_first_and_export_as_csv(client):
    owner = make_user()
    bot = make_bot(owner)
    make_fills(bot, 120)
    client.force_login(owner)
    page = client.get(reverse("bots:fills", args=[bot.pk])).content.decode()
    assert page.count('id="fill-') == 50 and 'data-pages="3"' in page and "(1–50 of 120)" in page
    newest = Fill.objects.filter(bot=bot).order_by("-time").first()
    assert page.index(f'id="fill-{newest.pk}"') < page.index('id="fill-', page.index(f'id="fill-{newest.pk}"') + 1)
    part = client.get(reverse("bots:fills", args=[bot.pk]), {"page": 3},
                      headers={"HX-Request": "true", "HX-Target": "fills-section"}).content.decode()
    assert part.startswith('<div id="fills-section">') and part.count('id="fill-') == 20
    response = client.get(reverse("bots:fills_csv", args=[bot.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 120 and rows[0]["side"] == "buy" and D(rows[5]["price"]) == D("20005")
    assert rows[0]["client_order_id"] == f"t-{bot.pk}-0" and rows[0]["time"].endswith("Z")


def test_another_users_bot_is_404_on_every_new_url(client):
    alice, bob = make_user("alice"), make_user("bob")
    theirs = make_bot(bob)
    client.force_login(alice)
    for name in ("chart", "fills", "fills_csv", "trades_csv", "equity_csv"):
        assert client.get(reverse(f"bots:{name}", args=[theirs.pk])).status_code == 404, name
    client.logout()
    assert client.get(reverse("bots:chart", args=[theirs.pk])).status_code == 302


def test_bad_chart_parameters_are_clear_json_errors(client):
    owner = make_user()
    bot = make_bot(owner)
    client.force_login(owner)
    response = chart(client, bot, bars="many")
    assert response.status_code == 400 and "bars must be a whole number" in response.json()["error"]


def test_the_dashboard_chart_gets_the_total_curve_with_times(client):
    owner = make_user()
    bot = make_bot(owner)
    start = timezone.now().replace(microsecond=0)
    for k in range(3):
        PnLSnapshot.objects.create(bot=bot, time=start + timedelta(minutes=k), equity=D("10000") + 10 * k,
                                   realised=D("0"), unrealised=D("0"))
    client.force_login(owner)
    page = client.get(reverse("bots:dashboard")).content.decode()
    match = re.search(r'id="dash-total-curve" hidden data-currency="USDT" data-points="([^"]*)"', page)
    points = json.loads(match.group(1).replace("&quot;", '"'))
    assert points == [[epoch(start) + 60 * k, 10000.0 + 10 * k] for k in range(3)]
    assert 'data-chart="equity"' in page and "<svg" not in page
