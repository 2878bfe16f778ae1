"""Delivery: the event stream, its positions, and waking the polls that wait on it.

Positions. Every event (message, typing, receipt, presence, room change) is a
row of one stream, at a position taken from the single `Stream` row with
`UPDATE ... RETURNING` inside the writing transaction. That row stays locked
until commit, so positions are handed out in commit order and without gaps: a
reader that sees position N has seen every event below N. (Ids alone would
not do: with concurrent writers id 11 can commit before id 10, and a cursor
at 11 would skip 10 for ever.)
Services take the position first, before their other writes, so message ids
grow in the same order as positions. The price is that writers queue on one
row for the length of a short transaction; docs/benchmarks.md measures it.
A cursor is simply the last position a client has seen.

Waiting. A poll reads what it needs (the stream head, the user's rooms),
gives its database connection back, and waits on an in-process `Waiter`: ten
thousand waiting polls must not mean ten thousand database connections. Each process has one `Hub`: it keeps the newest events in
memory, and one fetch loop reads new events from the database once per wake
for all of the process's waiters, then wakes only those whose rooms (or whose
user) the new events concern: one read per wake, however many polls wait.
Waiters register before their final check, so a wake between check and wait
is never lost.

Wake-ups are hints: `on_commit` within a process and PostgreSQL
`LISTEN/NOTIFY` across processes and hosts. The notification is sent
inside the writing transaction, so PostgreSQL delivers it only on commit.
The fetch loop also re-reads every few seconds while polls wait, and the
listener wakes everyone after it reconnects, since notifications sent while
it was away are gone.
"""
import bisect
import logging
import os
import threading
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, Q, Subquery, Value, When
from django.db.models.functions import Greatest

from parley import listen
from users import tokencache

from .models import Event, Membership, Room, Stream

log = logging.getLogger(__name__)

CHANNEL = "parley_events"
BUFFER_SIZE = 4096
CATCH_UP_LIMIT = 500
SAFETY_REFRESH_SECONDS = 5
MAINTENANCE_SECONDS = 10
ROOMS_KEPT_SECONDS = 120  # a polling client asks at least every 55 s
FLOOD_EVENTS = 5  # floods: see Hub.gather_seconds
FLOOD_WINDOW_SECONDS = 1.0
FLOOD_HOLD_SECONDS = 5.0
GATHER_SECONDS = 1.0
BUSY_ANSWERS_PER_SECOND = 200


class CursorExpired(Exception):
    """The cursor points before events the server no longer keeps."""


# Writing ---------------------------------------------------------------------


def take_position() -> int:
    """Take the next stream position; the stream row stays locked until commit."""
    if not connection.in_atomic_block:
        raise RuntimeError("take_position() must run inside transaction.atomic()")
    table = Stream._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET last_position = last_position + 1 WHERE id = 1 RETURNING last_position")
        row = cursor.fetchone()
    if row is None:
        # Only a flushed test database lacks the row the migration creates.
        Stream.objects.get_or_create(id=1)
        return take_position()
    return row[0]


def append(*, position: int, type: str, data: dict, room=None, message=None, subject=None,
           audience=None, is_public=False) -> Event:
    """Store an event at `position` and wake the pollers once it commits."""
    event = Event.objects.create(
        position=position, type=type, data=data, room=room, message=message,
        subject=subject, audience=audience, is_public=is_public,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, str(position)])
    transaction.on_commit(hub.wake)
    return event


def stream_state() -> tuple[int, int]:
    """Return (head, pruned_through) of the stream as committed now."""
    # Every poll asks: plain SQL spares the ORM compiling the same query each time.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT last_position, pruned_through FROM {Stream._meta.db_table} WHERE id = 1")
        row = cursor.fetchone()
    return tuple(row) if row else (0, 0)


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


def cursor_expired(user_id: int, room_ids, cursor: int, pruned: int) -> bool:
    """Say whether events the user could see after `cursor` were purged (the poll answers 410).

    `pruned` is the stream's pruned_through, read with `room_ids` (the user's
    rooms now): a cursor at or past it lost nothing, and costs no query. Below
    it, the events of no one room (shared_pruned_through) and the marks of the
    rooms the user was in at any time since the cursor decide.
    """
    if cursor >= pruned:
        return False
    changes = _membership_changes(user_id, cursor)
    rooms = set(room_ids) | {entry.change[1] for entry in changes}
    shared = Stream.objects.filter(id=1).values_list("shared_pruned_through", flat=True).first() or 0
    return cursor < shared or Room.objects.filter(id__in=rooms, pruned_through__gt=cursor).exists()


