"""The one JSON form of each room object; the API, the events and the pages all use these."""
from django.urls import reverse

from users.models import User
from users.serializers import isoformat, user_ref

from .models import Message

# What a room's JSON needs of a stranger who invited the viewer (user_ref), as selectors.rooms_for annotates it.
INVITER_FIELDS = ("id", "first_name", "last_name", "email", "is_bot")


# How much of a replied-to message a reply quotes.
EXCERPT_CHARS = 140


def message_to_dict(message, *, originals=None):
    """Serialise a message; `originals` ({id: Message}) spares the query for what it replies to.

    Reactions come from the `reactions` prefetched by MessageQuerySet.with_refs(), or
    `message.reaction_rows` when the caller knows them (a new message has none).
    """
    return {
        "id": message.id,
        "room": message.room.slug,
        "author": user_ref(message.author),
        "body": message.body,
        "html": message.html,
        "mentions": list(message.mentions),
        "reply_to": _reply_ref(message, originals),
        "reactions": _reactions(message),
        "attachments": _attachments(message),
        "created_at": isoformat(message.created_at),
        "edited_at": isoformat(message.edited_at) if message.edited_at else None,
        "client_id": message.client_id,
    }


def messages_to_dicts(messages, *, room_names=False):
    """Serialise a page of messages, with one query for all the messages they reply to.

    `room_names`: each also carries `room_name`, for lists that mix rooms (search).
    """
    wanted = {m.reply_to_id for m in messages if m.reply_to_id is not None}
    originals = _originals(wanted) if wanted else {}
    dicts = [message_to_dict(m, originals=originals) for m in messages]
    if room_names:
        for data, message in zip(dicts, messages):
            data["room_name"] = message.room.name
    return dicts


def _originals(ids):
    return {m.id: m for m in Message.objects.filter(id__in=ids).select_related("author")}


def _reply_ref(message, originals):
    if message.reply_to_id is None:
        return None
    if originals is None:
        originals = _originals({message.reply_to_id})
    original = originals.get(message.reply_to_id)
    if original is None:  # deleted, or purged
        return {"id": message.reply_to_id, "deleted": True}
    excerpt = original.text or original.body
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1].rstrip() + "…"
    return {"id": original.id, "author": user_ref(original.author), "excerpt": excerpt}


def _reactions(message):
    rows = getattr(message, "reaction_rows", None)
    if rows is None:
        rows = message.reactions.all()  # ordered by id when prefetched by with_refs()
    grouped = {}
    for row in sorted(rows, key=lambda row: row.id):
        grouped.setdefault(row.emoji, []).append(row.user_id)
    return [{"emoji": emoji, "user_ids": user_ids} for emoji, user_ids in grouped.items()]


def _attachments(message):
    """The message's uploads in the order the author listed them: `attachment_list` when the caller
    knows them (a new message), else the `attachment_rows` prefetched by MessageQuerySet.with_refs()."""
    rows = getattr(message, "attachment_list", None)
    if rows is None:
        rows = sorted(message.attachment_rows.all(), key=lambda upload: upload.attachment_index or 0)
    return [upload_to_dict(upload) for upload in rows]


def upload_to_dict(upload):
    """Serialise an upload; `url` and `thumbnail_url` are served by rooms/files.py."""
    return {
        "id": upload.id,
        "name": upload.name,
        "size": upload.size,
        "content_type": upload.content_type,
        "url": reverse("upload_file", args=[upload.id, upload.name]),
        "thumbnail_url": reverse("upload_thumbnail", args=[upload.id]) if upload.thumbnail else None,
        "width": upload.width,
        "height": upload.height,
    }


def room_to_dict(room, *, member_count=None, unread_count=0, is_member=None, dm_users=None, shared=False):
    """Serialise a room; list views pass the per-viewer numbers they annotated.

    With `shared`, the room as every recipient of an event may see it: no one
    viewer's numbers. Views pass rooms annotated for the acting user
    (is_member, unread_count, a member_count from before the change); an event
    goes to everyone, so it carries the count as of this write, no is_member,
    and no unread messages (each client keeps or refetches its own).
    """
    if shared:
        member_count = room.memberships.count()
        if room.is_dm:
            dm_users = [user_ref(m.user) for m in room.memberships.select_related("user").order_by("user_id")]
    data = {
        "id": room.id,
        "name": room.name,
        "slug": room.slug,
        "topic": room.topic,
        "kind": room.kind,
        "is_private": room.is_private,
        "is_ephemeral": room.is_ephemeral,
        "created_at": isoformat(room.created_at),
        "created_by": room.created_by_id,
        "member_count": _member_count(room, member_count),
        "unread_count": getattr(room, "unread_count", unread_count) or 0,
        "mention_count": getattr(room, "mention_count", 0) or 0,
        "last_message_id": room.last_message_id,
        "retention_messages": room.kept_messages,
        "retention_days": room.kept_days,
    }
    is_member = getattr(room, "is_member", is_member)
    if is_member is not None and not shared:
        data["is_member"] = bool(is_member)
    if shared:
        data["unread_count"] = data["mention_count"] = 0
    elif data.get("is_member") and hasattr(room, "notify"):
        data["notify"] = room.notify  # my level here (annotated by selectors.rooms_for); null: my default
    inviter = _stranger_inviter(room)
    if inviter is not None:  # the viewer may stay, leave, or leave and block
        data["invited_by"] = user_ref(inviter)
        data["invitation_from_stranger"] = True
    if room.is_dm:
        data["dm_users"] = dm_users if dm_users is not None else _dm_users(room)
    return data


def membership_to_dict(membership, *, room):
    """Serialise my own membership of a room: what only I see and set."""
    return {
        "room": room.slug,
        "notify": membership.notify,
        "last_read_message_id": membership.last_read_message_id,
        "joined_at": isoformat(membership.joined_at),
    }


def _dm_users(room):
    memberships = getattr(room, "dm_memberships", None)  # prefetched by selectors.rooms_for
    if memberships is None:
        memberships = room.memberships.select_related("user").order_by("user_id")
    return [user_ref(m.user) for m in memberships]


def _member_count(room, given):
    if given is not None:
        return given
    annotated = getattr(room, "member_count", None)
    return annotated if annotated is not None else room.memberships.count()


def _stranger_inviter(room):
    """The stranger whose invitation the viewer has not accepted (annotated by selectors.rooms_for), or None."""
    if getattr(room, "stranger_id", None) is None:
        return None
    return User(**{name: getattr(room, f"stranger_{name}") for name in INVITER_FIELDS})
