"""API tokens (stored hashed), the per-bot webhook endpoints of "external signals" bots, and the audit of every
webhook alert received."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchanges.models import OwnedQuerySet


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ApiToken(models.Model):
    """A per-user bearer token. Only its sha256 is stored: the raw token is shown once, when it is made."""

    class Scope(models.TextChoices):
        READ = "read", _("Read only")
        TRADE = "trade", _("Read and trade")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    scope = models.CharField(max_length=5, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise a token in lists.")
    token_hash = models.CharField(max_length=64, unique=True, help_text="sha256 of the token (hex).")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never expires.")
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.scope})"

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def can_trade(self) -> bool:
        return self.scope == self.Scope.TRADE


class WebhookEndpoint(models.Model):
    """The alert URL of one "external signals" bot: /api/v1/webhooks/<hook_id>, with a secret that each alert
    carries in its body (only its sha256 is stored; it is shown once)."""

    class LiveConfirmation(models.TextChoices):
        ASK = "ask", _("Ask me (each alert waits for my confirmation)")
        AUTO = "auto", _("Trade at once (I accept the risk)")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhook_endpoints")
    bot = models.OneToOneField("bots.Bot", on_delete=models.CASCADE, related_name="webhook")
    hook_id = models.CharField(max_length=40, unique=True)
    secret_hash = models.CharField(max_length=64)
    allowed_actions = models.CharField(max_length=30, default="buy,sell,close",
                                       help_text="Comma-separated: buy, sell, close.")
    live_confirmation = models.CharField(
        max_length=4, choices=LiveConfirmation.choices, default=LiveConfirmation.ASK,
        help_text="A live bot's alert: wait for a confirmation (Activity page, API, Telegram) or trade at once. "
                  "Paper and replay bots trade at once.")
    active = models.BooleanField(default=True)
    accepted_count = models.PositiveIntegerField(default=0)
    refused_count = models.PositiveIntegerField(default=0)
    duplicate_count = models.PositiveIntegerField(default=0)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    last_refusal = models.CharField(max_length=300, blank=True, default="")
    processing_until = models.DateTimeField(null=True, blank=True,
                                            help_text="A worker is processing this endpoint's alerts until then.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = OwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"webhook of bot {self.bot_id}"

    def actions(self) -> tuple[str, ...]:
        return tuple(a.strip() for a in self.allowed_actions.split(",") if a.strip())


class WebhookAlert(models.Model):
    """One alert as received (its secret removed) and what became of it."""

    class Status(models.TextChoices):
        REFUSED = "refused", _("Refused")
        DUPLICATE = "duplicate", _("Duplicate (ignored)")
        QUEUED = "queued", _("Queued")
        PROCESSING = "processing", _("Processing")
        DONE = "done", _("Done")
        PENDING = "pending", _("Waiting for confirmation")
        NOT_DONE = "not_done", _("Refused by the command service")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                              related_name="webhook_alerts", help_text="Empty for an unknown webhook id.")
    endpoint = models.ForeignKey(WebhookEndpoint, null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="alerts")
    hook_id = models.CharField(max_length=40, blank=True, default="", help_text="As the URL named it.")
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True, unpack_ipv4=True)
    body = models.TextField(blank=True, default="", help_text="The body, its secret masked, cut at 4,000 characters.")
    body_hash = models.CharField(max_length=64, blank=True, default="")
    alert_id = models.CharField(max_length=100, blank=True, default="")
    action = models.CharField(max_length=10, blank=True, default="")
    symbol = models.CharField(max_length=30, blank=True, default="")
    amount = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    price = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, db_index=True)
    code = models.CharField(max_length=50, blank=True, default="")
    reason = models.CharField(max_length=500, blank=True, default="")
    activity = models.ForeignKey("commands.Activity", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["endpoint", "status", "id"], name="webhookalert_queue")]

    def __str__(self) -> str:
        return f"alert {self.pk} {self.action or '?'} ({self.status})"
