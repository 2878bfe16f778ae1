from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from . import services
from .models import User


@admin.register(User)
class ParleyUserAdmin(UserAdmin):
    ordering = ("-date_joined",)
    list_display = ("email", "first_name", "last_name", "is_approved", "is_staff", "date_joined")
    list_filter = ("is_approved", "is_staff", "is_active")
    search_fields = ("email", "first_name", "last_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Name", {"fields": ("first_name", "last_name")}),
        ("Status", {"fields": ("is_approved", "is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login", "last_seen")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "first_name", "last_name", "password1", "password2")}),)
    actions = ["approve", "delete_users"]

    @admin.action(description="Approve selected users")
    def approve(self, request, queryset):
        for user in queryset:
            services.user_approve(user=user)
        self.message_user(request, f"Approved {queryset.count()} user(s).")

    @admin.action(description="Delete selected users")
    def delete_users(self, request, queryset):
        count = 0
        for user in queryset.exclude(pk=request.user.pk):
            services.user_delete(user=user)
            count += 1
        self.message_user(request, f"Deleted {count} user(s).")
