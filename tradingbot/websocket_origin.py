"""The websocket origin check: the whole origin (scheme, host and port) must be this site's own, or one of
CSRF_TRUSTED_ORIGINS.

Channels' AllowedHostsOriginValidator compares only the host name, so `http://localhost:9999` (any local
process) or `http://trade.example.org` (plain HTTP, for an HTTPS site) pass it. Here the expected origin is the
one the browser is talking to: the Host header (which must be in ALLOWED_HOSTS) with http for ws:// and https
for wss:// (or, with BEHIND_PROXY, the scheme the proxy reports in X-Forwarded-Proto).
"""

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def normalised_origin(value: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, lower-cased, with the scheme's default port filled in."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def _headers(scope) -> dict[bytes, bytes]:
    return {name.lower(): value for name, value in scope.get("headers", [])}


def site_origin(scope) -> tuple[str, str, int] | None:
    """The origin of the site this connection came to, or None when its Host is not one we serve."""
    headers = _headers(scope)
    host = headers.get(b"host", b"").decode("latin-1").strip()
    if not host:
        return None
    domain, _port = split_domain_port(host)
    allowed = settings.ALLOWED_HOSTS or (["localhost", "127.0.0.1", "[::1]"] if settings.DEBUG else [])
    if not domain or not validate_host(domain, allowed):
        return None
    scheme = "https" if scope.get("scheme") in ("wss", "https") else "http"
    if settings.BEHIND_PROXY:
        forwarded = headers.get(b"x-forwarded-proto", b"").decode("latin-1").split(",")[0].strip().lower()
        if forwarded in ("http", "https"):
            scheme = forwarded
    return normalised_origin(f"{scheme}://{host}")


def origin_allowed(scope) -> bool:
    raw = _headers(scope).get(b"origin")
    if not raw:
        return False  # browsers always send one; a client without it is not a page of ours
    origin = normalised_origin(raw.decode("latin-1"))
    if origin is None:
        return False
    if origin == site_origin(scope):
        return True
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        if "*." in trusted:  # Django's form: https://*.example.org
            pattern = normalised_origin(trusted.replace("*.", "", 1))
            if pattern and origin[0] == pattern[0] and origin[2] == pattern[2] and (
                    origin[1] == pattern[1] or origin[1].endswith("." + pattern[1])):
                return True
        elif origin == normalised_origin(trusted):
            return True
    return False


class SameOriginValidator:
    """ASGI middleware for websockets: a connection from another origin is refused at the handshake (403)."""

    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            raise ValueError("SameOriginValidator is for websocket connections")
        if origin_allowed(scope):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
