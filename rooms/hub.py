"""This process's delivery runtime: the newest events in memory, and the polls that wait on them.

A poll reads what it needs (the stream head, the user's rooms), gives its
database connection back, and waits on an in-process `Waiter`: ten thousand
waiting polls must not mean ten thousand database connections. The hub keeps
the newest events in memory, and one fetch loop reads new events from the
database once per wake for all of the process's waiters, then wakes only
those whose rooms (or whose user) the new events concern: one read per wake,
however many polls wait. Waiters register before their final check, so a
wake between check and wait is never lost.

Wake-ups are hints (rooms/stream.py): the hub subscribes to the stream's
channel (parley/listen.py), hears this process's writes at commit and other
processes' through PostgreSQL's LISTEN, and also re-reads every few seconds
while polls wait. After the listener reconnects it re-reads, since
notifications sent while it was away are gone.

The hub is started once per server process, explicitly (start(), called by
rooms/maintenance.py's start() from the WSGI entry), never on first use: a
shell or a management command imports it and starts nothing. It registers
with parley/server/lifecycle.py so that the worker can release waiting polls on
shutdown and count them, without importing this module.

Policy for one poll (cursor checks, floods, jitter) is rooms/polling.py's;
the hub gives it the means (collect, wait, and the flood policy of
rooms/floods.py: gather_seconds, note_answer).
"""
import bisect
import logging
import threading
import time
from collections import defaultdict

from django.conf import settings
from django.db import connection
from django.db.models import Subquery

from parley import listen
from parley.server import lifecycle

from .floods import FloodPolicy
from .models import Event, Room, Stream
from .stream import CHANNEL, CursorExpired, shared_pruned_through, stream_state
from .visibility import ENTRY_FIELDS, Entry, filter_entries, rooms_at

log = logging.getLogger(__name__)

BUFFER_SIZE = 4096


class Waiter:
    __slots__ = ("user_id", "rooms", "event")

    def __init__(self, user_id, rooms):
        self.user_id = user_id
        self.rooms = rooms
        self.event = threading.Event()


class Hub(FloodPolicy):
    """This process's buffer of recent events and its waiting polls."""

    def __init__(self):
        self.started = False
        self._followers = {}  # event type -> callbacks given each such entry as it is read (follow())
        self.reset()

    def follow(self, type, callback):
        """Call `callback(entry)` for every event of `type` this process reads, in stream order.

        How modules above the hub keep per-process state in step with the stream
        (presence keeps who is online) without the hub knowing them.
        """
        self._followers.setdefault(type, []).append(callback)

    def reset(self):
        """Forget the buffer, waiters and users (tests, whose databases roll back)."""
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
        self._reset_floods()

    def start(self, loops=()):
        """Start this process's fetch loop, the given `(target, name)` loops, and the listener; once.

        Servers call it when a worker process starts (rooms/maintenance.py
        start(), from config/wsgi.py). PARLEY_BACKGROUND_THREADS=off starts
        no loop: in-process tests and the benchmarks' helper processes drive
        refresh() themselves.
        """
        if self.started:
            return
        self.started = True
        lifecycle.on_exit(self.release_all)
        lifecycle.count_waiting(self._count_waiters)
        if not settings.PARLEY_BACKGROUND_THREADS:
            return
        self._start_thread(self._fetch_loop, "parley-fetch")
        for target, name in loops:
            self._start_thread(target, name)
        listen.start()

    def stop(self):
        """Forget that this process started the hub (tests; loops that run keep running)."""
        self.started = False
        self.reset()

    @staticmethod
    def _start_thread(target, name):
        threading.Thread(target=target, name=name, daemon=True).start()

    # Wake-ups.

    def wake(self):
        """Ask the fetch loop to read new events (a hint; cheap to call often)."""
        self._wanted.set()

    def release_all(self):
        """Answer every waiting poll now (graceful shutdown)."""
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
        return self.started and listen.current()

    @property
    def waiter_count(self):
        """How many polls wait in this process now (the worker's stats line, parley/server/worker.py)."""
        return len(self._waiters)

    def _count_waiters(self):
        return self.waiter_count

    @property
    def waiting_user_ids(self):
        with self._lock:
            return {waiter.user_id for waiter in self._waiters}

    # The buffer.

    def refresh(self, at_least=None):
        """Read committed events past the buffer's head, then wake whom they concern.

        With `at_least`, nothing is read if the buffer already reaches that far:
        polls that arrive together after a wake share the one read.
        """
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
        shared = shared_pruned_through()
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
        cutoff = time.monotonic() - idle_seconds
        with self._lock:
            for user_id in [user_id for user_id, (_, used) in self._rooms.items() if used < cutoff]:
                del self._rooms[user_id]
            self._forget_answers(cutoff)

    def _follow_users(self, entries):
        """Keep what this process remembers of users as the stream changes it: rooms, and what followers keep."""
        for entry in entries:
            if entry.change is not None and entry.change[0] in self._rooms:
                entry.follow(entry.change[0], self._rooms[entry.change[0]][0])
            for callback in self._followers.get(entry.type, ()):
                callback(entry)

    # Waiting.

    def wait(self, user_id, rooms, cursor, timeout):
        """Wait up to `timeout` seconds for events after `cursor`; return (events, cursor) or None.

        None means the buffer no longer reaches back to the cursor and the
        caller must read the database instead.
        """
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
                hinted = self._wanted.wait(settings.PARLEY_STREAM_RECHECK_SECONDS)
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


def _discard(index, key, waiter):
    bucket = index.get(key)
    if bucket is not None:
        bucket.discard(waiter)
        if not bucket:
            del index[key]



hub = Hub()
listen.subscribe(CHANNEL, lambda payload: hub.wake())
listen.on_connect(hub.wake)  # anything sent while the listener was away is re-read
