"""`notify(user, kind, text_key, **params)`: the one hook every part of the platform calls to tell a user
something (a fill, a halt, a fired alert). It only writes a row; the worker sends it (notify.tasks).

Cheap and safe to call from anywhere, a bot tick included: no network, nothing when Telegram is off, the
user has no linked chat or has switched the kind off; the send is queued only after the caller's
transaction commits.
"""

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from notify.kinds import KINDS, TEXTS
from notify.models import Mode, Notification, NotificationSettings

log = logging.getLogger(__name__)


def notify(user, kind: str, text_key: str, **params) -> Notification | None:
    """Queue a notification of `kind` for `user`, rendered later from `text_key` and `params` (plain
    values: strings, numbers) in the user's language. Returns the row, or None when nothing is to be sent."""
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}; one of {', '.join(KINDS)}")
    if text_key not in TEXTS:
        raise ValueError(f"unknown notification text {text_key!r}; register it with notify.kinds.text")
    from telegram_bot import config
    from telegram_bot.models import TelegramLink

    user_id = getattr(user, "pk", user)
    if not config.enabled() or not TelegramLink.objects.filter(user_id=user_id, active=True).exists():
        return None
    mode = getattr(NotificationSettings.for_user(user_id), kind)
    if mode == Mode.OFF:
        return None
    row = Notification.objects.create(
        user_id=user_id, kind=kind, text_key=text_key, silent=mode == Mode.SILENT,
        params=json.loads(json.dumps(params, cls=DjangoJSONEncoder)),
    )
    transaction.on_commit(lambda: enqueue_delivery(user_id))
    return row


def enqueue_delivery(user_id: int) -> None:
    """A django-q2 task sends the user's pending notifications; if even queueing fails, the minute's
    sweep (notify.tasks.sweep) sends them."""
    from django_q.tasks import async_task

    try:
        async_task("notify.tasks.deliver", user_id, group="notifications", save=False)
    except Exception:
        log.warning("queueing the notification delivery of user %s failed; the sweep will send it", user_id,
                    exc_info=True)
