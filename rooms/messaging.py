"""Writes about messages: post, edit, delete, react. With rooms/services.py, the only writers of events.

A message's body is Markdown, rendered once here (rooms/markdown.py) when it
is posted or edited, and stored with its HTML, plain text and mentions, so
no read renders anything. Every change reaches the room's members as an event
of the stream, in order with the messages (rooms/event_types.py).

An edit, a delete and a reaction take the message's room's stream position
first, as every write does, and change the row in the same transaction: two
edits of one message are applied in the order their events are read.

A message may list uploads of its author in its room (`attachments`): they
are attached in the transaction that stores the message, by one conditional
UPDATE (still unattached, the author's, this room's), so two posts cannot
attach the same upload. Such a post takes the ORM path on PostgreSQL too;
the one-statement insert stays the path of plain messages, the hot write.
"""
import json
import re
from contextlib import nullcontext
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, Max, When
from django.utils import timezone

from . import services, stream
from .event_types import message_deleted_event, message_event, message_updated_event, reaction_event
from .group_commit import GroupCommit
from .markdown import render
from .models import Event, Membership, Mention, Message, Reaction, Room, Stream, Upload

MAX_ATTACHMENTS = 10


class EditWindowClosed(Exception):
    """The message is older than PARLEY_EDIT_SECONDS: it can no longer be edited."""


# What a message may hold and still look empty: white space (Python's, which is wider than
# JavaScript's) and the invisible zero-width space, joiners, word joiner and byte-order mark.
# The client disables Send for the same set (static/js/parley/blank.js).
_BLANK = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]*")


def is_blank(text: str) -> bool:
    return _BLANK.fullmatch(text) is not None


def check_body(body, *, attachments=False):
    """A message needs some text, unless it carries files."""
    if (not body or is_blank(body)) and not attachments:
        raise ValidationError({"body": ["A message needs some text."]})
    limit = settings.PARLEY_MAX_MESSAGE_CHARS
    if len(body) > limit:
        raise ValidationError({"body": [f"At most {limit} characters."]})


def _rendered(room, body):
    """Render `body` for `room`: mentions resolve among its members, @**all** to every one of them."""
    members = {}
    if "@**" in body:  # only then are the room's members worth a query
        members = {
            m.user_id: m.user.display_name
            for m in Membership.objects.filter(room=room).select_related("user").only(
                "user_id", "user__first_name", "user__last_name", "user__email")
        }
    rendered = render(body, members=members)
    mentions = sorted(members) if rendered.mention_all else sorted(set(rendered.mentions))
    return rendered, mentions


def _fill(message, rendered, mentions):
    message.html, message.text = rendered.html, rendered.text
    message.mentions, message.mentions_everyone = mentions, rendered.mention_all


# Posting -------------------------------------------------------------------------


def message_post(*, room: Room, author, body: str, client_id: str | None = None,
                 reply_to: int | None = None, attachments=()) -> tuple[Message, bool]:
    """Post a message; a repeated `client_id` returns the first message and False.

    `attachments`: ids of the author's uploads into this room that no message
    has yet, in the order to show them (ValidationError otherwise, the same
    whether an id exists or not).
    """
    attachments = list(attachments)
    if len(attachments) > MAX_ATTACHMENTS or len(set(attachments)) != len(attachments):
        raise ValidationError({"attachments": [f"At most {MAX_ATTACHMENTS} distinct uploads."]})
    check_body(body, attachments=bool(attachments))
    if reply_to is not None and not Message.objects.filter(id=reply_to, room=room).exists():
        raise ValidationError({"reply_to": ["Not a message of this room."]})
    rendered, mentions = _rendered(room, body)
    # A repeated client_id is caught by the unique constraint, not by a query
    # before every insert: repeats are rare (a client resending after a lost
    # answer), posts are not.
    try:
        if connection.vendor == "postgresql" and not attachments:
            message = _insert_in_one_statement(
                room=room, author=author, body=body, client_id=client_id, reply_to=reply_to,
                rendered=rendered, mentions=mentions,
            )
        else:
            with transaction.atomic():
                position = stream.take_position()
                message = Message(room=room, author=author, body=body, client_id=client_id, reply_to_id=reply_to)
                _fill(message, rendered, mentions)
                message.save()
                _store_mentions(message, rendered)
                message.attachment_list = _attach(message, attachments)
                Room.objects.filter(pk=room.pk).update(last_message_id=message.id)
                message.reaction_rows = []
                stream.append(position=position, type=Event.MESSAGE, room=room, message=message,
                              data=message_event(message))
        room.last_message_id = message.id
    except IntegrityError:
        existing = _by_client_id(room, author, client_id) if client_id is not None else None
        if existing is None:
            raise
        return existing, False
    services.typing_forget(room_id=room.id, user_id=author.id)  # here at once; other processes as they read it
    return message, True


