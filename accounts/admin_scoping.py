"""Admin scoping: a superuser sees every row; any other staff user only the rows they own, and cannot hand a
row to someone else (the owner is read-only for them, and set to themselves on add)."""

from django.contrib import admin


class OwnerScopedAdmin(admin.ModelAdmin):
    owner_field = "owner"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{self.owner_field: request.user})

    def get_readonly_fields(self, request, obj=None):
        readonly = tuple(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser and "__" not in self.owner_field and self.owner_field not in readonly:
            readonly += (self.owner_field,)
        return readonly

    def has_delete_permission(self, request, obj=None):
        if not super().has_delete_permission(request, obj):
            return False
        if obj is None or request.user.is_superuser:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def save_model(self, request, obj, form, change):
        if not request.user.is_superuser:
            if not change:
                setattr(obj, self.owner_field, request.user)
            elif "__" not in self.owner_field and getattr(obj, f"{self.owner_field}_id") != request.user.pk:
                raise PermissionError("staff can change only their own rows")
        super().save_model(request, obj, form, change)
