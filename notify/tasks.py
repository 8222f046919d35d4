"""The worker's notification tasks: `deliver` (queued when a notification is written) and `sweep`
(every minute, a django-q2 schedule made by migration 0002): retries, lost queue entries, daily summaries."""

import logging
import time
from datetime import timedelta

from django.utils import timezone

from notify import delivery, summary
from notify.models import Notification

log = logging.getLogger(__name__)

SWEEP_BUDGET = 40.0  # seconds a sweep spends sending at most (the schedule runs it every minute)
KEEP_SENT = timedelta(days=7)


def deliver(user_id: int) -> str:
    return delivery.deliver(user_id).outcome


def sweep() -> dict:
    """Steps: 1. rows left "sending" by a dead worker go back to pending; 2. daily summaries whose hour has
    come are queued; 3. every user with due rows gets a delivery (within a time budget); 4. old sent and
    dropped rows are pruned."""
    started = time.monotonic()
    released = delivery.release_stale_claims()
    summaries = summary.send_due_summaries()
    delivered = 0
    for user_id in delivery.users_with_due_rows():
        if time.monotonic() - started > SWEEP_BUDGET or delivery.paused_for() > 0:
            break
        delivered += delivery.deliver(user_id).sent
    pruned = Notification.objects.filter(
        status__in=[Notification.Status.SENT, Notification.Status.DROPPED],
        created_at__lt=timezone.now() - KEEP_SENT).delete()[0]
    return {"released": released, "summaries": summaries, "delivered": delivered, "pruned": pruned}
