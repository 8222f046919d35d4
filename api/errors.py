"""The API's errors: JSON `{"code": ..., "message": ...}` with a stable code, for every failure (validation,
authentication, scope, rate limit, not found, a refused command)."""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError, HttpError, ValidationError

STATUS_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "too_large", 422: "invalid", 429: "rate_limited"}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, *, details: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details, self.headers = details or {}, headers or {}


def not_found(what: str) -> ApiError:
    return ApiError(404, "not_found", _("No such %(what)s.") % {"what": what})


def error_body(code: str, message: str, **details) -> dict:
    return {"code": code, "message": message, **({"details": details} if details else {})}


def install(api) -> None:
    """Exception handlers on the NinjaAPI instance."""

    def respond(request, status, code, message, headers=None, **details):
        response = api.create_response(request, error_body(code, message, **details), status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @api.exception_handler(ApiError)
    def api_error(request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.message, exc.headers, **exc.details)

    @api.exception_handler(ValidationError)
    def validation_error(request, exc: ValidationError):
        problems = [{"field": ".".join(str(p) for p in e.get("loc", ())[1:]) or None, "message": e.get("msg", "")}
                    for e in exc.errors]
        return respond(request, 422, "invalid", _("The request does not fit the schema (see errors)."),
                       errors=problems)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request, exc):
        return respond(request, 401, "unauthenticated",
                       _("Send a valid token: Authorization: Bearer <token> (or log in for session use)."),
                       {"WWW-Authenticate": "Bearer"})

    @api.exception_handler(HttpError)
    def http_error(request, exc: HttpError):
        code = STATUS_CODES.get(exc.status_code, "error")
        if exc.status_code == 403 and "csrf" in str(exc).lower():
            code = "csrf_failed"
        return respond(request, exc.status_code, code, str(exc))

    @api.exception_handler(Http404)
    def http404(request, exc):
        return respond(request, 404, "not_found", _("Not found."))
