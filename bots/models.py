"""Bots, their orders, fills, positions and P&L, and the live-update log."""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from exchanges.models import OwnedQuerySet
from strategies import trade_defaults


class LiveMessage(models.Model):
    """One live update (HTML fragments for htmx out-of-band swaps) for a channel-layer group.

    Written by whichever process produced it (usually the worker). It is the relay between processes
    when there is no Redis, and the catch-up log for a page whose websocket reconnects; old rows are pruned.
    """

    group = models.CharField(max_length=100)
    html = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["group", "id"], name="livemessage_group_id")]


class LiveWatch(models.Model):
    """Someone watches a live group (a page is open on it) until `until`: only watched groups get their
    fragments rendered on a tick (bots.live). Pages and their sockets renew it; it lapses by itself."""

    group = models.CharField(max_length=100, unique=True)
    until = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.group} until {self.until:%Y-%m-%d %H:%M:%S}"


class BotQuerySet(OwnedQuerySet):
    def listed(self):
        """The bots a trader sees in lists: strategy bots that are not archived (no manual books)."""
        return self.filter(kind=Bot.Kind.STRATEGY, archived_at__isnull=True)

    def manual_books(self):
        return self.filter(kind=Bot.Kind.MANUAL)


# Ranges a bot's settings must keep: outside them a bot shows running and never ticks (replay speed 0), or
# its clock overflows (a speed near int64 max, a start in year 1).
MAX_REPLAY_SPEED = 10_000  # a year of 5-minute candles in under an hour
EARLIEST_REPLAY_START = datetime(2009, 1, 1, tzinfo=UTC)  # before any crypto market existed


def validate_replay_start(value) -> None:
    if value is None:
        return
    if value < EARLIEST_REPLAY_START:
        raise ValidationError(_("A replay cannot start before %(earliest)s: there are no candles that old."),
                              code="replay_too_early", params={"earliest": f"{EARLIEST_REPLAY_START:%Y-%m-%d}"})
    if value > timezone.now():
        raise ValidationError(_("The replay must start in the past (it replays stored candles)."),
                              code="replay_in_future")


