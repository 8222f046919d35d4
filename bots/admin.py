"""Admin for bots and their books: start/stop/pause/resume as actions; orders and events are read-only."""

from django.contrib import admin, messages

from accounts.admin_scoping import OwnerScopedAdmin
from bots import control
from bots.models import Bot, BotEvent, Fill, LiveMessage, LiveWatch, Order, PnLSnapshot, Position


def _control_action(name: str):
    def action(modeladmin, request, queryset):
        from commands.definitions import ControlBot
        from commands.service import submit

        done = 0
        for bot in queryset.select_related("exchange_account", "owner"):
            # Through the command service (door "admin"), audited on the owner's activity with the staff actor.
            outcome = submit(bot.owner, ControlBot(bot_id=bot.pk, action=name), door="admin", actor=request.user,
                             source_text=f"admin action {name} by {request.user.get_username()}")
            if outcome.done:
                done += 1
            else:
                modeladmin.message_user(request, outcome.message, messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{name.capitalize()}: {done} bot(s).", messages.SUCCESS)

    action.__name__ = f"{name}_bots"
    return admin.action(description=f"{name.capitalize()} the selected bots")(action)


@admin.register(Bot)
class BotAdmin(OwnerScopedAdmin):
    list_display = ("name", "owner", "symbol", "timeframe", "mode", "status", "status_reason", "last_candle_at")
    list_filter = ("status", "mode", "timeframe")
    search_fields = ("name", "symbol", "owner__username")
    readonly_fields = ("status", "status_reason", "status_changed_at", "halted_until", "last_candle_at",
                       "next_tick_at", "lease_until", "needs_reconcile", "equity_peak", "day_start_equity",
                       "day_start", "replay_started_at", "replay_offset", "created_at", "started_at", "stopped_at")
    actions = [_control_action(name) for name in control.ACTIONS]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser:
            # Only one's own accounts and strategies can be chosen.
            for field, model_field in (("exchange_account", "exchange_account"), ("strategy", "strategy")):
                if field in form.base_fields:
                    related = Bot._meta.get_field(model_field).related_model
                    form.base_fields[field].queryset = related.objects.for_user(request.user)
        return form


class ReadOnlyBooksAdmin(OwnerScopedAdmin):
    owner_field = "bot__owner"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyBooksAdmin):
    list_display = ("client_order_id", "bot", "side", "type", "amount", "status", "filled", "average", "fee",
                    "candle_at")
    list_filter = ("status", "side", "type")
    search_fields = ("client_order_id", "exchange_order_id", "bot__name")


@admin.register(Position)
class PositionAdmin(ReadOnlyBooksAdmin):
    list_display = ("bot", "symbol", "status", "quantity", "average_entry", "exit_price", "realised_pnl",
                    "exit_reason", "opened_at", "closed_at")
    list_filter = ("status", "exit_reason")


@admin.register(PnLSnapshot)
class PnLSnapshotAdmin(ReadOnlyBooksAdmin):
    list_display = ("bot", "time", "equity", "realised", "unrealised")


@admin.register(BotEvent)
class BotEventAdmin(ReadOnlyBooksAdmin):
    list_display = ("time", "bot", "kind", "source", "actor", "message")
    list_filter = ("kind", "source")
    search_fields = ("message", "bot__name")


@admin.register(Fill)
class FillAdmin(ReadOnlyBooksAdmin):
    list_display = ("time", "bot", "order", "side", "amount", "price", "fee")


@admin.register(LiveMessage)
class LiveMessageAdmin(admin.ModelAdmin):
    """The live-update log (not owned by anyone, so only superusers see it)."""

    list_display = ("id", "group", "created_at")
    list_filter = ("group",)

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and super().has_delete_permission(request, obj)


@admin.register(LiveWatch)
class LiveWatchAdmin(LiveMessageAdmin):
    """Which live groups someone watches (not owned by anyone, so only superusers see it)."""

    list_display = ("group", "until")
    list_filter = ()
