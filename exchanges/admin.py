"""Admin for exchange accounts: secrets appear masked and read-only; they are never editable in clear."""

from django.contrib import admin, messages

from accounts.admin_scoping import OwnerScopedAdmin
from exchanges.models import ExchangeAccount


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(OwnerScopedAdmin):
    list_display = ("label", "owner", "exchange_id", "mode", "masked_api_key", "status", "updated_at")
    list_filter = ("mode", "status", "exchange_id")
    search_fields = ("label", "exchange_id", "owner__username")
    readonly_fields = ("id", "masked_api_key", "masked_api_secret", "masked_passphrase", "status", "status_detail",
                       "created_at", "updated_at")
    fields = ("id", "owner", "label", "exchange_id", "mode", "masked_api_key", "masked_api_secret",
              "masked_passphrase", "status", "status_detail", "created_at", "updated_at")
    actions = ["test_connection"]

    @admin.display(description="API key")
    def masked_api_key(self, obj):
        return obj.masked("api_key")

    @admin.display(description="API secret")
    def masked_api_secret(self, obj):
        return obj.masked("api_secret")

    @admin.display(description="Passphrase")
    def masked_passphrase(self, obj):
        return obj.masked("passphrase")

    @admin.action(description="Test connection (load markets and balance)")
    def test_connection(self, request, queryset):
        from exchanges.connection import test_connection

        for account in queryset:
            ok, message = test_connection(account)
            self.message_user(request, f"{account.label}: {message}", messages.SUCCESS if ok else messages.ERROR)


import exchanges.admin_market  # noqa: E402,F401  (candles and simulated exchanges)