class Bot(models.Model):
    """One trading bot: what it trades, where, with which strategy and risk limits, and its state.

    A row of kind "manual" is not a bot that trades by itself but the book of the orders a user places by hand
    on one exchange account and symbol (commands.manual_book): it reuses the orders, fills, positions and P&L
    of the ledger, never ticks, and is not listed among the bots.
    """

    class Kind(models.TextChoices):
        STRATEGY = "strategy", _("Strategy bot")
        MANUAL = "manual", _("Manual book (orders placed by hand)")

    class Mode(models.TextChoices):
        REPLAY = "replay", _("Replay (stored candles, simulated clock)")
        PAPER = "paper", _("Paper (real prices, simulated fills)")
        LIVE = "live", _("Live (real orders)")

    class SignalSource(models.TextChoices):
        STRATEGY = "strategy", _("Its strategy")
        WEBHOOK = "webhook", _("External signals (webhook alerts)")

    class Status(models.TextChoices):
        STOPPED = "stopped", _("Stopped")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        HALTED = "halted", _("Halted by a risk rule")
        ERROR = "error", _("Error")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bots")
    name = models.CharField(max_length=100)
    exchange_account = models.ForeignKey("exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="bots")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STRATEGY, db_index=True)
    # Null only for a manual book (or an archived bot whose configuration was deleted later).
    strategy = models.ForeignKey("strategies.StrategyConfig", on_delete=models.PROTECT, related_name="bots",
                                 null=True, blank=True)
    symbol = models.CharField(max_length=30, help_text=_("Market symbol, e.g. BTC/USDT"))
    timeframe = models.CharField(max_length=5, default="5m")
    mode = models.CharField(max_length=10, choices=Mode.choices, default=Mode.PAPER)
    signal_source = models.CharField(
        max_length=10, choices=SignalSource.choices, default=SignalSource.STRATEGY,
        help_text="Webhook: the tick keeps the books, stops and limits but never trades on the strategy's signal; "
                  "the orders come from alerts (api.webhooks) through the command service.")
    stake = models.DecimalField(
        max_digits=6, decimal_places=4, default=trade_defaults.STAKE,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text=_("Fraction of equity to put into one entry (1 = all), further capped by max position."),
    )
    starting_balance = models.DecimalField(
        max_digits=24, decimal_places=8, default=trade_defaults.STARTING_BALANCE,
        validators=[MinValueValidator(Decimal("0.00000001"))],
        help_text=_("Quote currency in the simulated wallet of a replay or paper bot."),
    )
    fee = models.DecimalField(
        max_digits=6, decimal_places=5, default=trade_defaults.FEE,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("0.1"))],
        help_text=_("Fee per side of a simulated exchange (0.001 = 0.1 %)."),
    )

    # Risk settings (fractions: 0.10 = 10 %); 0 disables a rule where that makes sense.
    max_position_pct = models.DecimalField(max_digits=6, decimal_places=4, default=trade_defaults.MAX_POSITION,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))])
    daily_loss_limit_pct = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.05"), validators=[
        MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))])
    stop_loss_pct = models.DecimalField(max_digits=6, decimal_places=4, default=trade_defaults.STOP_LOSS, validators=[
        MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))])
    take_profit_pct = models.DecimalField(max_digits=6, decimal_places=4, default=trade_defaults.TAKE_PROFIT,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("10"))])
    trailing_stop_pct = models.DecimalField(max_digits=6, decimal_places=4, default=trade_defaults.TRAILING_STOP,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))])
    max_drawdown_pct = models.DecimalField(max_digits=6, decimal_places=4, default=Decimal("0.25"), validators=[
        MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))])
    max_consecutive_losses = models.PositiveIntegerField(default=5, validators=[MaxValueValidator(1000)])
    loss_cooldown_minutes = models.PositiveIntegerField(default=60, validators=[MaxValueValidator(60 * 24 * 365)])
    max_orders_per_hour = models.PositiveIntegerField(default=20, validators=[MaxValueValidator(10_000)])
    max_open_positions = models.PositiveIntegerField(default=5, validators=[MaxValueValidator(1000)],
                                                     help_text=_("Across all of the owner's bots."))
    flatten_on_halt = models.BooleanField(
        default=False, help_text=_("Sell the open position when a halt rule trips (otherwise only stop buying).")
    )

    # State.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.STOPPED, db_index=True)
    status_reason = models.CharField(max_length=500, blank=True, default="")
    status_changed_at = models.DateTimeField(null=True, blank=True)
    halted_until = models.DateTimeField(null=True, blank=True, help_text=_("A timed halt or cooldown ends then."))
    last_candle_at = models.DateTimeField(null=True, blank=True, help_text=_("Open time of the last processed candle."))
    next_tick_at = models.DateTimeField(
        null=True, blank=True, db_index=True,
        help_text=_("Wall-clock time by which the next candle will have closed (on the bot's exchange clock)."),
    )
    lease_until = models.DateTimeField(null=True, blank=True, help_text=_("A worker holds this bot until then."))
    needs_reconcile = models.BooleanField(
        default=True, help_text=_("Compare open orders and the position with the exchange before the next tick.")
    )
    reconciled_at = models.DateTimeField(
        null=True, blank=True, help_text="Last comparison of open orders, fills and balance with the exchange.")
    equity_peak = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    day_start_equity = models.DecimalField(max_digits=24, decimal_places=8, null=True, blank=True)
    day_start = models.DateField(null=True, blank=True)

    # Replay: the clock starts at replay_start when the bot starts and runs replay_speed times faster.
    replay_start = models.DateTimeField(null=True, blank=True, validators=[validate_replay_start])
    replay_speed = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(1), MaxValueValidator(MAX_REPLAY_SPEED)])
    replay_started_at = models.DateTimeField(null=True, blank=True, help_text=_("Wall-clock time of the replay start."))
    replay_offset = models.DurationField(
        null=True, blank=True, help_text=_("Replay time already elapsed before the last start (resume keeps it).")
    )

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    archived_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Archived: hidden from the lists, its trades kept for the P&L history."))

    objects = BotQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["exchange_account", "symbol"], condition=models.Q(kind="manual"),
                                    name="one_manual_book_per_account_symbol"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.symbol} {self.timeframe}, {self.mode})"

    def clean(self):
        super().clean()
        if self.mode == self.Mode.REPLAY and self.replay_start is None:
            raise ValidationError({"replay_start": ValidationError(
                _("A replay bot needs the time of the first candle to replay."), code="replay_start_missing")})

    @property
    def wallet_key(self) -> str:
        """The simulated wallet of a replay or paper bot."""
        return f"bot:{self.pk}"

    @property
    def is_manual(self) -> bool:
        return self.kind == self.Kind.MANUAL


class BookQuerySet(models.QuerySet):
    """Orders, fills and positions belong to a user through their bot (or manual book)."""

    def for_user(self, user):
        if not getattr(user, "is_authenticated", False):
            return self.none()
        return self.filter(bot__owner=user)