def _membership_changes(user_id, cursor):
    """The user's joins and leaves after `cursor`, from the database (they are few)."""
    return load_entries(Event.objects.after(cursor).filter(
        Q(type=Event.ROOM, subject_id=user_id) | Q(type=Event.MEMBERSHIP, data__user_id=user_id)
    ))


# Reading ---------------------------------------------------------------------


class Entry:
    """An event as the hub keeps it: what decides who sees it, and the JSON to send.

    Membership is followed through the stream: a `room` event of the user
    (joined, created, invited, left) and the `membership` events that the
    database itself writes for every row added to or deleted from the
    memberships table (migration 0005), however it was changed. The two agree
    for changes made by the services (the same change twice is harmless);
    the second alone covers admin, shells and SQL. `membership` events are
    never sent to clients.
    """

    __slots__ = ("position", "type", "room_id", "subject_id", "is_public", "audience", "data", "change")

    def __init__(self, position, type, room_id, subject_id, is_public, audience, data):
        self.position = position
        self.type = type
        self.room_id = room_id
        self.subject_id = subject_id
        self.is_public = is_public
        self.audience = frozenset(audience) if audience else frozenset()
        self.data = data
        self.change = _change_of(type, room_id, subject_id, data)  # (user id, room id, JOINED or LEFT), or None

    def membership_change(self, user_id):
        """JOINED or LEFT if this event makes `user_id` a member of its room or ends that; else None."""
        if self.change is None or self.change[0] != user_id:
            return None
        return self.change[2]

    def follow(self, user_id, rooms):
        """Apply the user's join or leave in this event, if it is one, to their set of `rooms`."""
        change = self.membership_change(user_id)
        if change is JOINED:
            rooms.add(self.change[1])
        elif change is LEFT:
            rooms.discard(self.change[1])

    def visible_to(self, user_id, rooms):
        """Say whether the user sees this event; follows their joins and leaves in `rooms`.

        `rooms` must be the user's rooms just before this event (see rooms_at()).
        """
        self.follow(user_id, rooms)
        if self.type == Event.MEMBERSHIP:
            return False
        if self.type == Event.ROOM and self.subject_id == user_id:
            return True
        if self.room_id is not None:
            return self.room_id in rooms or self.is_public
        return self.subject_id == user_id or not self.audience.isdisjoint(rooms)


def _change_of(type, room_id, subject_id, data):
    if type == Event.MEMBERSHIP:
        return data["user_id"], data["room_id"], JOINED if data["action"] == "joined" else LEFT
    if type == Event.ROOM:
        action = data.get("action")
        if action in JOIN_ACTIONS:
            return subject_id, room_id, JOINED
        if action == "left":
            return subject_id, room_id, LEFT
    return None  # "updated": the user changed the room, which makes them no member


JOINED, LEFT = "joined", "left"
JOIN_ACTIONS = frozenset({"joined", "created", "invited"})
ENTRY_FIELDS = ("position", "type", "room_id", "subject_id", "is_public", "audience", "data")


def load_entries(queryset):
    return [Entry(*row) for row in queryset.values_list(*ENTRY_FIELDS)]


def rooms_at(user_id, rooms_now, entries):
    """The user's rooms just before `entries`, from their rooms after them (or later).

    `rooms_now` is read from the memberships table at some moment; `entries`
    must run from the cursor to at least the stream head of that moment. Each
    join or leave of the user is undone, newest first. Undoing a change the
    memberships did not show yet is harmless (removing an absent room, adding
    a present one), so a later end is fine; an earlier one is not.
    """
    rooms = set(rooms_now)
    for entry in reversed(entries):
        change = entry.membership_change(user_id)
        if change is JOINED:
            rooms.discard(entry.room_id)
        elif change is LEFT:
            rooms.add(entry.room_id)
    return rooms


def filter_entries(entries, user_id, rooms):
    """What the user sees of `entries`; `rooms` are their rooms just before the first one."""
    rooms = set(rooms)
    return [entry.data for entry in entries if entry.visible_to(user_id, rooms)]


class Waiter:
    __slots__ = ("user_id", "rooms", "event")

    def __init__(self, user_id, rooms):
        self.user_id = user_id
        self.rooms = rooms
        self.event = threading.Event()


