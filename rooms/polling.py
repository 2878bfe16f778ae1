"""One long poll: fetch_events() answers it now or says how to wait (Zulip's fetch_events).

The view (rooms/api.py events_view) only turns HTTP into a call of
fetch_events() and its result back into HTTP. Everything about delivery is
decided here, once per poll:

- the cursor: parsed, and checked for expiry once (a cursor past the head, or
  before purged events the user could see, is `expired`: 410);
- what the user sees after it (from the hub's buffer, or the database for a
  cursor older than the buffer), with the events of people they block left out
  (rooms/blocking.py);
- whether to wait: nothing yet, or a flood (Hub.gather_seconds), returns a
  `Wait`, with a little jitter on its timeout so that clients that started
  together do not come back together. The deferred WSGI layer
  (parley/server/deferred.py) completes it outside Django, holding no database
  connection.

Tests call the same two steps, fetch_events() then Wait.complete().
"""
import random
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections

from users import tokencache

from . import blocking
from .hub import hub
from .models import Event
from .stream import CursorExpired, cursor_expired, membership_changes, rooms_and_stream, stream_state
from .visibility import filter_entries, load_entries, rooms_at

CATCH_UP_LIMIT = 500
MAX_CURSOR_DIGITS = 18


class InvalidCursor(ValueError):
    """The cursor is not one the server hands out."""


@dataclass
class Answer:
    """What the poll answers: events and the cursor to poll from next, or that the cursor expired."""
    cursor: int | None = None
    events: list = field(default_factory=list)
    expired: bool = False


EXPIRED = Answer(expired=True)


@dataclass
class Wait:
    """A poll that waits: complete() waits up to `timeout` seconds and returns the Answer."""
    user_id: int
    room_ids: frozenset
    cursor: int
    timeout: float
    changes: tuple  # tokencache.changes_of(user) as the poll began
    blocked: frozenset

    def complete(self) -> Answer:
        """Wait for events after the cursor, holding no database connection; return the answer.

        The user was authenticated when the poll arrived. If they may have been
        deactivated or logged out since (tokencache.changes_of), the poll answers
        with nothing from where it started: the client's next poll authenticates
        again, and is refused or gets these events then.
        """
        try:
            found, cursor = _wait(self.user_id, self.room_ids, self.cursor, self.timeout)
        except CursorExpired:
            return EXPIRED
        if found and tokencache.cache.changes_of(self.user_id) != self.changes:
            return Answer(self.cursor, [])
        return _answer(cursor, found, self.user_id, self.blocked)


def fetch_events(*, user, cursor: str, timeout: float) -> Answer | Wait:
    """Answer a poll for `user` after `cursor` (as the client sent it), or return how to wait for one.

    `timeout` is what the client asked for, in seconds: it is capped here
    (PARLEY_POLL_TIMEOUT_MAX, and PARLEY_SHORT_POLL_SECONDS where polls may not
    wait long). Raise InvalidCursor for a cursor the server never handed out.
    """
    timeout = min(timeout, settings.PARLEY_POLL_TIMEOUT_MAX)
    if settings.PARLEY_POLL_MODE == "short":  # no gevent: a waiting poll would hold a whole worker (config/wsgi.py)
        timeout = min(timeout, settings.PARLEY_SHORT_POLL_SECONDS)
    if not cursor:
        return Answer(stream_state()[0], [])
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > MAX_CURSOR_DIGITS:
        raise InvalidCursor(cursor)
    cursor = int(cursor)
    room_ids, head, pruned = poll_state(user.id, cursor if timeout > 0 else None)
    try:
        if cursor > head or cursor_expired(user.id, room_ids, cursor, pruned):
            return EXPIRED
        found, after = _now(user.id, room_ids, cursor, head)
    except CursorExpired:
        return EXPIRED
    blocked = frozenset(user.blocked_ids)  # as the poll starts: rooms/blocking.py
    if timeout <= 0 or (found and not hub.gather_seconds(user.id)):
        return _answer(after, found, user.id, blocked)
    # Nothing yet: wait from where we are. Or a flood (Hub.gather_seconds): wait from the
    # same cursor, so that the answer carries these events and what comes meanwhile.
    start = cursor if found else after
    return Wait(user.id, room_ids, start, timeout * random.uniform(0.9, 1.0),
                tokencache.cache.changes_of(user.id), blocked)


