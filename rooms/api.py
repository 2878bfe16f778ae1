"""The rooms, messages and events API (../shared/API.md). Thin: read, check, call, answer."""
import functools

from django.conf import settings
from django.http import HttpResponse
from django.http.request import UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from parley import ratelimit
from parley.api import (
    DATABASE_DOWN, ApiError, database_unavailable, endpoint, error_response, field_bool, field_int, field_str,
    forbidden, invalid, json_response, no_content, not_found, query_int, query_str, read_json,
)
from parley.server import deferred
from users.middleware import token_user_from_cache
from users.models import User
from users.serializers import user_with_presence

from . import messaging, polling, presence, search, selectors, services, uploads
from .models import NAME_MAX_LENGTH, Message
from .emoji import normalize_reaction
from .serializers import membership_to_dict, message_to_dict, messages_to_dicts, room_to_dict, upload_to_dict
from .visibility import EventData


def _room(request, slug, *, member=False):
    """The room the user may see, or 404; with member=True, 403 unless they are a member."""
    room = selectors.room_access(request.user, slug)
    if room is None:
        raise not_found("No such room.")
    if member and not room.is_member:
        raise forbidden("Join the room first.")
    return room


def _room_response(request, slug, status=200):
    """Answer with the room as the user sees it, counts included."""
    room = selectors.room_for(request.user, slug)
    if room is None:
        raise not_found("No such room.")
    return json_response({"room": room_to_dict(room)}, status=status)


@endpoint("GET", "POST")
@ratelimit.limit(ratelimit.ROOM_CREATE, methods=("POST",))
def rooms(request):
    if request.method == "GET":
        return json_response({"rooms": [room_to_dict(room) for room in selectors.rooms_for(request.user)]})
    data = read_json(request)
    try:
        room = services.room_create(
            creator=request.user,
            name=field_str(data, "name", max_length=NAME_MAX_LENGTH),
            topic=field_str(data, "topic", required=False, max_length=300, default=""),
            is_private=field_bool(data, "is_private"),
            is_ephemeral=field_bool(data, "is_ephemeral"),
            retention_messages=field_int(data, "retention_messages", required=False, minimum=1, maximum=1_000_000),
            retention_days=field_int(data, "retention_days", required=False, minimum=1, maximum=36_500),
        )
    except services.Conflict as error:
        raise ApiError(409, "conflict", str(error)) from None
    return _room_response(request, room.slug, status=201)


@endpoint("GET", "PATCH")
@ratelimit.limit(ratelimit.ROOM_UPDATE, methods=("PATCH",))
def room_detail(request, slug):
    room = _room(request, slug)
    if request.method == "PATCH":
        if room.created_by_id != request.user.id and not request.user.is_staff:
            raise forbidden("Only the room's creator can change it.")
        data = read_json(request)
        changes = {}
        if "topic" in data:
            changes["topic"] = field_str(data, "topic", required=False, max_length=300, default="")
        for name, maximum in (("retention_messages", 1_000_000), ("retention_days", 36_500)):
            if name in data:
                changes[name] = field_int(data, name, required=False, minimum=1, maximum=maximum)
        services.room_update(room=room, by=request.user, **changes)
    room = selectors.room_for(request.user, slug)
    members = []
    for membership in selectors.members_of(room):
        member = user_with_presence(membership.user, viewer=request.user)
        if room.is_member:  # read positions are for the room's members, staff or not
            member["last_read_message_id"] = membership.last_read_message_id
        members.append(member)
    return json_response({"room": room_to_dict(room), "members": members})


@endpoint("POST")
@ratelimit.limit(ratelimit.JOIN_LEAVE)
def room_join(request, slug):
    if request.user.is_bot and selectors.room_access(request.user, slug) is None:
        raise forbidden("Bots join rooms only when invited.")
    room = _room(request, slug)
    if not room.is_member and room.is_private:
        raise forbidden("This room is private: ask a member to invite you.")
    services.room_join(room=room, user=request.user)  # a member: accepts a stranger's invitation, if any
    return _room_response(request, slug)


