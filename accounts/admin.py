from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from accounts.models import Profile


@admin.register(Profile)
class ProfileAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "time_zone", "entries_stopped_at")
    search_fields = ("user__username",)
    readonly_fields = ("entries_stopped_at",)
