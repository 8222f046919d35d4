from django.contrib import admin

from strategies.models import Backtest, StrategyConfig


@admin.register(StrategyConfig)
class StrategyConfigAdmin(admin.ModelAdmin):
    list_display = ["name", "strategy", "owner", "updated_at"]
    list_filter = ["strategy"]
    search_fields = ["name", "owner__username"]


@admin.register(Backtest)
class BacktestAdmin(admin.ModelAdmin):
    list_display = ["id", "owner", "strategy", "exchange", "symbol", "timeframe", "status", "created_at"]
    list_filter = ["status", "strategy"]
    exclude = ["trades", "equity", "chart_candles"]  # large JSON: the result page shows them
    readonly_fields = ["status", "progress", "metrics", "error", "candle_count", "created_at", "finished_at"]
