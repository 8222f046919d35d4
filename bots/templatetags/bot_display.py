"""Template filters for bot pages: money with its currency, signed P&L, and small server-rendered SVG charts."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tradingbot.templatetags.times import when

register = template.Library()


def quote_currency(symbol: str) -> str:
    """BTC/USDT -> USDT; BTC/USDT:USDT (a ccxt swap) -> USDT."""
    quote = symbol.split("/", 1)[1] if "/" in symbol else symbol
    return quote.split(":", 1)[0]


def base_currency(symbol: str) -> str:
    return symbol.split("/", 1)[0]


register.filter("quote_currency", quote_currency)
register.filter("base_currency", base_currency)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def format_amount(value, places: int = 2) -> str:
    number = _decimal(value)
    if number is None:
        return "—"
    quantum = Decimal(1).scaleb(-places)
    return f"{number.quantize(quantum, rounding=ROUND_HALF_UP):,.{places}f}"


def places_for(value) -> int:
    """Enough decimals to show a price or an amount: 2 for large numbers, more for small ones."""
    number = _decimal(value)
    if number is None or number == 0:
        return 2
    magnitude = abs(number)
    if magnitude >= 100:
        return 2
    if magnitude >= 1:
        return 4
    return 8


# Quote currencies worth about a dollar or more per unit: cents are enough. Others (BTC, ETH) get 8 places.
CENT_CURRENCIES = {"USD", "USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "EUR", "GBP", "CHF", "AUD", "CAD", "TRY",
                   "BRL", "JPY", "KRW", "USDP", "PYUSD", "EURC"}


@register.filter
def money(value, currency: str = "") -> str:
    """1234.5, "USDT" -> "1,234.50 USDT"; 0.5, "BTC" -> "0.50000000 BTC"; None -> "—"."""
    places = 2 if not currency or currency.upper() in CENT_CURRENCIES else 8
    text = format_amount(value, places)
    return f"{text} {currency}".strip() if text != "—" else text


@register.filter
def amount(value, currency: str = "") -> str:
    """A price or a quantity with as many decimals as it needs, and its currency."""
    text = format_amount(value, places_for(value))
    return f"{text} {currency}".strip() if text != "—" else text


@register.filter
def base_amount(value, symbol: str) -> str:
    """A quantity in the symbol's base currency: 0.5, "BTC/USDT" -> "0.50000000 BTC"."""
    return amount(value, base_currency(symbol))


@register.filter
def quote_amount(value, symbol: str) -> str:
    """A price in the symbol's quote currency."""
    return amount(value, quote_currency(symbol))


@register.filter
def pnl(value, currency: str = ""):
    """Signed money in a span coloured up or down: "+12.30 USDT"."""
    number = _decimal(value)
    if number is None:
        return mark_safe('<span class="muted">—</span>')
    css = "up" if number > 0 else "down" if number < 0 else "muted"
    sign = "+" if number > 0 else ""
    return format_html('<span class="{}">{}{}</span>', css, sign, money(number, currency))


@register.filter
def percent(value, places: int = 2) -> str:
    """A fraction as a percentage: 0.05 -> "5.00 %"."""
    number = _decimal(value)
    if number is None:
        return "—"
    return f"{format_amount(number * 100, int(places))} %"


@register.simple_tag
def equity_chart(points, currency: str = "", width: int = 640, height: int = 180, css_id: str = ""):
    """A line chart of [(time, value), ...] as inline SVG, with the first, last, lowest and highest values."""
    values = [float(v) for _, v in points if v is not None]
    if len(values) < 2:
        return format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-label="{}"{}>'
            '<text x="50%" y="50%" text-anchor="middle" fill="#8b949e" font-size="14">{}</text></svg>',
            width, height, _("No equity data yet"), format_html(' id="{}"', css_id) if css_id else "",
            _("No data yet"),
        )
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    pad = 8
    step = (width - 2 * pad) / (len(values) - 1)
    coords = " ".join(
        f"{pad + i * step:.1f},{height - pad - (v - low) / span * (height - 2 * pad):.1f}" for i, v in enumerate(values)
    )
    colour = "#26a269" if values[-1] >= values[0] else "#e5534b"
    label = _("Equity from %(first)s to %(last)s") % {"first": money(values[0], currency),
                                                      "last": money(values[-1], currency)}
    return format_html(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}" data-points="{n}"{id}>'
        '<polyline fill="none" stroke="{c}" stroke-width="2" points="{pts}"/>'
        '<text x="{pad}" y="16" fill="#8b949e" font-size="12">{hi}</text>'
        '<text x="{pad}" y="{yb}" fill="#8b949e" font-size="12">{lo}</text>'
        '<text x="{xr}" y="16" fill="{c}" font-size="12" text-anchor="end">{last}</text></svg>',
        w=width, h=height, label=label, n=len(values), id=format_html(' id="{}"', css_id) if css_id else "",
        c=colour, pts=coords, pad=pad, hi=_("high %(value)s") % {"value": money(high, currency)},
        lo=_("low %(value)s") % {"value": money(low, currency)}, yb=height - pad,
        xr=width - pad, last=money(values[-1], currency),
    )


def downsample(points: list, limit: int = 300) -> list:
    """At most `limit` points, evenly spaced, always keeping the last one."""
    if len(points) <= limit:
        return points
    step = len(points) / (limit - 1)
    picked = [points[int(i * step)] for i in range(limit - 1)]
    return picked + [points[-1]]


# The one date format of every page (tradingbot.templatetags.times), also under this library's name.
register.filter("when", when)


# Short names of the modes of a bot or an exchange account (the stored codes stay as they are).
MODE_NAMES = {"replay": gettext_lazy("replay"), "paper": gettext_lazy("paper"), "live": gettext_lazy("live"),
              "testnet": gettext_lazy("testnet")}


@register.filter
def mode_name(mode: str) -> str:
    """{{ bot.mode|mode_name }}: "paper", "live", ... in the reader's language."""
    return MODE_NAMES.get(mode, mode)