@endpoint("POST")
@ratelimit.limit(ratelimit.JOIN_LEAVE)
def room_leave(request, slug):
    room = _room(request, slug)
    services.room_leave(room=room, user=request.user)
    return no_content()


@endpoint("POST")
@ratelimit.limit(ratelimit.INVITE)
def room_invite(request, slug):
    room = _room(request, slug, member=True)
    if room.is_dm:
        raise forbidden("A direct message is for two people.")
    user_id = field_int(read_json(request), "user_id", minimum=1)
    invitee = User.objects.active().filter(id=user_id).first()
    if invitee is None:
        raise invalid("No such user.", {"user_id": ["No active user with this id."]})
    ratelimit.check_invited(invitee.id)
    try:
        services.room_invite(room=room, inviter=request.user, invitee=invitee)
    except services.Refused as error:  # blocked: say no more than that
        raise forbidden(str(error)) from None
    return _room_response(request, slug)


@token_user_from_cache  # a send's token as a poll's: users/tokencache.py hears of every revocation
@endpoint("GET", "POST")
@ratelimit.limit(ratelimit.SEND_USER, ratelimit.SEND_IP, methods=("POST",))
def room_messages(request, slug):
    if request.method == "GET":
        room = _room(request, slug)
        before = query_int(request, "before", minimum=1)
        limit = query_int(request, "limit", default=50, minimum=1, maximum=200)
        messages, has_more = selectors.history(room, before=before, limit=limit, hidden=request.user.blocked_ids)
        return json_response({"messages": messages_to_dicts(messages), "has_more": has_more})
    room = _room(request, slug, member=True)
    data = read_json(request)
    attachments = _attachment_ids(data)
    body = field_str(data, "body", required=not attachments, default="",
                     max_length=settings.PARLEY_MAX_MESSAGE_CHARS, strip=False)
    client_id = field_str(data, "client_id", required=False, max_length=64, strip=False)  # echoed as sent
    reply_to = field_int(data, "reply_to", required=False, minimum=1)
    message, created = messaging.message_post(
        room=room, author=request.user, body=body, client_id=client_id or None, reply_to=reply_to,
        attachments=attachments,
    )
    return json_response({"message": message_to_dict(message)}, status=201 if created else 200)


def _attachment_ids(data):
    """Read `attachments`: a list of at most MAX_ATTACHMENTS distinct upload ids (the service checks whose)."""
    value = data.get("attachments")
    if value is None:
        return []
    limit = messaging.MAX_ATTACHMENTS
    if not isinstance(value, list) or not all(isinstance(item, str) and 0 < len(item) <= 64 for item in value):
        raise invalid("attachments must be a list of upload ids.", {"attachments": ["A list of upload ids."]})
    if len(value) > limit:
        raise invalid(f"At most {limit} attachments.", {"attachments": [f"At most {limit} files per message."]})
    if len(set(value)) != len(value):
        raise invalid("An upload is listed twice.", {"attachments": ["Each upload once."]})
    return value


# What the upload services' refusals answer.
UPLOAD_STATUS = {uploads.TooLarge: 413, uploads.QuotaExceeded: 413, uploads.NotAMember: 403}


@csrf_exempt  # checked below, once the upload handler is in place (the CSRF check reads the body)
@endpoint("POST")
@ratelimit.limit(ratelimit.UPLOAD)
def room_uploads(request, slug):
    """Take one file (multipart, the field `file`) into the room: the uploader's until a message attaches it."""
    room = _room(request, slug, member=True)
    receiver = uploads.Receiver(request, limit=uploads.max_bytes())
    try:
        if request.content_type != "multipart/form-data":
            raise ApiError(415, "unsupported_media_type", "Send the file as multipart/form-data, in the field 'file'.")
        if _content_length(request) > uploads.max_bytes() + uploads.MULTIPART_OVERHEAD:
            raise uploads.too_large()  # announced: refused before a byte is read
        uploads.check_quota(request.user)
        request.upload_handlers = [receiver]
        return _upload_checked(request, room, receiver)
    except uploads.UploadError as error:
        raise ApiError(UPLOAD_STATUS.get(type(error), 400), error.code, str(error)) from None
    except (MultiPartParserError, UnreadablePostError):
        raise invalid("The body is not a complete multipart/form-data upload.") from None
    finally:
        receiver.discard()


