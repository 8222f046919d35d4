"""Links are made only by the deep link (never typed in here); admin can look and delete (unlink)."""

from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from telegram_bot.models import LinkToken, TelegramLink


@admin.register(TelegramLink)
class TelegramLinkAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "telegram_user_id", "username", "active", "linked_at", "last_seen_at")
    list_filter = ("active",)
    search_fields = ("user__username", "username")
    readonly_fields = ("user", "telegram_user_id", "chat_id", "username", "language_code", "active", "linked_at",
                       "blocked_at", "last_seen_at", "next_send_at")

    def has_add_permission(self, request):
        return False


@admin.register(LinkToken)
class LinkTokenAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "created_at", "expires_at", "used_at")
    fields = ("user", "created_at", "expires_at", "used_at", "used_by_telegram_user_id")  # never the hash
    readonly_fields = fields

    def has_add_permission(self, request):
        return False