def _attach(message, upload_ids) -> list[Upload]:
    """Attach these uploads to the new message, in this order; raise ValidationError unless all could be."""
    if not upload_ids:
        return []
    attached = Upload.objects.filter(
        id__in=upload_ids, uploader_id=message.author_id, room_id=message.room_id, message__isnull=True,
    ).update(
        message=message,
        attachment_index=Case(*(When(id=upload_id, then=index) for index, upload_id in enumerate(upload_ids))),
    )
    if attached != len(upload_ids):  # rolls the whole post back
        raise ValidationError({"attachments": ["Only your own files, uploaded to this room and not yet sent."]})
    return list(Upload.objects.filter(message=message).order_by("attachment_index"))


def _store_mentions(message, rendered):
    """Index who is named (not @**all**, which mentions_everyone says): each room's mention_count reads it."""
    named = sorted(set(rendered.mentions))
    if named:
        Mention.objects.bulk_create([Mention(message=message, user_id=user_id) for user_id in named])


def _insert_in_one_statement(*, room, author, body, client_id, reply_to, rendered, mentions) -> Message:
    """Store a message, its mentions and its event in one statement, its own transaction (PostgreSQL).

    Messages are the hot write, and every write holds the stream row from its
    position to its commit (rooms/stream.py). As separate statements that is
    several round trips, each a wait for the worker's attention under load; as
    one statement run in autocommit it is one, and the lock lasts the
    statement and its commit. The message id is drawn after the stream row is
    locked (its INSERT reads the position's row), so ids follow positions.

    Run from a view (no transaction open), the message joins whatever else
    this process is posting at the moment: one statement and one commit for
    all of them (rooms/group_commit.py). Alone, or when that batch fails, it
    is written by itself.
    """
    created_at = timezone.now()
    draft = Message(id=0, room=room, author=author, body=body, client_id=client_id, created_at=created_at,
                    reply_to_id=reply_to)
    _fill(draft, rendered, mentions)
    draft.reaction_rows = []
    draft.attachment_list = []
    row = {
        "room": room.id, "author": author.id, "body": body, "client_id": client_id, "created_at": created_at,
        "html": draft.html, "text": draft.text, "mentions": json.dumps(mentions),
        "everyone": draft.mentions_everyone, "reply_to": reply_to, "named": sorted(set(rendered.mentions)),
        "data": json.dumps(message_event(draft)),
    }
    message_id = None if connection.in_atomic_block else group_commit.write(row)
    if message_id is None:
        message_id = _insert_alone(row)
    draft.id = message_id
    return draft


def _tables():
    return {name: model._meta.db_table for name, model in
            (("stream", Stream), ("message", Message), ("room", Room), ("event", Event), ("mention", Mention))}