class Order(models.Model):
    """An order as we asked for it and as the exchange last described it."""

    class Side(models.TextChoices):
        BUY = "buy", _("Buy")
        SELL = "sell", _("Sell")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending (recorded, not yet acknowledged)")
        UNKNOWN = "unknown", _("Unknown (reconcile with the exchange)")
        OPEN = "open", pgettext_lazy("order status", "Open")
        CLOSED = "closed", _("Filled")
        CANCELED = "canceled", _("Canceled")
        REJECTED = "rejected", _("Rejected")
        EXPIRED = "expired", _("Expired")
        LOST = "lost", _("Lost (sent, never known to the exchange)")

    UNSETTLED = (Status.PENDING, Status.UNKNOWN)

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="orders")
    client_order_id = models.CharField(max_length=36, unique=True)
    exchange_order_id = models.CharField(max_length=100, blank=True, default="")
    symbol = models.CharField(max_length=30)
    side = models.CharField(max_length=4, choices=Side.choices)
    type = models.CharField(max_length=20, default="market")
    amount = models.DecimalField(max_digits=36, decimal_places=16)
    price = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    filled = models.DecimalField(max_digits=36, decimal_places=16, default=Decimal("0"))
    average = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    fee = models.DecimalField(max_digits=36, decimal_places=16, default=Decimal("0"))
    fee_currency = models.CharField(max_length=20, blank=True, default="")
    reason = models.CharField(max_length=50, blank=True, default="", help_text=_("signal, flatten, stop_loss, ..."))
    candle_at = models.DateTimeField(help_text=_("Open time of the candle whose signal caused it."))
    raw = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    exchange_time = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was last sent (none: never sent); an unknown order is looked up "
                                         "for the exchange's lookup window from then.")

    objects = BookQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.symbol} ({self.client_order_id}, {self.status})"


class Fill(models.Model):
    """A part of an order that was executed; fee in quote currency."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fills")
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="fills")
    side = models.CharField(max_length=4, choices=Order.Side.choices)
    amount = models.DecimalField(max_digits=36, decimal_places=16)
    price = models.DecimalField(max_digits=36, decimal_places=16)
    fee = models.DecimalField(max_digits=36, decimal_places=16, default=Decimal("0"))
    base_fee = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"),
        help_text="Fee taken from the bought coin (base currency), so less is held than bought; `fee` is its "
                  "value in the quote currency.")
    time = models.DateTimeField()

    objects = BookQuerySet.as_manager()

    class Meta:
        ordering = ["time", "id"]
        # The newest-N fills of a bot (trade log, live update) read this index instead of sorting all of them.
        indexes = [models.Index(fields=["bot", "time"], name="fill_bot_time")]


class Position(models.Model):
    """A long position from entry to exit; at most one open per bot. Closed ones are the bot's trades."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("position status", "Open")
        CLOSED = "closed", _("Closed")

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="positions")
    symbol = models.CharField(max_length=30)
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN, db_index=True)
    quantity = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"), help_text=_("Still open (base currency).")
    )
    entry_quantity = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"), help_text=_("Bought in all (base currency).")
    )
    average_entry = models.DecimalField(max_digits=36, decimal_places=16, default=Decimal("0"))
    cost = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"), help_text=_("Quote spent on entry, fees included.")
    )
    proceeds = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"), help_text=_("Quote received on exit, after fees.")
    )
    exit_price = models.DecimalField(max_digits=36, decimal_places=16, null=True, blank=True)
    exit_reason = models.CharField(max_length=50, blank=True, default="")
    realised_pnl = models.DecimalField(max_digits=36, decimal_places=16, default=Decimal("0"))
    dust = models.DecimalField(
        max_digits=36, decimal_places=16, default=Decimal("0"),
        help_text="Base currency left below the market's amount step when the position closed (cannot be sold).")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)

    objects = BookQuerySet.as_manager()

    class Meta:
        ordering = ["opened_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["bot"], condition=models.Q(status="open"), name="one_open_position_per_bot")
        ]


class PnLSnapshot(models.Model):
    """Equity and P&L of a bot at one moment (quote currency)."""

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="pnl_snapshots")
    time = models.DateTimeField()
    equity = models.DecimalField(max_digits=36, decimal_places=16)
    realised = models.DecimalField(max_digits=36, decimal_places=16)
    unrealised = models.DecimalField(max_digits=36, decimal_places=16)

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["bot", "time"], name="pnlsnapshot_bot_time")]


class BotEvent(models.Model):
    """The audit trail: every start, stop, signal, risk refusal, order and error, and who caused it."""

    class Kind(models.TextChoices):
        START = "start", _("Started")
        STOP = "stop", _("Stopped")
        PAUSE = "pause", _("Paused")
        RESUME = "resume", _("Resumed")
        SIGNAL = "signal", _("Signal")
        RISK_REFUSAL = "risk_refusal", _("Refused by a risk rule")
        HALT = "halt", _("Halted")
        ORDER = "order", _("Order")
        FILL = "fill", _("Fill")
        RECONCILE = "reconcile", _("Reconciled with the exchange")
        ERROR = "error", _("Error")
        SETTINGS = "settings", _("Settings changed")

    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="events")
    time = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.CharField(max_length=1000)
    data = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(max_length=20, default="worker", help_text=_("web, api, admin, command, worker, risk"))

    class Meta:
        ordering = ["time", "id"]
        indexes = [models.Index(fields=["bot", "time"], name="botevent_bot_time")]

    def __str__(self) -> str:
        return f"{self.time:%Y-%m-%d %H:%M:%S} {self.kind}: {self.message}"
