"""Admin scoping: a superuser sees every row; any other staff user only the rows they own."""

from django.contrib import admin


class OwnerScopedAdmin(admin.ModelAdmin):
    owner_field = "owner"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.owner_field: request.user})

    def save_model(self, request, obj, form, change):
        if not change and not request.user.is_superuser:
            setattr(obj, self.owner_field, request.user)
        super().save_model(request, obj, form, change)