ONE_SQL = """
    WITH pos AS (
        UPDATE {stream} SET last_position = last_position + 1 WHERE id = 1 RETURNING last_position
    ), msg AS (
        INSERT INTO {message} (room_id, author_id, body, client_id, created_at, html, text, mentions,
                               mentions_everyone, reply_to_id, edited_at)
        SELECT %(room)s, %(author)s, %(body)s, %(client_id)s, %(created_at)s, %(html)s, %(text)s,
               %(mentions)s::jsonb, %(everyone)s, %(reply_to)s, NULL FROM pos
        RETURNING id
    ), named AS (
        INSERT INTO {mention} (message_id, user_id) SELECT msg.id, unnest(%(named)s::bigint[]) FROM msg
    ), touched AS (
        UPDATE {room} SET last_message_id = (SELECT id FROM msg) WHERE id = %(room)s
    ), stored AS (
        INSERT INTO {event} (position, type, room_id, message_id, is_public, data, created_at)
        SELECT pos.last_position, %(type)s, %(room)s, msg.id, false,
               jsonb_set(%(data)s::jsonb, '{{message,id}}', to_jsonb(msg.id)), %(created_at)s
        FROM pos, msg
    ), woken AS (
        SELECT pg_notify(%(channel)s, '')
    )
    SELECT msg.id FROM msg, woken
"""

# The same for n messages: positions last - n + 1 .. last and ids drawn in the
# order of the rows (`k`), both after the stream row is locked (`ids` joins
# `pos`). Mentions come flattened: (the row's k, the user named).
BATCH_SQL = """
    WITH pos AS (
        UPDATE {stream} SET last_position = last_position + %(n)s WHERE id = 1 RETURNING last_position
    ), input AS (
        SELECT * FROM unnest(%(room)s::bigint[], %(author)s::bigint[], %(body)s::text[], %(client_id)s::text[],
                             %(created_at)s::timestamptz[], %(html)s::text[], %(text)s::text[],
                             %(mentions)s::jsonb[], %(everyone)s::boolean[], %(reply_to)s::bigint[],
                             %(data)s::jsonb[])
            WITH ORDINALITY AS t(room, author, body, client_id, created_at, html, text, mentions, everyone,
                                 reply_to, data, k)
    ), ids AS (
        SELECT ordered.*, nextval(pg_get_serial_sequence('{message}', 'id')) AS id
        FROM (SELECT input.*, pos.last_position - %(n)s + input.k AS position
              FROM input, pos ORDER BY input.k) ordered
    ), msg AS (
        INSERT INTO {message} (id, room_id, author_id, body, client_id, created_at, html, text, mentions,
                               mentions_everyone, reply_to_id, edited_at)
        SELECT id, room, author, body, client_id, created_at, html, text, mentions, everyone, reply_to, NULL
        FROM ids ORDER BY k
    ), named AS (
        INSERT INTO {mention} (message_id, user_id)
        SELECT ids.id, named.user_id FROM unnest(%(named_k)s::bigint[], %(named_user)s::bigint[])
            AS named(k, user_id) JOIN ids ON ids.k = named.k
    ), touched AS (
        UPDATE {room} SET last_message_id = newest.id
        FROM (SELECT room, max(id) AS id FROM ids GROUP BY room) newest WHERE {room}.id = newest.room
    ), stored AS (
        INSERT INTO {event} (position, type, room_id, message_id, is_public, data, created_at)
        SELECT position, %(type)s, room, id, false, jsonb_set(data, '{{message,id}}', to_jsonb(id)), created_at
        FROM ids ORDER BY k
    ), woken AS (
        SELECT pg_notify(%(channel)s, '')
    )
    SELECT ids.id FROM ids, woken ORDER BY ids.k
"""


def _insert_alone(row) -> int:
    params = {**row, "type": Event.MESSAGE, "channel": stream.CHANNEL}
    # Run from a view, the statement is its own transaction (autocommit): one
    # round trip. Inside a caller's transaction (an admin action, a script) a
    # savepoint keeps a duplicate client_id from aborting the caller's work, as
    # the IntegrityError is caught and answered by message_post.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        with connection.cursor() as cursor:
            cursor.execute(ONE_SQL.format(**_tables()), params)
            message_id = cursor.fetchone()[0]
    stream.wake_on_commit()  # the statement sent the NOTIFY for the other processes
    return message_id


