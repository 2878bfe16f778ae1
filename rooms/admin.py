from django.contrib import admin

from . import services
from .models import Membership, Message, Room


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Room)
class RoomAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "is_private", "is_ephemeral", "created_at")
    list_filter = ("kind", "is_private", "is_ephemeral")
    search_fields = ("name", "slug")
    inlines = [MembershipInline]

    def save_formset(self, request, form, formset, change):
        """Add and remove members through the services, so that everyone hears of it as from the API."""
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        room = form.instance
        for membership in formset.save(commit=False):
            if membership.pk is None:
                services.room_invite(room=room, inviter=request.user, invitee=membership.user)
            else:
                membership.save()
        for membership in formset.deleted_objects:
            services.room_leave(room=room, user=membership.user)
        formset.save_m2m()


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "author", "created_at")
    raw_id_fields = ("room", "author")
    search_fields = ("body",)
