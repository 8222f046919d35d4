"""The daily summary: at the hour each user chose, in their time zone, their bots' day in one message."""

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone, translation

from accounts.models import Profile
from notify.models import Mode, NotificationSettings
from notify.outbox import notify

# A summary is sent at most once in this long (covers a sweep running twice in the chosen hour, and a
# change of time zone that repeats the hour).
MIN_GAP = timedelta(hours=20)


def due_summaries(now=None) -> list[NotificationSettings]:
    """Settings of users whose summary is on, whose chat is linked, and whose local hour is the chosen one."""
    now = now or timezone.now()
    candidates = NotificationSettings.objects.filter(
        daily_summary__in=[Mode.ON, Mode.SILENT], user__telegram_link__active=True, user__is_active=True,
    ).filter(Q(daily_summary_sent_at__isnull=True) | Q(daily_summary_sent_at__lte=now - MIN_GAP))
    zones = dict(Profile.objects.filter(user_id__in=[c.user_id for c in candidates]).values_list("user_id",
                                                                                                 "time_zone"))
    due = []
    for prefs in candidates:
        zone = Profile(time_zone=zones.get(prefs.user_id, "UTC")).zone
        if timezone.localtime(now, zone).hour == prefs.daily_summary_hour:
            prefs.zone = zone
            due.append(prefs)
    return due


def send_due_summaries(now=None) -> int:
    """Queue the due summaries; each is claimed with a conditional UPDATE, so two sweeps send it once."""
    from telegram_bot import reports
    from telegram_bot.models import TelegramLink

    now = now or timezone.now()
    queued = 0
    for prefs in due_summaries(now):
        claimed = NotificationSettings.objects.filter(pk=prefs.pk).filter(
            Q(daily_summary_sent_at__isnull=True) | Q(daily_summary_sent_at__lte=now - MIN_GAP)
        ).update(daily_summary_sent_at=now)
        if not claimed:
            continue
        link = TelegramLink.objects.filter(user_id=prefs.user_id).select_related("user").first()
        if link is None:
            continue
        with translation.override(link.language()), timezone.override(prefs.zone):
            body = "\n\n".join([reports.status(link.user), reports.daily(link.user, 1)])
            day = timezone.localdate(now).isoformat()
        if notify(prefs.user_id, "daily_summary", "daily_summary", day=day, body=body) is not None:
            queued += 1
    return queued
