"""JSON endpoints answer JSON, errors included: 401 without a login, 403 without the CSRF token, 405 for a
wrong method, never an HTML page. `@json_endpoint(methods)` marks a view so; the CSRF failure view
(settings.CSRF_FAILURE_VIEW) answers JSON for marked views and for requests that ask for JSON."""

from functools import wraps

from django.http import JsonResponse
from django.urls import Resolver404, resolve
from django.views.csrf import csrf_failure as html_csrf_failure


def json_endpoint(methods=("GET",)):
    allowed = tuple(m.upper() for m in methods)

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return JsonResponse({"error": "Log in first (session authentication).", "code": "unauthenticated"},
                                    status=401)
            if request.method not in allowed:
                response = JsonResponse({"error": f"Use {' or '.join(allowed)}.", "code": "method_not_allowed"},
                                        status=405)
                response["Allow"] = ", ".join(allowed)
                return response
            return view(request, *args, **kwargs)

        wrapper.json_endpoint = True
        return wrapper

    return decorate


def wants_json(request) -> bool:
    try:
        view = resolve(request.path_info).func
    except Resolver404:
        view = None
    if getattr(view, "json_endpoint", False):
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept or request.content_type == "application/json"


def csrf_failure(request, reason=""):
    if wants_json(request):
        return JsonResponse({"error": "CSRF check failed: send the X-CSRFToken header with the csrftoken cookie's "
                                      "value (or log in again).", "code": "csrf_failed", "reason": reason},
                            status=403)
    return html_csrf_failure(request, reason=reason)