def _answer(cursor, found, user_id, blocked):
    found = blocking.visible_events(found, blocked)
    if found:
        hub.note_answer(user_id, len(found))  # floods are told by the answers they make
    return Answer(cursor, found)


def poll_state(user_id: int, cursor: int | None = None) -> tuple[frozenset, int, int]:
    """Return (rooms, head, pruned_through) for a poll: the stream now, the user's rooms at or after it.

    One query when this process knows the user's rooms (Hub.rooms_of), else
    two. The buffer is then loaded through `head`, as the poll needs.

    With a `cursor` (a poll that may wait), no query at all when the hub is
    current and already past the cursor: its head is then at most a wake-up
    behind the database, and a poll that waits gets what is still on its way
    when the fetch loop reads it, milliseconds later. A poll that may not
    wait (timeout 0) reads the head, to see every write acknowledged before it.
    """
    if cursor is not None and hub.current:
        head, pruned, rooms = hub.head, hub.pruned, hub.rooms_of(user_id)
        if rooms is not None and head is not None and cursor <= head:
            return rooms, head, pruned
    head, pruned = stream_state()
    hub.ensure_loaded(head)
    rooms = hub.rooms_of(user_id)
    if rooms is None:
        rooms, head, pruned = rooms_and_stream(user_id)
        hub.ensure_loaded(head)
        hub.remember_rooms(user_id, rooms, head)
    return rooms, head, pruned


def _now(user_id, room_ids, cursor, head):
    """Return (events, cursor) after `cursor` without waiting, the events possibly none.

    `room_ids` and `head` come from poll_state(): everything up to `head` is
    then loaded, so rooms_at() can undo the user's joins and leaves back to
    the cursor.
    """
    hub.ensure_loaded(head)
    result = hub.collect(user_id, room_ids, cursor)
    if result is None:
        result = collect_stored(user_id, room_ids, cursor, head)
    return result


def _wait(user_id, room_ids, cursor, timeout):
    """Return (events, cursor) once there are events after `cursor`, or after `timeout` seconds."""
    release_connection()
    result = hub.wait(user_id, room_ids, cursor, timeout)
    if result is None:
        return collect_stored(user_id, room_ids, cursor, stream_state()[0])
    return result


def release_connection():
    """Close this thread's database connection: a waiting poll holds none.

    Under the deferred WSGI layer Django has already given it back; a server
    that runs the wait inside the view (one that loads another WSGI callable)
    needs this.

    Then forget this greenlet's connection object too (Django keeps one per
    greenlet, closed or not): a closed DatabaseWrapper and its dicts are about
    3 KB that each of ten thousand waiting polls would keep alive for nothing
    (docs/benchmarks.md, "Idle: per-waiter memory"). Inside a transaction
    (tests) it stays.
    """
    connection.close()
    if connection.connection is None and not connection.in_atomic_block:
        del connections[DEFAULT_DB_ALIAS]


def collect_stored(user_id, room_ids, cursor, head):
    """Read events after `cursor` up to `head` from the database, for cursors older than the buffer.

    `head` was read before this is called, `room_ids` at or after it. Every
    change at or below `head` had committed when `head` was read, so the
    user's joins and leaves read first cover every event read second: a join
    that commits in between lies past `head`, and so do its room's messages,
    which the next poll reads with it.
    """
    # The user's own joins and leaves since the cursor, all of them (they are
    # few), to know their rooms at the cursor and which rooms to read.
    changes = membership_changes(user_id, cursor)
    rooms = rooms_at(user_id, room_ids, changes)
    candidates = rooms | set(room_ids) | {entry.change[1] for entry in changes}
    entries = load_entries(
        Event.objects.after(cursor).filter(position__lte=head).for_member(user_id, candidates)[:CATCH_UP_LIMIT]
    )
    if cursor_expired(user_id, candidates, cursor, stream_state()[1]):
        # A purge committed after the caller checked the cursor: what it deleted
        # is missing from `entries`, so skipping past it would lose it silently.
        raise CursorExpired()
    if len(entries) == CATCH_UP_LIMIT:
        next_cursor = entries[-1].position
    else:
        next_cursor = max([head, cursor] + [entry.position for entry in entries[-1:]])
    return filter_entries(entries, user_id, rooms), next_cursor
