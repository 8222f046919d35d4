"""Bearer tokens on the seed's JSON paths (/bot/start, /bot/stop, /dashboard/pnl, /portfolio.json), which
predate /api/v1/: a token request there is the token's user, without CSRF (a browser never sends a bearer
token by itself), and a read token cannot start or stop. Anywhere else the header is ignored: a token is not
a way into the HTML pages."""

from django.http import JsonResponse

from api.auth import token_from_header
from api.errors import ApiError, error_body

TOKEN_PATHS = {"/bot/start": True, "/bot/stop": True, "/dashboard/pnl": False, "/portfolio.json": False}


class SeedPathTokenMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        header = request.headers.get("Authorization", "")
        writes = TOKEN_PATHS.get(request.path_info)
        if writes is not None and header[:7].lower() == "bearer ":
            try:
                token_from_header(request, header[7:], trade=writes and request.method not in ("GET", "HEAD"))
            except ApiError as exc:
                response = JsonResponse({**error_body(exc.code, exc.message), "error": exc.message},
                                        status=exc.status)
                for name, value in exc.headers.items():
                    response[name] = value
                return response
            request._dont_enforce_csrf_checks = True
        return self.get_response(request)
