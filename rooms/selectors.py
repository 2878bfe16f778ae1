"""Reads about rooms and messages, shaped for the views."""
from django.db import connection
from django.db.models import (
    Count, Exists, F, FilteredRelation, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, prefetch_related_objects,
)
from django.db.models.functions import Coalesce

from users.models import User

from .models import Membership, Mention, Message, Room, Upload
from .serializers import INVITER_FIELDS


def rooms_for(user, *, slug=None) -> list[Room]:
    """Public rooms and the user's rooms (or the one of them `slug` names), with is_member,
    member_count, unread_count and mention_count.

    Unread counts leave out the messages of people the user blocks. A room a
    stranger invited the user into carries the stranger (stranger_id, ...).
    """
    mine = Membership.objects.filter(room=OuterRef("pk"), user=user)
    members = Membership.objects.filter(room=OuterRef("pk")).order_by().values("room").annotate(n=Count("id")).values("n")
    # Only a DM's two members are serialised (dm_users); a big public room's are never loaded.
    dm_members = Membership.objects.select_related("user").order_by("user_id")
    # The user's membership if a stranger's invitation made it and they have not
    # accepted it: who invited them, joined in the same query (serializers._stranger_inviter).
    stranger = FilteredRelation(
        "memberships", condition=Q(memberships__user=user, memberships__invitation_from_stranger=True),
    )
    rooms = Room.objects.visible_to(user)
    if slug is not None:
        rooms = rooms.filter(slug=slug)
    rooms = list(
        rooms.alias(stranger_invitation=stranger)
        .annotate(
            is_member=Exists(mine),
            notify=Subquery(mine.values("notify")[:1]),
            member_count=Coalesce(Subquery(members, output_field=IntegerField()), Value(0)),
            **{f"stranger_{name}": F(f"stranger_invitation__invited_by__{name}") for name in INVITER_FIELDS},
        )
        .order_by("kind", "name")
    )
    # Only DMs' members are read: the query names the DMs alone, not every room listed.
    prefetch_related_objects([room for room in rooms if room.is_dm],
                             Prefetch("memberships", queryset=dm_members, to_attr="dm_memberships"))
    if not rooms:
        return rooms
    counts = unread_counts(user, room_id=rooms[0].id if slug is not None else None)
    for room in rooms:
        room.unread_count, room.mention_count = counts.get(room.id, (0, 0))
    return rooms


def room_for(user, slug):
    """Return the room by slug if the user may see it (public, or a member), else None."""
    rooms = rooms_for(user, slug=slug)
    return rooms[0] if rooms else None


def unread_counts(user, *, room_id=None) -> dict[int, tuple[int, int]]:
    """Return {room id: (unread, mentions)} for the user's rooms (or one of them): one query.

    Unread: others' messages after the user's read mark, not by people the
    user blocks. Mentions: those of them that name the user or @**all**.

    Counted in one statement over the user's memberships, each room's count
    read from message_room_id_desc alone (on PostgreSQL it carries author_id,
    migration 0012), and the named mentions from the user's Mention rows: about
    20 ms for 400 rooms of 500 unread messages, 1 ms when they are read, where
    a subquery per room in the room list's query took seconds.
    """
    tables = {"membership": Membership._meta.db_table, "message": Message._meta.db_table,
              "mention": Mention._meta.db_table}
    blocked = sorted(int(i) for i in user.blocked_ids or ())
    not_blocked = f"AND m.author_id NOT IN ({', '.join(['%s'] * len(blocked))})" if blocked else ""
    only = "AND ms.room_id = %s" if room_id is not None else ""
    sql = """
        SELECT ms.room_id,
            (SELECT count(*) FROM {message} m WHERE m.room_id = ms.room_id AND m.id > ms.last_read_message_id
                AND m.author_id <> %s {not_blocked}),
            (SELECT count(*) FROM {message} m WHERE m.room_id = ms.room_id AND m.id > ms.last_read_message_id
                AND m.mentions_everyone AND m.author_id <> %s {not_blocked}),
            coalesce(named.n, 0)
        FROM {membership} ms LEFT JOIN (
            SELECT m.room_id, count(*) AS n FROM {mention} mn
            JOIN {message} m ON m.id = mn.message_id
            JOIN {membership} mine ON mine.room_id = m.room_id AND mine.user_id = mn.user_id
            WHERE mn.user_id = %s AND m.id > mine.last_read_message_id AND NOT m.mentions_everyone
                AND m.author_id <> %s {not_blocked}
                -- Only the mentions after the oldest read mark: when most rooms are read, a few rows.
                AND mn.message_id > (SELECT min(last_read_message_id) FROM {membership} WHERE user_id = %s)
            GROUP BY m.room_id
        ) named ON named.room_id = ms.room_id
        WHERE ms.user_id = %s {only}
    """.format(not_blocked=not_blocked, only=only, **tables)
    params = [user.id, *blocked, user.id, *blocked, user.id, user.id, *blocked, user.id, user.id]
    if room_id is not None:
        params.append(room_id)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {room: (unread, everyone + named) for room, unread, everyone, named in cursor.fetchall()}


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


def membership_of(user, room):
    """Return the user's membership of the room, or None."""
    return Membership.objects.filter(room=room, user=user).first()


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
