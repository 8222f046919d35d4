"""Tokens and webhooks are made on the Settings page, the bot API or manage.py (never typed in here); the
admin shows them (never a hash or a secret), revokes tokens and shows the alert audit."""

from django.contrib import admin
from django.utils import timezone

from accounts.admin_scoping import OwnerScopedAdmin
from api.models import ApiToken, WebhookAlert, WebhookEndpoint


@admin.register(ApiToken)
class ApiTokenAdmin(OwnerScopedAdmin):
    list_display = ("name", "owner", "scope", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    search_fields = ("name", "owner__username", "prefix")
    fields = ("owner", "name", "scope", "prefix", "created_at", "expires_at", "last_used_at", "last_used_ip",
              "revoked_at")  # never the hash
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OwnerScopedAdmin):
    list_display = ("bot", "owner", "active", "allowed_actions", "live_confirmation", "accepted_count",
                    "refused_count", "duplicate_count", "last_alert_at")
    fields = ("owner", "bot", "active", "allowed_actions", "live_confirmation", "accepted_count", "refused_count",
              "duplicate_count", "last_alert_at", "last_refusal", "created_at")  # never the id or the secret hash
    readonly_fields = ("owner", "bot", "accepted_count", "refused_count", "duplicate_count", "last_alert_at",
                       "last_refusal", "created_at")

    def has_add_permission(self, request):
        return False


@admin.register(WebhookAlert)
class WebhookAlertAdmin(OwnerScopedAdmin):
    list_display = ("received_at", "owner", "endpoint", "action", "symbol", "status", "code", "source_ip")
    list_filter = ("status",)
    fields = ("owner", "endpoint", "received_at", "source_ip", "body", "alert_id", "action", "symbol", "amount",
              "price", "status", "code", "reason", "activity", "processed_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
