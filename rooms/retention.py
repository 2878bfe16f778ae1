"""Retention: what the purge deletes, in small batches so chat goes on meanwhile.

Each room keeps its newest `kept_messages` messages and, when a day limit is
set, none older than that (Room.kept_messages / kept_days: the room's
override, else PARLEY_RETENTION_MESSAGES / PARLEY_RETENTION_DAYS). The count
rule is an id cutoff, the id of the room's N-th newest message, read in the
same query that picks the next ids to delete: messages posted while the purge
runs have higher ids and can only move the cutoff up, so whatever a query
picks is beyond the newest N at that moment, and the newest N are never
touched.

Deleting a message deletes its stream event too (its JSON holds the body).
The purge works in batches of at most `batch_size` messages, gathered across
rooms, each in its own short transaction. The last statements of each raise
each room's purge mark to the highest position the batch deleted in it, and
the stream's pruned_through to the highest of all (stream.mark_pruned), so the
marks and the deletion commit together: a cursor from before a room's mark
gets 410, if its user could see that room, and its client reloads history
(API.md). Writers take the stream row for every post, so it is taken last and
held only for the commit.

A message's files (rooms/uploads.py) go with it: their rows in the same
transaction, their stored files after it commits. Uploads that no message
attached are deleted a day after they came (uploads.purge_unattached, run by
the purge command). What goes from storage is counted in a `Freed` tally
the caller may pass.

Transient data is cleared by every app process's maintenance loop
(rooms/maintenance.py, every MAINTENANCE_SECONDS plus up to 2 s of
jitter), and by the purge command: ephemeral rooms' messages early enough that
none is stored for more than PARLEY_EPHEMERAL_SECONDS (60 s), typing events
after PARLEY_TYPING_SECONDS, and other events (room changes, receipts,
presence) after PARLEY_EVENT_RETENTION_SECONDS.
"""
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Q, Subquery, Sum
from django.utils import timezone

from . import stream, uploads
from .models import Event, Mention, Message, Reaction, Room, Upload

BATCH_SIZE = 2000
# How often the maintenance loop runs (rooms/maintenance.py sleeps this plus up
# to 2 s of jitter), and so the longest gap between two of its runs.
MAINTENANCE_SECONDS = 10
MAINTENANCE_GAP_SECONDS = MAINTENANCE_SECONDS + 2
# Ephemeral messages stay this long for pollers still catching up (other
# processes read new events within a second or two), and never less.
EPHEMERAL_MIN_SECONDS = 10


def purge_messages(*, now=None, dry_run=False, batch_size=BATCH_SIZE,
                   freed: uploads.Freed | None = None) -> dict[str, int]:
    """Delete messages beyond each room's window; return {room slug: count} for rooms that had any.

    Their files go too, counted in `freed` when given.

    A batch gathers up to `batch_size` expired ids across rooms (a thousand
    rooms with a few hundred each need a few hundred transactions, not a
    thousand) and goes in one short transaction of its own (_delete_batch).
    """
    now = now or timezone.now()
    report = {}
    # A plain list, not an open cursor held across the deleting transactions.
    rooms = list(
        Room.objects.filter(is_ephemeral=False).order_by("id")
        .only("id", "slug", "retention_messages", "retention_days")
    )
    slugs = {room.id: room.slug for room in rooms}
    batch = []

    def flush():
        for room_id, count in _delete_batch(batch, freed=freed).items():
            report[slugs[room_id]] = report.get(slugs[room_id], 0) + count
        batch.clear()

    for room in rooms:
        expired = _expired(room, now)
        if dry_run:
            count = expired.count()
            if count:
                report[room.slug] = count
                if freed is not None:
                    files = Upload.objects.filter(message__in=expired.values("id"))
                    freed.add(files.count(), files.aggregate(total=Sum("size"))["total"] or 0)
            continue
        after = 0
        while True:
            room_ids = expired.filter(id__gt=after).order_by("id").values_list("id", flat=True)
            wanted = batch_size - len(batch)
            ids = list(room_ids[:wanted])
            batch.extend(ids)
            if len(batch) >= batch_size:
                flush()
            if len(ids) < wanted:
                break  # the room has no more (and a second look would cost a query per room)
            after = ids[-1]
    if batch:
        flush()
    return report


def _expired(room, now):
    """Return the room's messages beyond its window (one query per page, the cutoff inside it)."""
    messages = Message.objects.filter(room_id=room.id)
    keep = room.kept_messages
    # The id of the keep-th newest message; older ones go. NULL (nothing) while the room holds fewer.
    newest_kept = messages.order_by("-id").values("id")[keep - 1:keep]
    expired = Q(id__lt=Subquery(newest_kept))
    if room.kept_days:
        expired |= Q(created_at__lt=now - timedelta(days=room.kept_days))
    return messages.filter(expired)