@csrf_protect
def _upload_checked(request, room, receiver):
    file, name = uploads.received_file(receiver, request.FILES)
    upload = uploads.upload_create(room=room, uploader=request.user, file=file, name=name)
    return json_response({"upload": upload_to_dict(upload)}, status=201)


def _content_length(request):
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _message(request, message_id):
    """The message, if the user may read its room (and does not block its author), or 404."""
    message = selectors.message_for(request.user, message_id)
    if message is None:
        raise not_found("No such message.")
    return message


@endpoint("GET", "PATCH", "DELETE")
@ratelimit.limit(ratelimit.EDIT, methods=("PATCH", "DELETE"))
def message_detail(request, message_id):
    message = _message(request, message_id)
    if request.method == "GET":
        return json_response({"message": message_to_dict(message)})
    if request.method == "DELETE":
        if message.author_id != request.user.id and not request.user.is_staff:
            raise forbidden("Only the author (or staff) can delete a message.")
        messaging.message_delete(message=message)
        return no_content()
    if message.author_id != request.user.id:
        raise forbidden("Only the author can edit a message.")
    body = field_str(read_json(request), "body", max_length=settings.PARLEY_MAX_MESSAGE_CHARS, strip=False)
    try:
        message = messaging.message_edit(message=message, body=body)
    except messaging.EditWindowClosed as error:
        raise ApiError(403, "edit_window_closed", str(error)) from None
    except Message.DoesNotExist:  # deleted meanwhile
        raise not_found("No such message.") from None
    return json_response({"message": message_to_dict(message)})


@endpoint("POST")
@ratelimit.limit(ratelimit.REACT)
def message_reactions(request, message_id):
    message = _message(request, message_id)
    if not message.room.is_member:
        raise forbidden("Join the room first.")
    value = field_str(read_json(request), "emoji", max_length=64, strip=False)
    emoji = normalize_reaction(value)
    if emoji is None:
        raise invalid("Not an emoji.", {"emoji": ["One emoji, or a :shortcode: this server knows."]})
    try:
        messaging.reaction_add(message=message, user=request.user, emoji=emoji)
    except Message.DoesNotExist:  # deleted meanwhile
        raise not_found("No such message.") from None
    return json_response({"message": message_to_dict(_message(request, message.id))})


@endpoint("DELETE")
@ratelimit.limit(ratelimit.REACT)
def message_reaction(request, message_id, emoji):
    message = _message(request, message_id)
    if not message.room.is_member:
        raise forbidden("Join the room first.")
    canonical = normalize_reaction(emoji)
    if canonical is not None:  # nothing else was ever stored: removing it is done already
        messaging.reaction_remove(message=message, user=request.user, emoji=canonical)
    return no_content()


@endpoint("POST")
@ratelimit.limit(ratelimit.TYPING)
def room_typing(request, slug):
    services.typing_notify(room=_room(request, slug, member=True), user=request.user)
    return no_content()


@endpoint("POST")
@ratelimit.limit(ratelimit.READ)
def room_read(request, slug):
    room = _room(request, slug, member=True)
    message_id = field_int(read_json(request), "message_id", minimum=1)
    services.room_mark_read(room=room, user=request.user, message_id=message_id)
    return no_content()


@endpoint("POST")
@ratelimit.limit(ratelimit.READ)
def rooms_read_all(request):
    """Mark every room of mine read up to its newest message ("Mark all as read")."""
    moved = services.rooms_mark_all_read(user=request.user)
    return json_response({"read": [{"room": room.slug, "message_id": message_id} for room, message_id in moved]})


