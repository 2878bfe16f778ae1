"""Reads about rooms and messages, shaped for the views."""
from django.db import connection
from django.db.models import Count, Exists, F, FilteredRelation, IntegerField, OuterRef, Prefetch, Q, Subquery, Value
from django.db.models.functions import Coalesce

from users.models import User

from .models import Membership, Mention, Message, Room, Upload
from .serializers import INVITER_FIELDS


def rooms_for(user):
    """Public rooms and the user's rooms, with is_member, member_count and unread_count.

    Unread counts leave out the messages of people the user blocks. A room a
    stranger invited the user into carries the stranger (stranger_id, ...).
    """
    mine = Membership.objects.filter(room=OuterRef("pk"), user=user)
    # Unread: others' messages after the user's read mark (no mark, not a member: none).
    unread = (
        Message.objects.filter(room=OuterRef("pk"), id__gt=OuterRef("last_read"))
        .exclude(author=user)
        .not_by(user.blocked_ids)
        .order_by()
        .values("room")
        .annotate(n=Count("id"))
        .values("n")
    )
    # Of those, the ones that mention the user, by name or as @**all**.
    mentioned = (
        Message.objects.filter(room=OuterRef("pk"), id__gt=OuterRef("last_read"))
        .exclude(author=user)
        .not_by(user.blocked_ids)
        .filter(Q(mentions_everyone=True) | Q(Exists(Mention.objects.filter(message=OuterRef("pk"), user=user))))
        .order_by()
        .values("room")
        .annotate(n=Count("id"))
        .values("n")
    )
    members = Membership.objects.filter(room=OuterRef("pk")).order_by().values("room").annotate(n=Count("id")).values("n")
    # Only a DM's two members are serialised (dm_users); a big public room's are never loaded.
    dm_members = Membership.objects.filter(room__kind=Room.DM).select_related("user").order_by("user_id")
    # The user's membership if a stranger's invitation made it and they have not
    # accepted it: who invited them, joined in the same query (serializers._stranger_inviter).
    stranger = FilteredRelation(
        "memberships", condition=Q(memberships__user=user, memberships__invitation_from_stranger=True),
    )
    return (
        Room.objects.visible_to(user)
        .select_related("created_by")
        .alias(stranger_invitation=stranger)
        .annotate(
            is_member=Exists(mine),
            last_read=Subquery(mine.values("last_read_message_id")[:1]),
            member_count=Coalesce(Subquery(members, output_field=IntegerField()), Value(0)),
            unread_count=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0)),
            mention_count=Coalesce(Subquery(mentioned, output_field=IntegerField()), Value(0)),
            **{f"stranger_{name}": F(f"stranger_invitation__invited_by__{name}") for name in INVITER_FIELDS},
        )
        .prefetch_related(Prefetch("memberships", queryset=dm_members, to_attr="dm_memberships"))
        .order_by("kind", "name")
    )


def room_for(user, slug):
    """Return the room by slug if the user may see it (public, or a member), else None."""
    return rooms_for(user).filter(slug=slug).first()


_ROOM_FIELDS = [field.attname for field in Room._meta.concrete_fields]
_ROOM_ACCESS_SQL = (
    f"SELECT {', '.join('r.' + field.column for field in Room._meta.concrete_fields)},"
    f" EXISTS(SELECT 1 FROM {Membership._meta.db_table} m WHERE m.room_id = r.id AND m.user_id = %s)"
    f" FROM {Room._meta.db_table} r WHERE r.slug = %s"
)


def room_access(user, slug):
    """Return the room by slug, with `is_member`, if the user may see it, else None.

    One small query, for the endpoints that act on a room (posting, typing,
    reading): compiling rooms_for()'s counts cost more than the whole post.
    """
    # Plain SQL on a plain cursor: the ORM spent three times as long compiling this as running it,
    # and a RawQuerySet still a third of a post's CPU working out how to build the Room.
    with connection.cursor() as cursor:
        cursor.execute(_ROOM_ACCESS_SQL, [user.id, slug])
        row = cursor.fetchone()
    if row is None:
        return None
    room = Room.from_db(connection.alias, _ROOM_FIELDS, row[:-1])
    room.is_member = bool(row[-1])  # SQLite says 0 or 1
    if not (room.is_member or (room.kind == Room.ROOM and not room.is_private and not user.is_bot)):
        return None  # a bot sees only the rooms it was invited to or DMed in
    return room


def room_ids_of(user_id) -> set[int]:
    # Every poll asks: plain SQL spares the ORM compiling the same query each time.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT room_id FROM {Membership._meta.db_table} WHERE user_id = %s", [user_id])
        return {row[0] for row in cursor.fetchall()}


def members_of(room):
    return (
        Membership.objects.filter(room=room)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user_id")
    )


def history(room, *, before=None, limit=50, hidden=()):
    """Return (messages oldest first, has_more): the newest `limit` older than `before`.

    `hidden`: authors whose messages the reader does not see (whom they block).
    """
    if room.is_ephemeral:
        return [], False
    messages = Message.objects.in_room(room).before(before).not_by(hidden)
    page = list(messages.with_refs().order_by("-id")[: limit + 1])
    has_more = len(page) > limit
    return page[:limit][::-1], has_more


def message_for(user, message_id):
    """Return the message, its room with `is_member`, if the user may read it, else None.

    Readable: in a public room, or one the user is a member of; not by someone the user blocks.
    """
    mine = Membership.objects.filter(room=OuterRef("room_id"), user=user)
    message = (
        Message.objects.with_refs()
        .filter(id=message_id)
        .filter(room__in=Room.objects.visible_to(user).values("id"))
        .not_by(user.blocked_ids)
        .annotate(is_member=Exists(mine))
        .first()
    )
    if message is not None:
        message.room.is_member = message.is_member
    return message


def upload_for(user, upload_id):
    """Return the upload if the user may read its file, else None.

    Attached (its message set): whoever may read the message's room, as
    message_for() decides, so not the files of people the reader blocks.
    Not attached yet: its uploader only. Anonymous, inactive and pending
    users read nothing. One query.
    """
    if not (user.is_authenticated and user.is_active and user.is_approved):
        return None
    readable = Q(message__isnull=True, uploader=user) | Q(
        message__isnull=False, message__room__in=Room.objects.visible_to(user).values("id"),
    )
    uploads = Upload.objects.filter(readable, id=upload_id)
    if user.blocked_ids:
        uploads = uploads.exclude(uploader_id__in=user.blocked_ids)
    return uploads.first()


def directory(query=""):
    users = User.objects.active().order_by("first_name", "last_name", "id")
    for word in query.split()[:5]:
        users = users.filter(Q(first_name__icontains=word) | Q(last_name__icontains=word))
    return users[:200]
