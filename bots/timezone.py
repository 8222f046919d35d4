"""Times in the user's time zone: static/js/timezone.js stores the browser's zone in a `tz` cookie,
and this middleware activates it for the request (an unknown or missing zone leaves UTC)."""

import zoneinfo
from urllib.parse import unquote

from django.utils import timezone

COOKIE = "tz"


def zone_from_cookie(value: str | None):
    if not value or len(value) > 64:
        return None
    value = unquote(value)  # "Europe%2FBerlin" from an encoding browser script
    try:
        return zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class TimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = zone_from_cookie(request.COOKIES.get(COOKIE))
        if zone is None:
            timezone.deactivate()
        else:
            timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
