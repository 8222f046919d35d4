"""The display filters of the bot pages: money with its currency, signed P&L, percentages, the SVG chart."""

from datetime import UTC, datetime
from decimal import Decimal

from django.utils import timezone

from bots.templatetags.bot_display import (
    amount,
    base_amount,
    downsample,
    equity_chart,
    money,
    percent,
    pnl,
    quote_currency,
    when,
)


def test_money_has_its_currency_and_the_places_the_currency_needs():
    assert money(Decimal("1234.5"), "USDT") == "1,234.50 USDT"
    assert money(Decimal("0.123456789"), "BTC") == "0.12345679 BTC"
    assert money(None, "USDT") == "—"
    assert money("not a number", "USDT") == "—"
    assert amount(Decimal("0.00012"), "BTC") == "0.00012000 BTC"
    assert amount(Decimal("16802.6"), "USDT") == "16,802.60 USDT"
    assert base_amount(Decimal("0.5"), "ETH/BTC") == "0.50000000 ETH"
    assert quote_currency("BTC/USDT:USDT") == "USDT"


def test_pnl_is_signed_and_coloured():
    assert str(pnl(Decimal("12.3"), "USDT")) == '<span class="up">+12.30 USDT</span>'
    assert str(pnl(Decimal("-0.99"), "USDT")) == '<span class="down">-0.99 USDT</span>'
    assert str(pnl(Decimal("0"), "USDT")) == '<span class="muted">0.00 USDT</span>'
    assert "—" in str(pnl(None, "USDT"))


def test_percent_of_a_fraction():
    assert percent(Decimal("0.05")) == "5.00 %"
    assert percent(Decimal("0.001"), 3) == "0.100 %"


def test_when_marks_up_utc_and_shows_the_active_zone():
    import zoneinfo

    moment = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    with timezone.override(zoneinfo.ZoneInfo("Asia/Tokyo")):
        html = str(when(moment))
    assert 'datetime="2026-11-20T23:30:00Z"' in html and ">2026-11-21 08:30:00<" in html
    assert "—" in str(when(None))


def test_equity_chart_draws_every_point_and_labels_in_the_currency():
    points = [(None, Decimal(v)) for v in ("100", "110", "90", "120")]
    svg = str(equity_chart(points, "USDT", css_id="c"))
    assert svg.startswith('<svg class="chart"') and 'id="c"' in svg
    assert 'data-points="4"' in svg and "high 120.00 USDT" in svg and "low 90.00 USDT" in svg
    assert svg.count(",") >= 4  # four x,y pairs in the polyline
    assert "No data yet" in str(equity_chart([(None, Decimal("1"))], "USDT"))


def test_downsample_keeps_the_size_bounded_and_the_last_point():
    points = list(range(1000))
    picked = downsample(points, 300)
    assert len(picked) == 300 and picked[0] == 0 and picked[-1] == 999
    assert downsample(points[:10], 300) == points[:10]
