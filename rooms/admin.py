from django.contrib import admin

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


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("id", "room", "author", "created_at")
    raw_id_fields = ("room", "author")
    search_fields = ("body",)
