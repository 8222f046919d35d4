"""Admin for the assistant: requests are read-only audit rows; preferences are editable."""

from django.contrib import admin

from accounts.admin_scoping import OwnerScopedAdmin
from assistant.models import AssistantPreference, AssistantRequest


@admin.register(AssistantRequest)
class AssistantRequestAdmin(OwnerScopedAdmin):
    list_display = ("created_at", "owner", "door", "text", "engine", "status", "outcome", "tokens", "duration_ms")
    list_filter = ("status", "engine", "outcome", "door")
    search_fields = ("text", "owner__username")
    readonly_fields = [f.name for f in AssistantRequest._meta.fields]
    list_select_related = ("owner",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AssistantPreference)
class AssistantPreferenceAdmin(OwnerScopedAdmin):
    list_display = ("owner", "default_quote", "use_llm", "updated_at")
    search_fields = ("owner__username",)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if not request.user.is_superuser and "owner" in form.base_fields:
            form.base_fields["owner"].queryset = form.base_fields["owner"].queryset.filter(pk=request.user.pk)
        return form
