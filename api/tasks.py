"""The worker's side of webhook alerts: one endpoint's queued alerts, oldest first, each through the command
service (door "webhook"). A lease on the endpoint (processing_until) lets only one worker drain it at a
time, so alerts are processed in the order they arrived whatever the number of workers."""

import logging
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from api.models import WebhookAlert, WebhookEndpoint
from bots.models import Bot

log = logging.getLogger(__name__)
LEASE = timedelta(seconds=120)


def _claim(endpoint_id: int) -> bool:
    now = timezone.now()
    return bool(WebhookEndpoint.objects.filter(pk=endpoint_id).filter(
        Q(processing_until__isnull=True) | Q(processing_until__lt=now)).update(processing_until=now + LEASE))


def _release(endpoint_id: int) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint_id).update(processing_until=None)


def _queued(endpoint_id: int):
    return WebhookAlert.objects.filter(endpoint_id=endpoint_id, status=WebhookAlert.Status.QUEUED).order_by("id")


def process_alerts(endpoint_id: int) -> int:
    """Drain the endpoint's queue in order; returns how many alerts this call processed. Steps:
    1. take the endpoint's lease (another worker holding it will drain what is queued: return);
    2. claim the oldest queued alert (queued -> processing, one row changed) and process it;
    3. when the queue is empty, give the lease back, and look once more (an alert queued while this worker
       held the lease had its own task refused the lease)."""
    processed = 0
    while _claim(endpoint_id):
        try:
            while True:
                alert = _queued(endpoint_id).first()
                if alert is None:
                    break
                if not WebhookAlert.objects.filter(pk=alert.pk, status=WebhookAlert.Status.QUEUED).update(
                        status=WebhookAlert.Status.PROCESSING):
                    continue
                WebhookEndpoint.objects.filter(pk=endpoint_id).update(processing_until=timezone.now() + LEASE)
                process_alert(alert.pk)
                processed += 1
        finally:
            _release(endpoint_id)
        if not _queued(endpoint_id).exists():
            break
    return processed


def process_alert(alert_id: int) -> WebhookAlert:
    """One alert through the command service: risk and confirmation as the bot's policy says (paper and
    replay at once; live as the endpoint's owner chose)."""
    from api.signals import ExternalSignal
    from commands.service import confirm, submit

    alert = WebhookAlert.objects.select_related("endpoint", "endpoint__bot", "owner").get(pk=alert_id)
    endpoint, user = alert.endpoint, alert.owner
    bot = endpoint.bot
    try:
        outcome = submit(user, ExternalSignal(bot_id=bot.pk, action=alert.action, symbol=alert.symbol,
                                              amount=alert.amount, alert_id=alert.pk),
                         door="webhook", source_text=f"webhook alert {alert.pk}: {alert.body}"[:2000],
                         idempotency_key=f"webhook-alert-{alert.pk}")
        if outcome.needs_confirmation and (bot.mode != Bot.Mode.LIVE or
                                           endpoint.live_confirmation == WebhookEndpoint.LiveConfirmation.AUTO):
            outcome = confirm(user, outcome.pending_id, door="webhook")
    except Exception as exc:  # never leave the alert "processing": say what happened
        log.exception("webhook alert %s failed", alert_id)
        alert.status, alert.code, alert.reason = WebhookAlert.Status.FAILED, "error", f"{type(exc).__name__}"
    else:
        alert.activity_id = outcome.activity_id
        alert.code, alert.reason = outcome.code, outcome.message[:500]
        alert.status = {"done": WebhookAlert.Status.DONE, "needs_confirmation": WebhookAlert.Status.PENDING,
                        "unknown": WebhookAlert.Status.DONE}.get(outcome.status, WebhookAlert.Status.NOT_DONE)
        if outcome.needs_confirmation:
            alert.reason = _("Waiting for your confirmation: %(sentence)s") % {"sentence": outcome.sentence}
    alert.processed_at = timezone.now()
    alert.save(update_fields=["status", "code", "reason", "activity", "processed_at"])
    return alert


STALE = timedelta(seconds=30)


def every_minute(now=None) -> int:
    """Alerts left behind: one still "processing" after its endpoint's lease ran out (the worker died) goes
    back to the queue (its command has an idempotency key: a second run returns the first outcome, nothing is
    sent twice), and every endpoint with alerts queued for over STALE and no lease is drained here."""
    now = now or timezone.now()
    expired = WebhookEndpoint.objects.filter(processing_until__lt=now).values_list("pk", flat=True)
    WebhookAlert.objects.filter(endpoint_id__in=list(expired), status=WebhookAlert.Status.PROCESSING).update(
        status=WebhookAlert.Status.QUEUED)
    waiting = (WebhookAlert.objects.filter(status=WebhookAlert.Status.QUEUED, received_at__lt=now - STALE)
               .values_list("endpoint_id", flat=True).distinct())
    return sum(process_alerts(endpoint_id) for endpoint_id in set(waiting))
