"""An optimisation run: a grid or a seeded search over a strategy's parameters on stored candles (optionally
walk-forward validated), run by the worker, with its progress, a cancel flag and the results kept."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from exchanges.models import OwnedQuerySet
from strategies.models import StrategyConfig

# Rows kept of a finished run (best first); the heatmap and walk-forward report are stored beside them.
RESULTS_KEPT = 500
# A running job reports at least every second; this long without a report, its worker is taken for gone.
STALE_SECONDS = 60


class OptimizationRun(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="optimization_runs")
    config = models.ForeignKey(StrategyConfig, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="optimization_runs")
    strategy = models.CharField(max_length=50)
    params = models.JSONField(default=dict, help_text="The configuration's parameters (those not in the grid).")
    exchange = models.CharField(max_length=50)
    symbol = models.CharField(max_length=50)
    timeframe = models.CharField(max_length=10)
    start = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    settings = models.JSONField(default=dict)  # BacktestSettings: costs and the exits not in the grid
    grid = models.TextField(help_text="NAME=LOW:HIGH:STEP,... (the search space with trials)")
    trials = models.PositiveIntegerField(null=True, blank=True, help_text="Empty: every combination of the grid.")
    seed = models.IntegerField(default=42)
    objective = models.CharField(max_length=20, default="total_return")
    min_trades = models.PositiveIntegerField(default=1)
    walk_forward = models.PositiveSmallIntegerField(default=0, help_text="Windows; 0 = none.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    cancel_requested = models.BooleanField(default=False)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    best = models.JSONField(null=True, blank=True)
    results = models.JSONField(default=list, blank=True)
    heatmap = models.JSONField(null=True, blank=True)
    report = models.JSONField(null=True, blank=True)  # walk-forward windows and summary
    evaluated = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    candle_count = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="The job's last progress report.")
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.strategy} optimisation on {self.exchange} {self.symbol} {self.timeframe} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def seconds_left(self) -> float | None:
        """From the pace so far: elapsed / done * (total - done)."""
        if self.status != self.Status.RUNNING or not self.started_at or not self.done or not self.total:
            return None
        from django.utils import timezone

        elapsed = (timezone.now() - self.started_at).total_seconds()
        return max(0.0, elapsed / self.done * (self.total - self.done))

    @property
    def stale(self) -> bool:
        """Running, but no report for STALE_SECONDS: its worker stopped (killed, restarted)."""
        from django.utils import timezone

        beat = self.heartbeat_at or self.started_at
        return (self.status == self.Status.RUNNING and beat is not None
                and (timezone.now() - beat).total_seconds() > STALE_SECONDS)

    @property
    def mode(self) -> str:
        return "search" if self.trials else "grid"
