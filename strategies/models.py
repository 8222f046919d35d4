"""A user's named strategy configurations, and the backtests run with them (kept and listed)."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from exchanges.models import OwnedQuerySet
from strategies.registry import STRATEGIES, InvalidParameters, build_strategy, strategy_choices


class StrategyConfig(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="strategy_configs")
    name = models.CharField(max_length=100)
    strategy = models.CharField(max_length=50, choices=strategy_choices)
    params = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="unique_strategy_config_per_owner")]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        try:
            self.params = build_strategy(self.strategy, self.params).values
        except InvalidParameters as exc:
            raise ValidationError({"params" if key != "strategy" else "strategy": f"{key}: {msg}"
                                   for key, msg in exc.errors.items()})

    def build(self):
        """The strategy object these settings describe (InvalidParameters if they no longer validate)."""
        return build_strategy(self.strategy, self.params)

    @property
    def strategy_label(self) -> str:
        cls = STRATEGIES.get(self.strategy)
        return gettext(cls.label) if cls else self.strategy

    def params_display(self) -> str:
        return ", ".join(f"{key}={value}" for key, value in self.params.items())


class Backtest(models.Model):
    """One run: what was asked (a snapshot of the strategy, so editing the config later changes nothing),
    its progress, and the results: metrics, trades, a downsampled equity curve and candles for the chart."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="backtests")
    config = models.ForeignKey(StrategyConfig, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="backtests")
    strategy = models.CharField(max_length=50)
    params = models.JSONField(default=dict)
    exchange = models.CharField(max_length=50)
    symbol = models.CharField(max_length=50)
    timeframe = models.CharField(max_length=10)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    settings = models.JSONField(default=dict)  # fee, slippage, stop_loss, take_profit, trailing, stake, cash
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    trades = models.JSONField(default=list, blank=True)
    equity = models.JSONField(default=list, blank=True)  # [[epoch ms, equity], ...] downsampled
    chart_candles = models.JSONField(default=list, blank=True)  # [[epoch ms, o, h, l, c], ...] downsampled
    candle_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.strategy} on {self.exchange} {self.symbol} {self.timeframe} ({self.status})"

    def clean(self):
        super().clean()
        from strategies.backtest import BacktestSettings

        defaults = BacktestSettings().as_dict()
        errors = BacktestSettings.errors({**defaults, **{k: v for k, v in (self.settings or {}).items()
                                                         if k in defaults}})
        if errors:
            raise ValidationError({"settings": [f"{name}: {message}" for name, message in errors.items()]})

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def config_name(self) -> str:
        return self.config.name if self.config else f"{self.strategy} (config deleted)"


class BacktestChart(models.Model):
    """A finished run's candles and equity aggregated into epoch-aligned buckets of `bucket` candles (a power
    of two, at most strategies.charts.LEVEL_ROWS rows): the chart's coarse views come from here, finer ones
    from the stored candles. `rows` is strategies.charts.Bars.to_bytes (float64, little-endian)."""

    backtest = models.OneToOneField(Backtest, on_delete=models.CASCADE, primary_key=True, related_name="chart")
    bucket = models.PositiveIntegerField()
    first_candle = models.DateTimeField()
    last_candle = models.DateTimeField()
    rows = models.BinaryField()

    def __str__(self) -> str:
        return f"chart of backtest {self.backtest_id} ({self.bucket} candles per row)"