class Hub:
    """This process's buffer of recent events and its waiting polls."""

    def __init__(self):
        self._pid = None
        self._start_lock = threading.Lock()

    def _ensure_started(self):
        if self._pid == os.getpid():
            return
        with self._start_lock:
            if self._pid == os.getpid():
                return
            self._lock = threading.Lock()
            self._fetch_lock = threading.Lock()
            self._wanted = threading.Event()
            self._positions = []
            self._entries = []
            self.head = None
            self.pruned = 0  # pruned_through as of the last read: may be behind, never ahead
            self.floor = 0
            self._gaps = {}  # room id -> purge mark past what the buffer had read (see _gaps_since)
            self._shared_gap = 0
            self.closing = False
            self._waiters = set()
            self._by_room = defaultdict(set)
            self._by_user = defaultdict(set)
            self._rooms = {}  # user id -> [their rooms as of self.head, when last asked]
            self._answers = {}  # user id -> (when their last answer went, until when they are flooded)
            self.answer_rate, self._answered, self._rate_since = 0.0, 0, time.monotonic()  # answers with events/s
            self._pid = os.getpid()
            if not settings.PARLEY_BACKGROUND_THREADS:
                return  # in-process tests drive refresh() and maintenance themselves
            self._start_thread(self._fetch_loop, "parley-fetch")
            for loop, name in _loops:
                self._start_thread(loop, name)
            listen.start()

    @staticmethod
    def add_loop(target, name):
        """Run `target` in a background thread of every process, from when its hub starts them.

        For periodic work above delivery (rooms/maintenance.py), which the hub cannot import.
        """
        _loops.append((target, name))

    def reset(self):
        """Forget the buffer and waiters (tests, whose databases roll back)."""
        self._pid = None

    @staticmethod
    def _start_thread(target, name):
        threading.Thread(target=target, name=name, daemon=True).start()

    # Wake-ups.

    def wake(self):
        """Ask the fetch loop to read new events (a hint; cheap to call often)."""
        self._ensure_started()
        self._wanted.set()

    def release_all(self):
        """Answer every waiting poll now (graceful shutdown)."""
        if self._pid != os.getpid():
            return  # never started in this process: no poll waits, and nothing to start now
        self.closing = True
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            waiter.event.set()

    @property
    def current(self):
        """Say whether this process hears of every commit as it happens (so its head is current).

        True when the fetch loop runs and, on PostgreSQL, the listener is connected:
        every write wakes the fetch loop within milliseconds.
        """
        return self._pid == os.getpid() and listen.current()

    @property
    def waiter_count(self):
        """How many polls wait in this process now (the worker's stats line, parley/server/worker.py)."""
        return len(self._waiters) if self._pid == os.getpid() else 0

    @property
    def waiting_user_ids(self):
        self._ensure_started()
        with self._lock:
            return {waiter.user_id for waiter in self._waiters}

    # The buffer.

    def refresh(self, at_least=None):
        """Read committed events past the buffer's head, then wake whom they concern.

        With `at_least`, nothing is read if the buffer already reaches that far:
        polls that arrive together after a wake share the one read.
        """
        self._ensure_started()
        with self._fetch_lock:
            if at_least is not None and self.head is not None and self.head >= at_least:
                return
            head, self.pruned = stream_state()
            if self.head is None:
                self.floor = self.head = max(head - BUFFER_SIZE, 0)
            if head <= self.head:
                return
            # The head was read first, so every event up to it is visible now. The
            # purge mark is read in the same statement (one snapshot): a purge that
            # committed after the head was read but before the events shows in it.
            rows = Event.objects.after(self.head).filter(position__lte=head).annotate(
                pruned=Subquery(Stream.objects.filter(id=1).values("pruned_through")[:1])
            ).values_list(*ENTRY_FIELDS, "pruned")
            entries = [Entry(*row[:-1]) for row in rows]
            self.pruned = rows[len(rows) - 1][-1] if entries else stream_state()[1]
            gaps = self._gaps_since(self.head) if self.pruned > self.head else None
            with self._lock:
                self._entries.extend(entries)
                self._positions.extend(entry.position for entry in entries)
                self._follow_users(entries)
                if gaps:
                    self._note_gaps(*gaps)
                self.head = head
                if len(self._entries) > 2 * BUFFER_SIZE:
                    cut = len(self._entries) - BUFFER_SIZE
                    self.floor = self._positions[cut - 1]
                    del self._entries[:cut], self._positions[:cut]
                    self._forget_gaps_below(self.floor)
                woken = self._concerned(entries)
        for waiter in woken:
            waiter.event.set()

    # Gaps. The purge may delete events past the buffer's head before this
    # process reads them (a room with a tiny retention, a process that fell
    # behind). Those events are simply absent from what refresh() reads, so
    # the buffer remembers where such a gap is: a poll from before it whose
    # user could see what went gets 410, like the database path's.

    @staticmethod
    def _gaps_since(position):
        """({room id: its purge mark}, shared mark) for marks past `position`."""
        rooms = dict(Room.objects.filter(pruned_through__gt=position).values_list("id", "pruned_through"))
        shared = Stream.objects.filter(id=1).values_list("shared_pruned_through", flat=True).first() or 0
        return rooms, shared if shared > position else 0

    def _note_gaps(self, rooms, shared):
        for room_id, mark in rooms.items():
            self._gaps[room_id] = max(self._gaps.get(room_id, 0), mark)
        self._shared_gap = max(self._shared_gap, shared)

    def _forget_gaps_below(self, floor):
        # A cursor below the floor reads the database, which checks the marks itself.
        self._gaps = {room_id: mark for room_id, mark in self._gaps.items() if mark > floor}

    def _gap_after(self, cursor, user_id, rooms_then, rooms, entries):
        if cursor < self._shared_gap:
            return True
        if not self._gaps:
            return False
        seen = rooms_then | rooms | {entry.change[1] for entry in entries if entry.membership_change(user_id)}
        return any(self._gaps.get(room_id, 0) > cursor for room_id in seen)

    def _concerned(self, entries):
        if any(entry.is_public for entry in entries):
            return set(self._waiters)
        woken = set()
        for entry in entries:
            if entry.room_id is not None:
                woken |= self._by_room.get(entry.room_id, set())
            if entry.subject_id is not None:
                woken |= self._by_user.get(entry.subject_id, set())
            if entry.change is not None:
                woken |= self._by_user.get(entry.change[0], set())
            for room_id in entry.audience:
                woken |= self._by_room.get(room_id, set())
        return woken

    def ensure_loaded(self, head):
        """Make sure the buffer holds everything up to `head` (the caller's database view)."""
        self._ensure_started()
        if self.head is None or self.head < head:
            self.refresh(at_least=head)

    def collect(self, user_id, rooms, cursor):
        """Return (events, cursor) after `cursor` from the buffer, or None if it doesn't reach back.

        `rooms` are the user's rooms as read at a stream head the buffer has reached.
        Raise CursorExpired if the purge deleted, before the buffer read them,
        events after `cursor` that the user could see.
        """
        with self._lock:
            if self.head is None or cursor < self.floor:
                return None
            start = bisect.bisect_right(self._positions, cursor)
            entries = self._entries[start:]
            head = self.head
            gaps = bool(self._gaps) or self._shared_gap > cursor
        rooms_then = rooms_at(user_id, rooms, entries)
        if gaps and self._gap_after(cursor, user_id, rooms_then, set(rooms), entries):
            raise CursorExpired()
        return filter_entries(entries, user_id, rooms_then), max(cursor, head)

    # Whose rooms are which. A poll needs the user's rooms as of a head the
    # buffer has reached. Reading them costs a query per poll; instead the hub
    # keeps them for users who poll here, as of its own head, and follows
    # their joins and leaves as it reads the events that make them (every
    # membership change is an event of the stream).

    def rooms_of(self, user_id):
        """The user's rooms as of the buffer's head, or None if this process does not know them."""
        self._ensure_started()
        with self._lock:
            known = self._rooms.get(user_id)
            if known is None:
                return None
            known[1] = time.monotonic()
            return frozenset(known[0])

    def remember_rooms(self, user_id, rooms, head):
        """Keep the user's rooms, read in one snapshot with stream head `head` (buffer loaded that far)."""
        with self._lock:
            if self.head is None or not self.floor <= head <= self.head:
                return
            rooms = set(rooms)
            for entry in self._entries[bisect.bisect_right(self._positions, head):]:
                entry.follow(user_id, rooms)
            self._rooms[user_id] = [rooms, time.monotonic()]

    def forget_rooms(self, idle_seconds):
        """Drop the rooms of users who have not polled here for a while."""
        if self._pid != os.getpid():
            return
        cutoff = time.monotonic() - idle_seconds
        with self._lock:
            for user_id in [user_id for user_id, (_, used) in self._rooms.items() if used < cutoff]:
                del self._rooms[user_id]
            for user_id in [user_id for user_id, (when, _) in self._answers.items() if when < cutoff]:
                del self._answers[user_id]

    def _follow_users(self, entries):
        """Keep what this process remembers of users as the stream changes it: rooms, and presence."""
        for entry in entries:
            if entry.change is not None and entry.change[0] in self._rooms:
                entry.follow(entry.change[0], self._rooms[entry.change[0]][0])
            elif entry.type == Event.PRESENCE:
                tokencache.cache.note_presence(entry.subject_id, entry.data.get("status") == "online")

    # Waiting.

    def wait(self, user_id, rooms, cursor, timeout):
        """Wait up to `timeout` seconds for events after `cursor`; return (events, cursor) or None.

        None means the buffer no longer reaches back to the cursor and the
        caller must read the database instead.
        """
        self._ensure_started()
        waiter = Waiter(user_id, frozenset(rooms))
        self._register(waiter)
        try:
            deadline = time.monotonic() + timeout
            gathered = False
            while True:
                waiter.event.clear()
                result = self.collect(user_id, rooms, cursor)
                if result is not None and result[0] and not gathered:
                    gathered = True
                    pause = self.gather_seconds(user_id)
                    if pause > 0:
                        time.sleep(pause)
                        continue
                if result is None or result[0]:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closing:
                    return result
                self._follow_rooms(waiter)
                waiter.event.wait(remaining)
        finally:
            self._unregister(waiter)

    # Floods. When messages pour into a user's rooms faster than the server can
    # answer each one, every answer brings its poller straight back for the next
    # few events, and answering that often takes the CPU the posts need (the
    # `burst` benchmark: 1,700 answers a second and only 110 of 500 messages a
    # second taken). A user who gets FLOOD_EVENTS or more in one answer, less
    # than FLOOD_WINDOW_SECONDS after the one before, is flooded for the next
    # FLOOD_HOLD_SECONDS: their answers go out at most once per GATHER_SECONDS,
    # so the same events go out in fewer, larger answers. A conversation (an
    # event or two per answer) or a catch-up after time away (one big answer
    # after a long gap) is never held back, and nobody is while this process
    # answers fewer than BUSY_ANSWERS_PER_SECOND polls with events (a server
    # that keeps up answers at once, as API.md says).

    def gather_seconds(self, user_id):
        """How long the user's next answer should wait to gather more events (0: answer now)."""
        last = self._answers.get(user_id)
        if last is None or not self.busy:
            return 0.0
        when, flooded_until = last
        now = time.monotonic()
        if now >= flooded_until:
            return 0.0
        return max(GATHER_SECONDS - (now - when), 0.0)

    @property
    def busy(self):
        """Say whether this process answered BUSY_ANSWERS_PER_SECOND polls with events a second, lately."""
        return self.answer_rate >= BUSY_ANSWERS_PER_SECOND and time.monotonic() - self._rate_since < 2.0

    def note_answer(self, user_id, count):
        """Record that the user was just answered with `count` events."""
        now = time.monotonic()
        if now - self._rate_since >= 1.0:
            self.answer_rate = self._answered / (now - self._rate_since)
            self._rate_since, self._answered = now, 0
        self._answered += 1
        when, flooded_until = self._answers.get(user_id, (float("-inf"), float("-inf")))
        if count >= FLOOD_EVENTS and now - when < FLOOD_WINDOW_SECONDS:
            flooded_until = now + FLOOD_HOLD_SECONDS
        self._answers[user_id] = (now, flooded_until)

    def _follow_rooms(self, waiter):
        """Let the rooms the user joined since the poll began wake it too (the events say which)."""
        with self._lock:
            known = self._rooms.get(waiter.user_id)
            if known is None or known[0] == waiter.rooms:
                return
        self._unregister(waiter)
        waiter.rooms = frozenset(known[0])
        self._register(waiter)

    def _register(self, waiter):
        with self._lock:
            self._waiters.add(waiter)
            self._by_user[waiter.user_id].add(waiter)
            for room_id in waiter.rooms:
                self._by_room[room_id].add(waiter)

    def _unregister(self, waiter):
        with self._lock:
            self._waiters.discard(waiter)
            _discard(self._by_user, waiter.user_id, waiter)
            for room_id in waiter.rooms:
                _discard(self._by_room, room_id, waiter)

    # Background loops (threads, or greenlets under gevent's monkey patching).

    def _fetch_loop(self):
        failures = 0
        while True:
            if not failures:
                hinted = self._wanted.wait(SAFETY_REFRESH_SECONDS)
                self._wanted.clear()
                if not hinted and not self._waiters:
                    continue
            try:
                # Connect before taking the fetch lock: polls waiting for that lock
                # hold connections, and with the per-process pool (config/wsgi.py)
                # the one holding it must never wait for one of theirs.
                connection.ensure_connection()
                self.refresh()
                failures = 0
            except Exception as error:
                # The loop keeps its one connection between reads (opening one
                # per wake would cost more than the read), so after PostgreSQL
                # restarts the first read finds it dead: retry at once on a new
                # one, then back off while the database stays away.
                connection.close()
                failures += 1
                log.warning("Reading new events failed (%s, %d in a row); retrying", error, failures)
                if failures > 1:
                    time.sleep(min(0.5 * failures, 5))


