"""Exchange accounts: which exchange, which mode, and the API keys (encrypted at rest)."""

import uuid

import ccxt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from exchanges.secret_field import EncryptedSecretField


def validate_exchange_id(value: str) -> None:
    if value not in ccxt.exchanges:
        raise ValidationError(
            "%(value)s is not an exchange ccxt knows (for example: binance, kraken, okx, bybit, coinbase).",
            params={"value": value},
            code="unknown_exchange",
        )


class OwnedQuerySet(models.QuerySet):
    def for_user(self, user):
        """The one way views reach a user's rows: nobody else's ever come back."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(owner=user)


class ExchangeAccount(models.Model):
    class Mode(models.TextChoices):
        PAPER = "paper", "Paper (simulated fills, real prices)"
        TESTNET = "testnet", "Testnet / sandbox"
        LIVE = "live", "Live (real money)"

    class Status(models.TextChoices):
        UNTESTED = "untested", "Not tested yet"
        OK = "ok", "Connection OK"
        INVALID = "invalid", "Keys rejected"
        ERROR = "error", "Last test failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exchange_accounts")
    exchange_id = models.CharField("exchange", max_length=50, validators=[validate_exchange_id])
    label = models.CharField(max_length=100)
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.PAPER)
    api_key = EncryptedSecretField(blank=True, default="")
    api_secret = EncryptedSecretField(blank=True, default="")
    passphrase = EncryptedSecretField(blank=True, default="")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNTESTED)
    status_detail = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["owner", "label"], name="unique_exchange_label_per_owner")]

    def __str__(self) -> str:
        return f"{self.label} ({self.exchange_id}, {self.mode})"

    def masked(self, field: str) -> str:
        """The masked form of one secret for display; never raises, never shows the value."""
        try:
            secret = getattr(self, field)
        except Exception:
            return "(unreadable: key missing?)"
        return secret.masked() if secret else "—"

    @property
    def needs_keys(self) -> bool:
        return self.mode != self.Mode.PAPER
