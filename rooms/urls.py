from django.urls import path

from . import api, bots_api, files, views

urlpatterns = [
    # First: every client asks for it all the time, and Django tries the patterns in order.
    path("api/events", api.events_view, name="api_events"),
    path("", views.home, name="home"),
    path("rooms/", views.room_list, name="room_list"),
    path("rooms/<slug:slug>/", views.room_detail, name="room_detail"),
    path("rooms/<slug:slug>/join", views.room_join, name="room_join"),
    path("people/", views.directory, name="directory"),
    path("bots/", views.bot_page, name="bots"),
    path("bots/<int:bot_id>/token", views.bot_page_token, name="bot_token"),
    path("bots/<int:bot_id>/delete", views.bot_page_delete, name="bot_delete"),
    path("api/", api.api_root, name="api_root"),
    path("api/rooms", api.rooms, name="api_rooms"),
    path("api/read-all", api.rooms_read_all, name="api_rooms_read_all"),
    path("api/rooms/<slug:slug>", api.room_detail, name="api_room"),
    path("api/rooms/<slug:slug>/join", api.room_join, name="api_room_join"),
    path("api/rooms/<slug:slug>/leave", api.room_leave, name="api_room_leave"),
    path("api/rooms/<slug:slug>/invite", api.room_invite, name="api_room_invite"),
    path("api/rooms/<slug:slug>/messages", api.room_messages, name="api_room_messages"),
    path("api/rooms/<slug:slug>/typing", api.room_typing, name="api_room_typing"),
    path("api/rooms/<slug:slug>/read", api.room_read, name="api_room_read"),
    path("api/rooms/<slug:slug>/membership", api.room_membership, name="api_room_membership"),
    path("api/rooms/<slug:slug>/uploads", api.room_uploads, name="api_room_uploads"),
    path("api/users", api.users, name="api_users"),
    path("api/dms", api.dms, name="api_dms"),
    path("api/search", api.message_search, name="api_search"),
    path("api/messages/<int:message_id>", api.message_detail, name="api_message"),
    path("api/messages/<int:message_id>/reactions", api.message_reactions, name="api_message_reactions"),
    path("api/messages/<int:message_id>/reactions/<str:emoji>", api.message_reaction, name="api_message_reaction"),
    path("api/bots", bots_api.bot_list, name="api_bots"),
    path("api/bots/<int:bot_id>", bots_api.bot_detail, name="api_bot"),
    path("api/bots/<int:bot_id>/token", bots_api.bot_token, name="api_bot_token"),
    path("api/rooms/<slug:slug>/hooks", bots_api.room_hooks, name="api_room_hooks"),
    path("api/rooms/<slug:slug>/hooks/<int:hook_id>", bots_api.room_hook, name="api_room_hook"),
    path("api/hooks/<str:key>", bots_api.hook_post, name="api_hook"),
    # The thumbnail first: a file named "thumbnail" is stored as "thumbnail_" (rooms/uploads.py, clean_name).
    path("files/<str:upload_id>/thumbnail", files.upload_thumbnail, name="upload_thumbnail"),
    path("files/<str:upload_id>/<str:name>", files.upload_file, name="upload_file"),
]
