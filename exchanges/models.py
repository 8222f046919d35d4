"""Exchange accounts: which exchange, which mode, and the API keys (encrypted at rest)."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from exchanges.encryption import DecryptionError
from exchanges.secret_field import EncryptedSecretField, encrypted_fields
from exchanges.testnets import has_testnet
from tradingbot.lazy_import import lazy_module

ccxt = lazy_module("ccxt")  # about 0.3 s: imported where an exchange is really used

UNREADABLE_KEYS_MESSAGE = _(
    "The stored keys cannot be read (the encryption key that saved them is not configured, or the stored value "
    "was damaged or moved). Enter them again."
)


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
        PAPER = "paper", _("Paper (simulated fills, real prices)")
        TESTNET = "testnet", _("Testnet / sandbox")
        LIVE = "live", _("Live (real money)")

    class Status(models.TextChoices):
        UNTESTED = "untested", _("Not tested yet")
        OK = "ok", _("Connection OK")
        INVALID = "invalid", _("Keys rejected")
        ERROR = "error", _("Last test failed")

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

    def clean(self):
        super().clean()
        if self.mode == self.Mode.TESTNET and self.exchange_id and not has_testnet(self.exchange_id):
            raise ValidationError({"mode": ValidationError(
                _("%(exchange)s has no testnet (sandbox) that this app can reach. Use paper mode to try it "
                  "without money, or live mode."),
                code="no_testnet", params={"exchange": self.exchange_id},
            )})

    def masked(self, field: str) -> str:
        """The masked form of one secret for display; never raises, never shows the value."""
        try:
            secret = getattr(self, field)
        except Exception:
            return "(unreadable: key missing?)"
        return secret.masked() if secret else "—"

    def unreadable_secrets(self) -> list[str]:
        """Names of the stored secrets that cannot be decrypted (key removed, value damaged or moved)."""
        unreadable = []
        for secret_field in encrypted_fields(type(self)):
            try:
                getattr(self, secret_field.name)
            except DecryptionError:
                unreadable.append(secret_field.name)
        return unreadable

    @property
    def needs_keys(self) -> bool:
        return self.mode != self.Mode.PAPER


class Candle(models.Model):
    """One OHLCV candle as the exchange published it; `time` is the open time (UTC).

    Prices are market data, not ledger money: float64 like the numpy arrays they feed, not Decimal.
    """

    exchange = models.CharField(max_length=50)
    symbol = models.CharField(max_length=30)
    timeframe = models.CharField(max_length=5)
    time = models.DateTimeField()
    open = models.FloatField()
    high = models.FloatField()
    low = models.FloatField()
    close = models.FloatField()
    volume = models.FloatField()

    class Meta:
        ordering = ["exchange", "symbol", "timeframe", "time"]
        constraints = [
            models.UniqueConstraint(fields=["exchange", "symbol", "timeframe", "time"], name="unique_candle"),
        ]

    def __str__(self) -> str:
        return f"{self.exchange} {self.symbol} {self.timeframe} {self.time:%Y-%m-%d %H:%M}"


SIM_MONEY = {"max_digits": 36, "decimal_places": 16}


class SimWallet(models.Model):
    """The balances and orders of one simulated exchange (paper or replay), e.g. "account:<uuid>", "bot:<id>"."""

    key = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.key


class SimBalance(models.Model):
    wallet = models.ForeignKey(SimWallet, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=20)
    free = models.DecimalField(default=0, **SIM_MONEY)
    used = models.DecimalField(default=0, **SIM_MONEY)

    class Meta:
        ordering = ["wallet", "asset"]
        constraints = [models.UniqueConstraint(fields=["wallet", "asset"], name="unique_sim_balance")]

    def __str__(self) -> str:
        return f"{self.asset} {self.free} free, {self.used} used"

    @property
    def total(self):
        return self.free + self.used


class SimOrder(models.Model):
    """An order on a simulated exchange, processed lazily candle by candle up to the exchange's now()."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("order status", "Open")
        CLOSED = "closed", _("Filled")
        CANCELED = "canceled", _("Canceled")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")

    wallet = models.ForeignKey(SimWallet, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4)
    type = models.CharField(max_length=12)
    amount = models.DecimalField(null=True, blank=True, **SIM_MONEY)
    quote_amount = models.DecimalField(null=True, blank=True, **SIM_MONEY)
    price = models.DecimalField(null=True, blank=True, **SIM_MONEY)
    stop_price = models.DecimalField(null=True, blank=True, **SIM_MONEY)
    # Bracket (long exit): either fractions of entry_price or absolute prices; see exchanges.clients.simulated.
    bracket = models.JSONField(default=dict, blank=True)
    peak = models.FloatField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    filled = models.DecimalField(default=0, **SIM_MONEY)
    cost = models.DecimalField(default=0, **SIM_MONEY)
    fee = models.DecimalField(default=0, **SIM_MONEY)
    reserved = models.DecimalField(default=0, **SIM_MONEY)
    reason = models.CharField(max_length=200, blank=True, default="")
    placed_at = models.DateTimeField(help_text=_("Exchange-clock time the order was placed."))
    # Open time of the last candle this order was checked against: processing resumes after it.
    processed_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(null=True, blank=True, help_text=_("Exchange-clock time of the last change."))

    class Meta:
        ordering = ["wallet", "id"]
        constraints = [
            models.UniqueConstraint(fields=["wallet", "client_order_id"], name="unique_sim_client_order_id"),
        ]
        indexes = [models.Index(fields=["wallet", "status"], name="simorder_wallet_status")]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.type} {self.symbol} {self.status}"

    @property
    def exchange_order_id(self) -> str:
        return f"sim-{self.pk}"
