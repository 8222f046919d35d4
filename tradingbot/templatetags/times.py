"""One date format on every page, in the user's time zone: `{{ value|when }}` (`{% load times %}`).

The active zone is the user's (bots.timezone's middleware, from the browser); the markup carries the UTC
instant, so static/js/timezone.js shows fragments the worker rendered (it knows no user's zone) the same way.
Accepts a datetime or an ISO 8601 string (the backtester stores trade times so)."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()

FORMAT = "Y-m-d H:i:s"


@register.filter
def when(value):
    if isinstance(value, str) and value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        if timezone.is_naive(value):
            value = timezone.make_aware(value, timezone.UTC)
    if not value:
        return mark_safe('<span class="muted">—</span>')
    local = timezone.localtime(value)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.astimezone(timezone.UTC).isoformat().replace("+00:00", "Z"),
        local.tzname() or "",
        date_format(local, FORMAT),
    )
