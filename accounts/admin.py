"""Admin-wide rules: the admin's login is throttled like the site's, and the django-q2 admin (task results of
every user, schedules that run any Python function in the worker) is for superusers only."""

from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.models import Profile, ThrottleCounter

admin.site.login_form = ThrottledAdminAuthenticationForm


class SuperuserOnlyAdmin:
    """Mixed in front of a ModelAdmin: nobody but an active superuser sees, adds, changes or deletes anything."""

    @staticmethod
    def _superuser(request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_module_permission(self, request):
        return self._superuser(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._superuser(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._superuser(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._superuser(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._superuser(request) and super().has_delete_permission(request, obj)


def restrict_to_superusers(app_label: str) -> None:
    """Re-register every admin of an app (already registered: INSTALLED_APPS lists it before accounts) with
    SuperuserOnlyAdmin in front."""
    for model, model_admin in list(admin.site._registry.items()):
        if model._meta.app_label != app_label or isinstance(model_admin, SuperuserOnlyAdmin):
            continue
        restricted = type(f"SuperuserOnly{type(model_admin).__name__}", (SuperuserOnlyAdmin, type(model_admin)), {})
        admin.site.unregister(model)
        admin.site.register(model, restricted)


restrict_to_superusers("django_q")


@admin.register(ThrottleCounter)
class ThrottleCounterAdmin(SuperuserOnlyAdmin, admin.ModelAdmin):
    """Login and reset throttle buckets (keys are hashes): a superuser can look, or delete one to lift a lockout."""

    list_display = ("key", "count", "window_ends")
    readonly_fields = ("key", "count", "window_ends")
    ordering = ("-window_ends",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Profile)
class ProfileAdmin(OwnerScopedAdmin):
    owner_field = "user"
    list_display = ("user", "time_zone", "entries_stopped_at")
    search_fields = ("user__username",)
    readonly_fields = ("entries_stopped_at",)
