"""Who wants which notification how (on / silent / off), and the outbox of notifications to send."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    ON = "on", _("On")
    SILENT = "silent", _("Silent (no sound)")
    OFF = "off", _("Off")


def mode_field(default: str, label):
    return models.CharField(label, max_length=6, choices=Mode.choices, default=default)


class NotificationSettings(models.Model):
    """One row per user who changed something; a user without one has the defaults (`defaults_for`).
    Each field is named after its kind in notify.kinds."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="notification_settings")
    order_filled = mode_field(Mode.ON, _("Order filled"))
    bot_problem = mode_field(Mode.ON, _("Bot halted or in error"))
    exit_hit = mode_field(Mode.ON, _("Stop-loss or take-profit hit"))
    alert_fired = mode_field(Mode.ON, _("Price alert fired"))
    daily_summary = mode_field(Mode.OFF, _("Daily summary"))
    daily_summary_hour = models.PositiveSmallIntegerField(
        _("Daily summary hour"), default=20, validators=[MaxValueValidator(23)],
        help_text=_("Hour of the day (0-23) in your time zone (Settings) when the summary is sent."),
    )
    daily_summary_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self) -> str:
        return f"notification settings of {self.user}"

    @classmethod
    def for_user(cls, user_or_id) -> "NotificationSettings":
        """The stored row, or an unsaved one with the defaults."""
        user_id = getattr(user_or_id, "pk", user_or_id)
        return cls.objects.filter(user_id=user_id).first() or cls(user_id=user_id)


class Notification(models.Model):
    """One message for one user, written when it happens and sent by the worker (notify.delivery)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed (given up)")
        DROPPED = "dropped", _("Dropped (nowhere to send)")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=30)
    text_key = models.CharField(max_length=50)
    params = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    silent = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claim = models.CharField(max_length=32, blank=True, default="")
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["user", "status"], name="notification_user_status"),
            models.Index(fields=["status", "next_attempt_at"], name="notification_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user} ({self.status})"