def _insert_batch(rows) -> list[int]:
    """Write these messages in one statement and one transaction (autocommit); return their ids in order."""
    if len(rows) == 1:
        return [_insert_alone(rows[0])]
    columns = ("room", "author", "body", "client_id", "created_at", "html", "text", "mentions", "everyone",
               "reply_to", "data")
    params = {column: [row[column] for row in rows] for column in columns}
    params["named_k"] = [k for k, row in enumerate(rows, 1) for _ in row["named"]]
    params["named_user"] = [user_id for row in rows for user_id in row["named"]]
    params.update(n=len(rows), type=Event.MESSAGE, channel=stream.CHANNEL)
    with connection.cursor() as cursor:
        cursor.execute(BATCH_SQL.format(**_tables()), params)
        ids = [row[0] for row in cursor.fetchall()]
    stream.wake_on_commit()
    return ids


group_commit = GroupCommit(_insert_batch)


def _by_client_id(room, author, client_id):
    return Message.objects.with_refs().filter(room=room, author=author, client_id=client_id).first()


# Editing and deleting ---------------------------------------------------------------


def message_edit(*, message: Message, body: str, now=None) -> Message:
    """Replace the message's body (its author's call, checked by the view) within PARLEY_EDIT_SECONDS."""
    check_body(body)
    now = now or timezone.now()
    if now - message.created_at > timedelta(seconds=settings.PARLEY_EDIT_SECONDS):
        raise EditWindowClosed("This message can no longer be edited.")
    rendered, mentions = _rendered(message.room, body)
    with transaction.atomic():
        position = stream.take_position()
        current = Message.objects.with_refs().filter(pk=message.pk).first()
        if current is None:  # deleted meanwhile
            raise Message.DoesNotExist
        current.body, current.edited_at = body, now
        _fill(current, rendered, mentions)
        current.save(update_fields=["body", "edited_at", "html", "text", "mentions", "mentions_everyone"])
        Mention.objects.filter(message=current).delete()
        _store_mentions(current, rendered)
        stream.append(position=position, type=Event.MESSAGE_UPDATED, room=current.room, message=current,
                      data=message_updated_event(current))
    return current


def message_delete(*, message: Message) -> None:
    """Delete the message, its reactions, mentions and events; tell the room.

    Its own events go with it (their rows refer to it), so a reader catching up
    later never sees its text; the deletion itself is an event of the room.
    """
    room = message.room
    with transaction.atomic():
        position = stream.take_position()
        deleted, _ = Message.objects.filter(pk=message.pk).delete()
        if not deleted:
            return
        if room.last_message_id == message.id:
            newest = Message.objects.filter(room=room).aggregate(newest=Max("id"))["newest"]
            Room.objects.filter(pk=room.pk).update(last_message_id=newest)
        stream.append(position=position, type=Event.MESSAGE_DELETED, room=room,
                      data=message_deleted_event(room=room, message_id=message.id))


# Reactions ---------------------------------------------------------------------------


def reaction_add(*, message: Message, user, emoji: str) -> bool:
    """Add the user's `emoji` (canonical, rooms/emoji.py) to the message; False if it was there."""
    with transaction.atomic():
        position = stream.take_position()
        if not Message.objects.filter(pk=message.pk).exists():
            raise Message.DoesNotExist
        _, created = Reaction.objects.get_or_create(message=message, user=user, emoji=emoji)
        if created:
            stream.append(position=position, type=Event.REACTION, room=message.room, message=message,
                          data=reaction_event(message=message, user=user, emoji=emoji, action="added"))
    return created


def reaction_remove(*, message: Message, user, emoji: str) -> bool:
    """Take the user's `emoji` off the message; False if it was not there."""
    with transaction.atomic():
        position = stream.take_position()
        removed, _ = Reaction.objects.filter(message=message, user=user, emoji=emoji).delete()
        if removed:
            stream.append(position=position, type=Event.REACTION, room=message.room, message=message,
                          data=reaction_event(message=message, user=user, emoji=emoji, action="removed"))
    return bool(removed)
