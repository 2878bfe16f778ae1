"""At most PARLEY_DB_CONNECTIONS_PER_WORKER PostgreSQL connections per app process.

Under gevent, Django opens one connection per greenlet that touches the
database. A parked poll holds none (rooms/events.poll closes it before it
waits: DESIGN-NOTES 1), but polls that arrive together each hold one while
they authenticate and read: after a restart, after a wake of a busy room, in a
load test's ramp. Nothing else bounds that. 300 polls reaching one worker at
once opened connections until PostgreSQL's max_connections (100 by default)
ran out, and two thirds of them got 503 (tests/rooms/test_scaleout.py).

So each process opens at most that many; a greenlet that needs one more waits,
cooperatively, until another is closed, and gets a 503 (via config/api.py) if
none frees up within ACQUIRE_TIMEOUT seconds. The listener and the fetch and
maintenance loops (rooms/events.py) count too: the cap is every connection the
process holds. The whole deployment holds at most
hosts x workers x PARLEY_DB_CONNECTIONS_PER_WORKER, which must stay below
PostgreSQL's max_connections.

This bounds connections; it does not reuse them (each request still connects
once). A pool would do both (psycopg 3's, or django-db-geventpool); see the
README's deployment notes.

config/wsgi.py installs it for app servers. Management commands and tests use
one connection at a time and run without it.
"""
import os
import threading

import psycopg2
import psycopg2.extensions

ACQUIRE_TIMEOUT = 30

_limit = None
_semaphore = None
_semaphore_pid = None
_held = 0
_creating = threading.Lock()


def install(database, limit):
    """Route every connection of this DATABASES entry through the cap; before any connection is made."""
    global _limit
    _limit = limit
    database.setdefault("OPTIONS", {})["connection_factory"] = CappedConnection


def _slots():
    """This process's semaphore (made here, so a forked worker never shares its parent's count)."""
    global _semaphore, _semaphore_pid, _held
    if _semaphore_pid != os.getpid():
        with _creating:
            if _semaphore_pid != os.getpid():
                # Made of threading's locks, which gevent's monkey patching makes cooperative.
                _semaphore = threading.BoundedSemaphore(_limit)
                _semaphore_pid = os.getpid()
                _held = 0
    return _semaphore


def in_use():
    """How many connections this process holds now."""
    return _held if _semaphore_pid == os.getpid() else 0


class CappedConnection(psycopg2.extensions.connection):
    """A psycopg2 connection that holds one of the process's slots until it is closed."""

    def __init__(self, *args, **kwargs):
        global _held
        slots = _slots()
        if not slots.acquire(timeout=ACQUIRE_TIMEOUT):
            raise psycopg2.OperationalError(
                f"all {_limit} database connections of this process stayed busy for {ACQUIRE_TIMEOUT}s"
            )
        _held += 1
        self._slots = slots
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            self._release()
            raise

    def close(self):
        try:
            super().close()
        finally:
            self._release()

    def __del__(self):
        # A connection dropped without close() (its greenlet gone) gives its slot back too.
        self._release()

    def _release(self):
        global _held
        slots = getattr(self, "_slots", None)
        if slots is not None:
            self._slots = None
            if slots is _semaphore:
                _held -= 1
            slots.release()
