from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from notify.models import Notification, NotificationSettings


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "order_filled", "exit_hit", "bot_problem", "alert_fired", "daily_summary",
                    "daily_summary_hour")
    readonly_fields = ("daily_summary_sent_at",)


@admin.register(Notification)
class NotificationAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("created_at", "user", "kind", "text_key", "status", "attempts", "sent_at")
    list_filter = ("status", "kind")
    readonly_fields = ("user", "kind", "text_key", "params", "silent", "status", "attempts", "next_attempt_at",
                       "claim", "claimed_at", "created_at", "sent_at", "error")

    def has_add_permission(self, request):
        return False