_loops = []  # (target, thread name): see Hub.add_loop


def _discard(index, key, waiter):
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(waiter)
        if not bucket:
            del index[key]


hub = Hub()
listen.subscribe(CHANNEL, lambda payload: hub.wake())
listen.on_connect(hub.wake)  # anything sent while the listener was away is re-read


def poll_state(user_id: int, cursor: int | None = None) -> tuple[frozenset, int, int]:
    """Return (rooms, head, pruned_through) for a poll: the stream now, the user's rooms at or after it.

    One query when this process knows the user's rooms (rooms_of), else two.
    The buffer is then loaded through `head`, as poll() needs.

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
        rooms, head, pruned = _rooms_and_stream(user_id)
        hub.ensure_loaded(head)
        hub.remember_rooms(user_id, rooms, head)
    return rooms, head, pruned


def _rooms_and_stream(user_id):
    """The user's rooms and the stream's (head, pruned_through), all from one snapshot (one statement)."""
    aggregate = "string_agg(room_id::text, ',')" if connection.vendor == "postgresql" else "group_concat(room_id)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.last_position, s.pruned_through, (SELECT {aggregate} FROM {Membership._meta.db_table}"
            f" WHERE user_id = %s) FROM {Stream._meta.db_table} s WHERE s.id = 1",
            [user_id],
        )
        row = cursor.fetchone()
    if row is None:
        return frozenset(), 0, 0
    head, pruned, rooms = row
    return frozenset(int(room_id) for room_id in rooms.split(",")) if rooms else frozenset(), head, pruned


def poll(*, user_id: int, room_ids: set, cursor: int, head: int, timeout: float):
    """Return (events, cursor): at once if there are events after `cursor`, else after waiting.

    The caller has read `room_ids` and `head` with poll_state() (or the rooms
    before the head): everything up to `head` is then loaded, so rooms_at()
    can undo the user's joins and leaves back to the cursor. This closes the
    connection before it waits, so a waiting poll holds none.
    """
    found, cursor = poll_now(user_id=user_id, room_ids=room_ids, cursor=cursor, head=head)
    if found:
        return found, cursor
    return poll_wait(user_id=user_id, room_ids=room_ids, cursor=cursor, timeout=timeout)


def poll_now(*, user_id: int, room_ids: set, cursor: int, head: int):
    """poll() without the wait: (events, cursor), the events possibly none."""
    hub.ensure_loaded(head)
    result = hub.collect(user_id, room_ids, cursor)
    if result is None:
        result = _collect_stored(user_id, room_ids, cursor, head)
    return result


def poll_wait(*, user_id: int, room_ids: set, cursor: int, timeout: float):
    """poll()'s wait, after poll_now() found nothing up to `cursor`: it holds no database connection."""
    if not connection.in_atomic_block:  # only tests poll inside a transaction
        connection.close()
    result = hub.wait(user_id, room_ids, cursor, timeout)
    if result is None:
        return _collect_stored(user_id, room_ids, cursor, stream_state()[0])
    return result


def _collect_stored(user_id, room_ids, cursor, head):
    """Read events after `cursor` up to `head` from the database, for cursors older than the buffer.

    `head` was read before this is called, `room_ids` at or after it. Every
    change at or below `head` had committed when `head` was read, so the
    user's joins and leaves read first cover every event read second: a join
    that commits in between lies past `head`, and so do its room's messages,
    which the next poll reads with it.
    """
    # The user's own joins and leaves since the cursor, all of them (they are
    # few), to know their rooms at the cursor and which rooms to read.
    changes = _membership_changes(user_id, cursor)
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
