"""/health: is the database, the channel layer and a worker up? 200 when all are, 503 naming what is not."""

import uuid

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext_noop
from django_q.brokers import get_broker
from django_q.status import Stat


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means down; the reason is shown, never a secret
        return f"{type(exc).__name__}"
    return None


def check_channel_layer() -> str | None:
    layer = get_channel_layer()
    if layer is None:
        return "no channel layer configured"

    async def round_trip():
        channel = await layer.new_channel("health.")
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "health.ping", "token": token})
        message = await layer.receive(channel)
        return message.get("token") == token

    try:
        ok = async_to_sync(round_trip)()
    except Exception as exc:
        return f"{type(exc).__name__}"
    return None if ok else "channel layer returned a different message"


def check_worker() -> str | None:
    try:
        stats = Stat.get_all(broker=get_broker()) or []
    except Exception as exc:
        return f"{type(exc).__name__}"
    if not stats:
        # English in the health JSON (operators, monitors); the dashboard shows it translated (|shown).
        return gettext_noop("no worker heartbeat (start one with: manage.py qcluster)")
    return None


CHECKS = {"database": check_database, "channel_layer": check_channel_layer, "worker": check_worker}


def health(request):
    results = {name: check() for name, check in CHECKS.items()}
    down = [name for name, problem in results.items() if problem]
    body = {
        "status": "ok" if not down else "down",
        "checks": {name: {"ok": problem is None, **({"detail": problem} if problem else {})}
                   for name, problem in results.items()},
        "down": down,
    }
    return JsonResponse(body, status=503 if down else 200)
