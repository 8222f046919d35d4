"""Telling a user something happened (a price alert fired): a live notification on every page they have open
(the existing websocket: group `notify-<user id>`, joined by every page's socket), an Activity entry, and the
`user_notified` signal, the hook a later door (Telegram) connects to send it on."""

import logging

import django.dispatch
from django.template.loader import render_to_string
from django.utils import translation

from bots import live
from commands.models import Activity, Door

log = logging.getLogger(__name__)

# sent with: user, kind ("alert_fired"), message (English, as stored), activity, plus kind-specific data
# (alert=PriceAlert, price=Decimal for "alert_fired"). Receivers must not raise; their errors are logged.
user_notified = django.dispatch.Signal()


def notify(user, kind: str, message: str, *, summary: str = "", result: dict | None = None, **data) -> Activity:
    activity = Activity.objects.create(owner=user, door=Door.WORKER, command=kind,
                                       summary=summary[:500] or message[:500], status=Activity.Status.DONE,
                                       message=message, result=result or {})
    try:
        from accounts.language import language_of

        with translation.override(language_of(user)):  # the worker's, not a request's language
            html = render_to_string("commands/parts/notification.html", {"activity": activity})
        live.publish(live.notify_group(user.pk), html)
    except Exception:
        log.exception("live notification for user %s failed", user.pk)
    for receiver, response in user_notified.send_robust(sender=Activity, user=user, kind=kind, message=message,
                                                        activity=activity, **data):
        if isinstance(response, Exception):
            log.error("a user_notified receiver (%s) failed: %r", receiver, response)
    return activity
