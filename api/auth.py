"""Who is calling the API: a bearer token (no CSRF: a token is not sent by a browser on its own) or the
browser session (CSRF checked on writes, by ninja's SessionAuth as by Django's middleware). Every caller
is rate-limited: per token, or per user for a session (a DB counter shared by every process, as the login
throttle; settings API_RATE_LIMIT requests per API_RATE_WINDOW_SECONDS)."""

from django.conf import settings
from django.utils.translation import gettext as _
from ninja.security import HttpBearer, SessionAuth

from accounts.throttle import bucket_key, client_address, reserve
from api import tokens
from api.errors import ApiError


def ip_or_none(address: str | None) -> str | None:
    """An address fit for a GenericIPAddressField (PostgreSQL's inet refuses anything else), or None."""
    import ipaddress

    try:
        return str(ipaddress.ip_address((address or "").strip()))
    except ValueError:
        return None


def check_rate(key: str) -> None:
    limit = settings.API_RATE_LIMIT
    if not limit:
        return
    wait = reserve([(key, limit)], settings.API_RATE_WINDOW_SECONDS)
    if wait:
        raise ApiError(429, "rate_limited",
                       _("Too many requests: at most %(limit)s per %(window)s s. Try again in %(wait)s s.")
                       % {"limit": limit, "window": settings.API_RATE_WINDOW_SECONDS, "wait": wait},
                       headers={"Retry-After": str(wait)})


def token_from_header(request, raw: str, *, trade: bool):
    """The token named by a request (or an ApiError): active, of the needed scope, within its rate."""
    token = tokens.find_token(raw.strip())
    if token is None:
        raise ApiError(401, "invalid_token", _("This token is unknown, revoked or expired."),
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    if trade and not token.can_trade:
        raise ApiError(403, "insufficient_scope", _("This token may only read; this request needs a trade token."),
                       headers={"WWW-Authenticate": 'Bearer error="insufficient_scope" scope="trade"'})
    check_rate(bucket_key("api-token", str(token.pk)))
    tokens.mark_used(token, ip_or_none(client_address(request)))
    request.user = token.owner
    request.api_token = token
    return token.owner


class BearerToken(HttpBearer):
    def __init__(self, *, trade: bool):
        super().__init__()
        self.trade = trade

    def authenticate(self, request, token):
        return token_from_header(request, token, trade=self.trade)


class Session(SessionAuth):
    """The logged-in browser (the docs page's "Try it out", the site's own scripts); CSRF on writes."""

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None  # no session: a 401 saying how to authenticate, not a CSRF failure
        return super()._get_key(request)

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            request.api_token = None
            check_rate(bucket_key("api-session", str(user.pk)))
        return user


READ = [BearerToken(trade=False), Session()]
TRADE = [BearerToken(trade=True), Session()]