def _delete_batch(ids, *, mark=True, freed=None) -> dict[int, int]:
    """Delete these messages, their events and files in one transaction; return how many went per room.

    The stored files are deleted once it commits, and counted in `freed`.

    The stream's pruned_through moves in the same transaction, as its last
    statement, so pollers see the mark and the deletion together, and writers,
    who take the stream row for each post, wait only for this commit.
    """
    deleted = {}
    postgres = connection.vendor == "postgresql"
    with transaction.atomic():
        if postgres:
            # Check the event -> message foreign key now, not at COMMIT, which
            # would hold the stream row for a lookup per deleted message.
            _set_constraints("IMMEDIATE")
        marks, rooms, files = _delete_messages(ids)
        uploads.files_delete_on_commit([name for stored in files for name in stored[:2]])
        if postgres:
            # Back to Django's default: SET CONSTRAINTS outlives a savepoint, so a
            # caller's enclosing transaction would otherwise keep IMMEDIATE.
            _set_constraints("DEFERRED")
        for room_id in rooms:
            deleted[room_id] = deleted.get(room_id, 0) + 1
        if mark and marks:
            stream.mark_pruned(max(marks.values()), rooms=marks)
    if freed is not None:
        freed.add(len(files), sum(size for _, _, size in files))
    return deleted


def _set_constraints(mode):
    with connection.cursor() as cursor:
        cursor.execute(f"SET CONSTRAINTS ALL {mode}")


def _delete_messages(ids) -> tuple[dict[int, int], list[int], list[tuple[str, str, int]]]:
    """Delete these messages, their events and uploads.

    Return ({room id: its last deleted position}, their room ids, the uploads'
    (file, thumbnail, size)): the caller deletes the files once this commits.

    Plain DELETEs with RETURNING: QuerySet.delete() would first load every
    message (bodies and all) to cascade to the events by hand. What refers to
    the messages goes first, by indexed message_id (their events, edits and
    reactions included; their reactions; their mentions; their uploads), so the
    messages then have nothing pointing at them.
    """
    marks, rooms, files = {}, [], []
    chunk = connection.features.max_query_params or len(ids)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), chunk):
            part = ids[start:start + chunk]
            placeholders = ", ".join(["%s"] * len(part))
            cursor.execute(
                f"DELETE FROM {Event._meta.db_table} WHERE message_id IN ({placeholders}) RETURNING position, room_id",
                part,
            )
            for position, room_id in cursor.fetchall():
                marks[room_id] = max(marks.get(room_id, 0), position)
            for model in (Reaction, Mention):
                cursor.execute(f"DELETE FROM {model._meta.db_table} WHERE message_id IN ({placeholders})", part)
            cursor.execute(
                f"DELETE FROM {Upload._meta.db_table} WHERE message_id IN ({placeholders})"
                " RETURNING file, thumbnail, size", part,
            )
            files.extend(cursor.fetchall())
            cursor.execute(
                f"DELETE FROM {Message._meta.db_table} WHERE id IN ({placeholders}) RETURNING room_id", part
            )
            rooms.extend(row[0] for row in cursor.fetchall())
    return marks, rooms, files


def ephemeral_cutoff(now):
    """Return the time before which ephemeral messages go, so none outlives PARLEY_EPHEMERAL_SECONDS."""
    seconds = max(settings.PARLEY_EPHEMERAL_SECONDS - MAINTENANCE_GAP_SECONDS, EPHEMERAL_MIN_SECONDS)
    return now - timedelta(seconds=seconds)


def purge_transient(*, now=None, freed: uploads.Freed | None = None) -> dict[str, int]:
    """Clear ephemeral messages (their files counted in `freed`), old typing and other events; return what went."""
    now = now or timezone.now()
    ephemeral = Message.objects.filter(room__is_ephemeral=True, created_at__lt=ephemeral_cutoff(now))
    report = {"ephemeral_messages": 0}
    for _ in range(1000):  # bounded; a minute of ephemeral chat is far less
        ids = list(ephemeral.order_by("id").values_list("id", flat=True)[:BATCH_SIZE])
        if not ids:
            break
        # Ephemeral messages were only ever for live pollers: no cursor expires over them.
        report["ephemeral_messages"] += sum(_delete_batch(ids, mark=False, freed=freed).values())
    report["typing_events"] = Event.objects.filter(
        type=Event.TYPING, created_at__lt=now - timedelta(seconds=settings.PARLEY_TYPING_SECONDS)
    ).delete()[0]
    old = Event.objects.filter(
        message__isnull=True, created_at__lt=now - timedelta(seconds=settings.PARLEY_EVENT_RETENTION_SECONDS)
    ).exclude(type=Event.TYPING)
    last = old.aggregate(last=Max("position"))["last"]
    report["other_events"] = 0
    if last:
        with transaction.atomic():
            report["other_events"] = old.filter(position__lte=last).delete()[0]
            stream.mark_pruned(last)  # last: writers wait on the stream row
    return report
