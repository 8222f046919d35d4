"""Formatting of backtest figures in templates (fractions as percentages, undefined ratios as n/a)."""

from django import template

register = template.Library()


@register.filter
def change(value, digits=2):
    """A return: 0.05632 -> '+5.63 %'; None -> 'n/a'."""
    if value is None or value == "":
        return "n/a"
    return f"{float(value) * 100:+.{int(digits)}f} %"


@register.filter
def percent(value, digits=2):
    """A share or a drawdown: 0.225 -> '22.50 %'; None -> 'n/a'."""
    if value is None or value == "":
        return "n/a"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def ratio(value, digits=2):
    if value is None or value == "":
        return "n/a"
    return f"{float(value):.{int(digits)}f}"


@register.filter
def price(value):
    """Up to 8 decimals, no trailing zeros: 17406.7 -> '17,406.7', 0.00266109 -> '0.00266109'."""
    if value is None or value == "":
        return ""
    text = f"{float(value):,.8f}".rstrip("0").rstrip(".")
    return text or "0"


@register.filter
def isotime(value):
    """'2023-01-03T00:10:00Z' -> '2023-01-03 00:10'."""
    return str(value)[:16].replace("T", " ")
