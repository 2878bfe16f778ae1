"""The event stream, as writers see it: positions, appending, purge marks.

Positions. Every event (message, typing, receipt, presence, room change) is a
row of one stream, at a position taken from the single `Stream` row with
`UPDATE ... RETURNING` inside the writing transaction. That row stays locked
until commit, so positions are handed out in commit order and without gaps: a
reader that sees position N has seen every event below N. (Ids alone would
not do: with concurrent writers id 11 can commit before id 10, and a cursor
at 11 would skip 10 for ever.)
Services take the position first, before their other writes, so message ids
grow in the same order as positions. The price is that writers queue on one
row for the length of a short transaction, its commit's WAL flush included;
docs/benchmarks.md measures it. Plain messages therefore commit in batches
(rooms/group_commit.py): one position range, one flush, for all the posts
that arrived during the previous batch's commit.
A cursor is simply the last position a client has seen.

Wake-ups are hints: every append notifies CHANNEL (parley/listen.py), which
PostgreSQL delivers to every process at commit, and which this process's
subscribers (the hub, rooms/hub.py) hear at commit too. Readers always re-read
the database from their cursor, so a lost hint costs latency, never an event.
"""
from django.db import connection
from django.db.models import BigIntegerField, Case, Q, Value, When
from django.db.models.functions import Greatest

from parley import listen

from .models import Event, Membership, Room, Stream
from .visibility import load_entries

CHANNEL = "parley_events"


class CursorExpired(Exception):
    """The cursor points before events the server no longer keeps."""


# Writing ---------------------------------------------------------------------


def take_position() -> int:
    """Take the next stream position; the stream row stays locked until commit."""
    # Outside a transaction the row lock would end with the statement, and
    # positions would no longer follow commit order: a caller's mistake to
    # stop at once, not a gap for a reader to fall into later.
    if not connection.in_atomic_block:
        raise RuntimeError("take_position() must run inside transaction.atomic()")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Stream._meta.db_table} SET last_position = last_position + 1 WHERE id = 1 RETURNING last_position"
        )
        return cursor.fetchone()[0]


def append(*, position: int, type: str, data: dict, room=None, message=None, subject=None,
           audience=None, is_public=False) -> Event:
    """Store an event at `position` and wake the pollers once it commits."""
    event = Event.objects.create(
        position=position, type=type, data=data, room=room, message=message,
        subject=subject, audience=audience, is_public=is_public,
    )
    listen.notify(CHANNEL, str(position))
    return event


def wake_on_commit() -> None:
    """Wake this process's pollers at commit, for a writer whose SQL sent the NOTIFY itself."""
    listen.notify_here(CHANNEL, "")


def mark_pruned(position: int, *, rooms: dict[int, int] | None = None) -> None:
    """Record that events up to `position` may be gone, so cursors from before them get 410.

    With `rooms` ({room id: the last position deleted in it}) only those rooms'
    messages went, and only cursors of users who could see those rooms expire
    (cursor_expired()). Without it, the events may have been anyone's.
    The stream row is taken first: posts hold it, then their room's row.
    """
    stream = Stream.objects.filter(id=1)
    if not rooms:
        stream.update(pruned_through=Greatest("pruned_through", position),
                      shared_pruned_through=Greatest("shared_pruned_through", position))
        return
    stream.update(pruned_through=Greatest("pruned_through", position))
    last = Case(*[When(id=room_id, then=Value(mark)) for room_id, mark in rooms.items()],
                output_field=BigIntegerField())
    Room.objects.filter(id__in=rooms).update(pruned_through=Greatest("pruned_through", last))


# Reading ---------------------------------------------------------------------


def stream_state() -> tuple[int, int]:
    """Return (head, pruned_through) of the stream as committed now."""
    # Every poll asks: plain SQL spares the ORM compiling the same query each time.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_position, pruned_through FROM {Stream._meta.db_table} WHERE id = 1")
        return tuple(cursor.fetchone())


def shared_pruned_through() -> int:
    """Return the position up to which events of no one room (presence, ...) may be gone."""
    return Stream.objects.filter(id=1).values_list("shared_pruned_through", flat=True).get()


def rooms_and_stream(user_id) -> tuple[frozenset, int, int]:
    """Return the user's rooms and the stream's (head, pruned_through), all from one snapshot (one statement)."""
    aggregate = "string_agg(room_id::text, ',')" if connection.vendor == "postgresql" else "group_concat(room_id)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.last_position, s.pruned_through, (SELECT {aggregate} FROM {Membership._meta.db_table}"
            f" WHERE user_id = %s) FROM {Stream._meta.db_table} s WHERE s.id = 1",
            [user_id],
        )
        head, pruned, rooms = cursor.fetchone()
    return frozenset(int(room_id) for room_id in rooms.split(",")) if rooms else frozenset(), head, pruned


def membership_changes(user_id, cursor):
    """Return the user's joins and leaves after `cursor`, from the database (they are few)."""
    return load_entries(Event.objects.after(cursor).filter(
        Q(type=Event.ROOM, subject_id=user_id) | Q(type=Event.MEMBERSHIP, data__user_id=user_id)
    ))


def cursor_expired(user_id: int, room_ids, cursor: int, pruned: int) -> bool:
    """Say whether events the user could see after `cursor` were purged (the poll answers 410).

    `pruned` is the stream's pruned_through, read with `room_ids` (the user's
    rooms now): a cursor at or past it lost nothing, and costs no query. Below
    it, the events of no one room (shared_pruned_through) and the marks of the
    rooms the user was in at any time since the cursor decide.
    """
    if cursor >= pruned:
        return False
    changes = membership_changes(user_id, cursor)
    rooms = set(room_ids) | {entry.change[1] for entry in changes}
    return cursor < shared_pruned_through() or Room.objects.filter(id__in=rooms, pruned_through__gt=cursor).exists()
