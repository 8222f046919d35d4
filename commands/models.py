"""The audit of every command (and its pending confirmation), price alerts, and a user's trading preferences."""

from decimal import Decimal
from functools import partial

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from exchanges.models import OwnedQuerySet


class Door(models.TextChoices):
    """Where a command came from."""

    WEB = "web", _("Web page")
    API = "api", _("API")
    TELEGRAM = "telegram", _("Telegram")
    ASSISTANT = "assistant", _("Assistant")
    WEBHOOK = "webhook", _("Webhook")
    ADMIN = "admin", _("Admin")
    COMMAND = "command", _("Management command")
    WORKER = "worker", _("Worker")


class Activity(models.Model):
    """One entry of a user's activity: a command (who, from which door, what caused it, what came of it,
    and, while it waits for confirmation, its one-time pending id and expiry), or an event the worker
    reported (a price alert fired)."""

    class Status(models.TextChoices):
        RECEIVED = "received", _("Received")
        PENDING = "pending", _("Waiting for confirmation")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")
        CANCELED = "canceled", _("Canceled")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+", help_text=_("Who asked (the owner, or staff acting in the admin)."))
    door = models.CharField(max_length=20, choices=Door.choices)
    command = models.CharField(max_length=40, help_text=_("place_order, close_position, alert_fired, ..."))
    text = models.TextField(blank=True, default="", help_text=_("The text or payload that caused it, as received."))
    request = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder,
                               help_text=_("The command as asked."))
    payload = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder,
                               help_text=_("The command as it runs (exact amounts), once validated."))
    summary = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    code = models.CharField(max_length=50, blank=True, default="", help_text=_("Stable code of a refusal."))
    message = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    pending_id = models.CharField(max_length=32, unique=True, null=True, blank=True,
                                  help_text=_("The one-time id a confirmation names."))
    expires_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_door = models.CharField(max_length=20, choices=Door.choices, blank=True, default="")
    idempotency_key = models.CharField(max_length=64, blank=True, default="",
                                       help_text=_("A door's retry of the same request is this same entry."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activities"
        indexes = [models.Index(fields=["owner", "-created_at"], name="activity_owner_created")]
        constraints = [
            models.UniqueConstraint(fields=["owner", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                                    name="activity_unique_idempotency_key"),
        ]

    def __str__(self) -> str:
        return f"{self.command} ({self.door}, {self.status}): {self.summary or self.message}"[:200]

    @property
    def waiting(self) -> bool:
        return self.status == self.Status.PENDING and self.expires_at is not None and self.expires_at > timezone.now()


class PriceAlert(models.Model):
    """"Tell me when BTC/USDT goes above 70,000": checked by the worker once a minute (commands.alerts).

    The price comes from the exchange of `exchange_account` (its ticker), or, for a replay bot's market,
    from that bot's replay clock (`bot`). A one-shot alert fires once; a repeating one fires each time the
    price crosses to the alert's side again (it re-arms when the price is back on the other side)."""

    class Direction(models.TextChoices):
        ABOVE = "above", _("goes above")
        BELOW = "below", _("goes below")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FIRED = "fired", _("Fired")
        CANCELED = "canceled", _("Canceled")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="price_alerts")
    exchange_account = models.ForeignKey("exchanges.ExchangeAccount", null=True, blank=True,
                                         on_delete=models.CASCADE, related_name="price_alerts")
    bot = models.ForeignKey("bots.Bot", null=True, blank=True, on_delete=models.CASCADE, related_name="price_alerts",
                            help_text=_("A replay bot whose replayed price the alert watches."))
    symbol = models.CharField(max_length=30)
    direction = models.CharField(max_length=5, choices=Direction.choices)
    price = models.DecimalField(max_digits=36, decimal_places=16, validators=[MinValueValidator(0)])
    repeat = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE, db_index=True)
    armed = models.BooleanField(default=True, help_text=_("A repeating alert fires again only after re-arming."))
    fire_count = models.PositiveIntegerField(default=0)
    last_price = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(exchange_account__isnull=False) | models.Q(bot__isnull=False),
                name="price_alert_has_a_price_source"),
        ]

    def __str__(self) -> str:
        return f"{self.symbol} {self.direction} {self.price} ({self.status})"

    def is_met(self, last) -> bool:
        return last >= self.price if self.direction == self.Direction.ABOVE else last <= self.price


class TradingPreferences(models.Model):
    """Per user: whether paper and replay commands wait for confirmation too (live ones always do)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trading_preferences")
    confirm_simulated = models.BooleanField(
        default=False, help_text=_("Ask for confirmation of paper and replay orders too (live ones always are)."))

    class Meta:
        verbose_name_plural = "trading preferences"

    def __str__(self) -> str:
        return f"{self.user}: confirm paper/replay {'on' if self.confirm_simulated else 'off'}"

    @classmethod
    def of(cls, user) -> "TradingPreferences":
        return cls.objects.filter(user=user).first() or cls(user=user)


def _bot_default(name: str):
    from bots.models import Bot

    return Bot._meta.get_field(name).get_default()


PCT = {"max_digits": 6, "decimal_places": 4,
       "validators": [MinValueValidator(0), MaxValueValidator(1)]}


class ManualLimits(models.Model):
    """The risk limits of trading by hand on one exchange account (fractions; 0 turns a rule off, except the
    max position, where 0 allows no buy). Defaults: a new bot's."""

    account = models.OneToOneField("exchanges.ExchangeAccount", on_delete=models.CASCADE, related_name="manual_limits")
    max_position_pct = models.DecimalField(
        default=partial(_bot_default, "max_position_pct"), **PCT,
        help_text=_("Largest position per market, in percent of the account's value."))
    daily_loss_limit_pct = models.DecimalField(default=partial(_bot_default, "daily_loss_limit_pct"), **PCT)
    max_drawdown_pct = models.DecimalField(default=partial(_bot_default, "max_drawdown_pct"), **PCT)
    max_consecutive_losses = models.PositiveIntegerField(default=partial(_bot_default, "max_consecutive_losses"))
    loss_cooldown_minutes = models.PositiveIntegerField(default=partial(_bot_default, "loss_cooldown_minutes"))
    max_orders_per_hour = models.PositiveIntegerField(default=partial(_bot_default, "max_orders_per_hour"))
    max_open_positions = models.PositiveIntegerField(default=partial(_bot_default, "max_open_positions"),
                                                     help_text=_("Across all your bots and manual books together."))
    updated_at = models.DateTimeField(auto_now=True)

    FIELDS = ("max_position_pct", "daily_loss_limit_pct", "max_drawdown_pct", "max_consecutive_losses",
              "loss_cooldown_minutes", "max_orders_per_hour", "max_open_positions")

    class Meta:
        verbose_name_plural = "manual limits"

    def __str__(self) -> str:
        return f"manual-trading limits of {self.account_id}"

    @classmethod
    def of(cls, account) -> "ManualLimits":
        return cls.objects.filter(account=account).first() or cls(account=account)

    def risk_limits(self):
        from bots.risk import RiskLimits

        # No stop-loss/take-profit: a manual position is closed by hand (or by a price alert and a sell).
        return RiskLimits(**{name: getattr(self, name) for name in self.FIELDS},
                          stop_loss_pct=Decimal("0"), take_profit_pct=Decimal("0"))
