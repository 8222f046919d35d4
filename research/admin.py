"""Admin for optimisation runs (read-only: runs start from the research page, which queues the job)."""

from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from research.models import OptimizationRun


@admin.register(OptimizationRun)
class OptimizationRunAdmin(OwnerScopedAdmin):
    list_display = ("id", "owner", "strategy", "symbol", "timeframe", "status", "done", "total", "created_at")
    list_filter = ("status", "strategy")
    exclude = ("results", "heatmap", "report")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
