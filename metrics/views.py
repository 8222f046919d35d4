"""GET /metrics: the Prometheus text exposition of every process (multiprocess mode) plus the database totals.

Off (404) unless METRICS_TOKEN or METRICS_ALLOW is set. With METRICS_TOKEN the scrape must send
`Authorization: Bearer <token>`; with METRICS_ALLOW the client address (REMOTE_ADDR) must be in one of the listed
addresses or networks; with both, both must hold.
"""

import hmac
import ipaddress
import logging

from django.conf import settings
from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)


def _allowed_networks():
    networks = []
    for item in settings.METRICS_ALLOW:
        networks.append(ipaddress.ip_network(item, strict=False))
    return networks


def address_allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in _allowed_networks())


def token_matches(request) -> bool:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), settings.METRICS_TOKEN.encode())


def render_metrics() -> tuple[bytes, str]:
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    from metrics import instruments
    from metrics.collector import DatabaseCollector

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(instruments.FOLDER))
    registry.register(DatabaseCollector())
    return generate_latest(registry), CONTENT_TYPE_LATEST


@never_cache
@require_GET
def metrics(request):
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOW:
        raise Http404("metrics are off")
    if settings.METRICS_ALLOW and not address_allowed(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse(_("This address may not read the metrics.") + "\n", status=403, content_type="text/plain")
    if settings.METRICS_TOKEN and not token_matches(request):
        response = HttpResponse(_("A bearer token is needed.") + "\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)
