"""Admin: the activity log (read-only: the audit of every command), price alerts (cancel through the command
service), trading preferences and manual-trading limits. Owner-scoped for staff who are not superusers."""

from django.contrib import admin, messages

from accounts.admin_scoping import OwnerScopedAdmin
from commands.models import Activity, ManualLimits, PriceAlert, TradingPreferences


@admin.register(Activity)
class ActivityAdmin(OwnerScopedAdmin):
    list_display = ("created_at", "owner", "door", "command", "status", "summary", "message")
    list_filter = ("status", "door", "command")
    search_fields = ("summary", "message", "text", "owner__username")
    # The pending id is a one-time confirmation secret of its owner: not shown here.
    exclude = ("pending_id",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.action(description="Cancel the selected alerts (through the command service)")
def cancel_alerts(modeladmin, request, queryset):
    from commands.definitions import CancelAlert
    from commands.service import submit

    done = 0
    for alert in queryset.select_related("owner"):
        outcome = submit(alert.owner, CancelAlert(alert_id=alert.pk), door="admin", actor=request.user,
                         source_text=f"admin action by {request.user.get_username()}")
        if outcome.done:
            done += 1
        else:
            modeladmin.message_user(request, f"{alert}: {outcome.message}", messages.WARNING)
    if done:
        modeladmin.message_user(request, f"Canceled {done} alert(s).", messages.SUCCESS)


@admin.register(PriceAlert)
class PriceAlertAdmin(OwnerScopedAdmin):
    list_display = ("symbol", "owner", "direction", "price", "repeat", "status", "fire_count", "last_price",
                    "last_checked_at")
    list_filter = ("status", "direction", "repeat")
    search_fields = ("symbol", "note", "owner__username")
    readonly_fields = ("status", "armed", "fire_count", "last_price", "last_checked_at", "last_error", "fired_at")
    actions = [cancel_alerts]

    def has_add_permission(self, request):
        return False  # alerts are made through the command service (the Alerts page, later doors)

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TradingPreferences)
class TradingPreferencesAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "confirm_simulated")


@admin.register(ManualLimits)
class ManualLimitsAdmin(OwnerScopedAdmin):
    owner_field = "account__owner"
    list_display = ("account", "max_position_pct", "daily_loss_limit_pct", "max_orders_per_hour", "max_open_positions")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # changed through the command service, from the account page
