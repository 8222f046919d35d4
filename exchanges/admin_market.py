"""Admin for market data and the simulated exchanges: read-only views, for superusers (wallets have no owner)."""

from django.contrib import admin

from exchanges.models import Candle, SimBalance, SimOrder, SimWallet


class ReadOnlySuperuserAdmin(admin.ModelAdmin):
    """Candles come from import/fetch commands and simulated state from the clients: never edited by hand."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


@admin.register(Candle)
class CandleAdmin(ReadOnlySuperuserAdmin):
    list_display = ("exchange", "symbol", "timeframe", "time", "open", "high", "low", "close", "volume")
    list_filter = ("exchange", "timeframe", "symbol")
    date_hierarchy = "time"
    show_full_result_count = False  # counting 100,000s of rows on every page is slow and tells little


class SimBalanceInline(admin.TabularInline):
    model = SimBalance
    fields = ("asset", "free", "used")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SimWallet)
class SimWalletAdmin(ReadOnlySuperuserAdmin):
    list_display = ("key", "created_at")
    search_fields = ("key",)
    inlines = [SimBalanceInline]


@admin.register(SimOrder)
class SimOrderAdmin(ReadOnlySuperuserAdmin):
    list_display = ("client_order_id", "wallet", "symbol", "side", "type", "amount", "price", "status", "filled",
                    "fee", "placed_at", "updated_at")
    list_filter = ("status", "type", "side", "symbol")
    search_fields = ("client_order_id", "wallet__key")
    list_select_related = ("wallet",)


@admin.register(SimBalance)
class SimBalanceAdmin(ReadOnlySuperuserAdmin):
    list_display = ("wallet", "asset", "free", "used")
    list_filter = ("asset",)
    search_fields = ("wallet__key", "asset")
    list_select_related = ("wallet",)
