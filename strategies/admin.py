"""Admin for strategy configurations (parameters validated by the model) and backtest runs (read-only)."""

from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from strategies.models import Backtest, BacktestChart, StrategyConfig


@admin.register(StrategyConfig)
class StrategyConfigAdmin(OwnerScopedAdmin):
    list_display = ("name", "strategy", "owner", "updated_at")
    list_filter = ("strategy",)
    search_fields = ("name", "owner__username")


@admin.register(Backtest)
class BacktestAdmin(OwnerScopedAdmin):
    list_display = ("id", "owner", "strategy", "exchange", "symbol", "timeframe", "status", "created_at")
    list_filter = ("status", "strategy")
    exclude = ("trades", "equity", "chart_candles")  # large JSON: the result page shows them

    def has_add_permission(self, request):
        return False  # runs start from the backtest page, which queues the job

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(BacktestChart)
class BacktestChartAdmin(OwnerScopedAdmin):
    """The stored chart level of a run (binary rows, not shown): listed so it can be seen and is deleted
    with its run."""

    owner_field = "backtest__owner"
    list_display = ("backtest", "bucket", "first_candle", "last_candle")
    exclude = ("rows",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