@endpoint("GET", "PATCH")
def room_membership(request, slug):
    """My own settings in a room I am a member of: its notification level (null: my default)."""
    room = selectors.room_access(request.user, slug)
    if room is None or not room.is_member:
        raise not_found("You are not a member of this room.")
    if request.method == "PATCH":
        data = read_json(request)
        if "notify" not in data:
            raise invalid("notify is required.", {"notify": ["This field is required (null: your default)."]})
        if not services.membership_notify_set(room=room, user=request.user, level=data["notify"]):
            raise not_found("You are not a member of this room.")  # left meanwhile
    membership = selectors.membership_of(request.user, room)
    if membership is None:
        raise not_found("You are not a member of this room.")
    return json_response({"membership": membership_to_dict(membership, room=room)})


@endpoint("GET")
def users(request):
    found = selectors.directory(query_str(request, "q", max_length=100))
    return json_response({"users": [user_with_presence(user, viewer=request.user) for user in found]})


@endpoint("POST")
@ratelimit.limit(ratelimit.DM_OPEN)
def dms(request):
    user_id = field_int(read_json(request), "user_id", minimum=1)
    other = User.objects.active().filter(id=user_id).first()
    if other is None:
        raise invalid("No such user.", {"user_id": ["No active user with this id."]})
    try:
        room, created = services.dm_open(user=request.user, other=other)
    except services.Refused as error:  # blocked: say no more than that
        raise forbidden(str(error)) from None
    return _room_response(request, room.slug, status=201 if created else 200)


@endpoint("GET")
@ratelimit.limit(ratelimit.SEARCH)
def message_search(request):
    query = query_str(request, "q", max_length=200).strip()
    if not query:
        raise invalid("Say what to search for.", {"q": ["This field is required."]})
    room = None
    slug = query_str(request, "room", max_length=100)
    if slug:
        room = _room(request, slug, member=True)
    order = query_str(request, "order", max_length=20) or "newest"
    if order not in search.ORDERS:
        raise invalid("order is newest or relevance.", {"order": ["newest or relevance."]})
    try:
        page = search.search(
            user=request.user, text=query, room=room, order=order, page=query_str(request, "page", max_length=40),
            limit=query_int(request, "limit", default=50, minimum=1, maximum=200), hidden=request.user.blocked_ids,
        )
    except search.BadQuery as error:
        raise invalid(str(error), {error.field: [str(error)]}) from None
    return json_response({
        "messages": messages_to_dicts(page.messages, room_names=True),
        "has_more": page.next is not None,
        "next": page.next,
    })


@token_user_from_cache
@endpoint("GET")
@ratelimit.limit_polls
def events_view(request):
    """The long poll: everything for all of the user's rooms after the cursor (rooms/polling.py decides)."""
    timeout = query_int(request, "timeout", default=settings.PARLEY_POLL_TIMEOUT_DEFAULT, minimum=0)
    presence.seen(request.user)  # polling is what keeps a user online, whatever the poll answers
    try:
        result = polling.fetch_events(user=request.user, cursor=request.GET.get("cursor", ""), timeout=timeout)
    except polling.InvalidCursor:
        raise invalid("That is not a cursor.", {"cursor": ["Invalid cursor."]}) from None
    if isinstance(result, polling.Answer):
        return events_response(result)
    if deferred.allowed(request):
        return deferred.DeferredResponse(functools.partial(_complete, result))  # waits outside the middleware
    return _complete(result)


CURSOR_EXPIRED = "The cursor is too old: reload history and start again."


def _complete(wait):
    """Wait, and answer for itself (it may run after Django has finished the request)."""
    try:
        return events_response(wait.complete())
    except DATABASE_DOWN as error:
        return database_unavailable("GET /api/events (after waiting)", error)


def events_response(answer):
    """The poll's answer: `{cursor, events}`, each event's JSON spliced in as encoded once per process
    (rooms/visibility.py EventData), or the 410."""
    if answer.expired:
        return error_response(410, "cursor_expired", CURSOR_EXPIRED)
    events = b", ".join(EventData.of(event).encoded for event in answer.events)
    response = HttpResponse(b'{"cursor": "%d", "events": [%s]}' % (answer.cursor, events), content_type="application/json")
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


@endpoint("GET", auth=False)
def api_root(request):
    """Name the API, so that clients can find its root (and the page can build URLs)."""
    return json_response({"name": "Parley", "api": "see API.md"})
