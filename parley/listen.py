"""This process's side of PostgreSQL LISTEN/NOTIFY: one connection, for whoever subscribes.

Modules that must hear what other processes commit subscribe to a channel
(`subscribe`); the listener passes each notification's payload to them. It
sits below its users: delivery (rooms/hub.py) and the token cache
(users/tokencache.py) register here, and this module imports neither.
Writers send with `notify`, which also calls this process's own subscribers
when the transaction commits.

Notifications sent while the listener is away are lost, so whoever keeps
anything that a lost notification could make stale registers `on_connect`
(and `on_disconnect`) and re-reads or forgets it then. `current()` says
whether this process hears of every change as it is committed.

The listener is started by the hub when it starts its background loops
(rooms/hub.py), once per process. On SQLite there is nothing to listen
to: Parley runs one process (config/gunicorn.py refuses more), so every
change is made, and heard of, in it.
"""
import logging
import os
import random
import re
import select
import threading
import time

import psycopg2
from django.conf import settings
from django.db import connection, connections, transaction

log = logging.getLogger(__name__)

ROUND_TRIP_SECONDS = 30

_channels = {}  # channel -> [callback(payload)], in subscription order
_on_connect = []
_on_disconnect = []
_pid = None  # the process that started the listener
_start_lock = threading.Lock()
connected = False  # the LISTEN connection is up (PostgreSQL)


def subscribe(channel: str, callback) -> None:
    """Call `callback(payload)` for every notification on `channel`; subscribe before start()."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", channel):
        raise ValueError(f"not a channel name: {channel!r}")
    _channels.setdefault(channel, []).append(callback)


def on_connect(callback) -> None:
    """Call `callback()` each time the listener (re)connects: what was sent while away is lost."""
    _on_connect.append(callback)


def on_disconnect(callback) -> None:
    """Call `callback()` each time the listener loses its connection."""
    _on_disconnect.append(callback)


def notify(channel: str, payload: str) -> None:
    """Tell every process's subscribers of `channel` once the current transaction commits.

    On PostgreSQL the NOTIFY is sent inside the transaction, which makes
    PostgreSQL deliver it at commit and never for a rollback (at most about
    8000 bytes: send what to re-check, not the data).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, %s)", [channel, payload])
    notify_here(channel, payload)


def notify_here(channel: str, payload: str) -> None:
    """Call this process's subscribers of `channel` once the current transaction commits.

    For a writer whose own SQL sends the NOTIFY to the other processes. This
    process does not wait for its listener: on SQLite there is none, and on
    PostgreSQL the round trip would only add latency.
    """
    transaction.on_commit(lambda: _run(_channels.get(channel, ()), payload))


def current() -> bool:
    """Say whether this process hears of every commit as it happens.

    True when the background loops run in this process (start() was called in
    it) and, on PostgreSQL, the listener is connected.
    """
    if _pid != os.getpid() or not settings.PARLEY_BACKGROUND_THREADS:
        return False
    return connected or connections["default"].vendor != "postgresql"


def start() -> None:
    """Start this process's listener, once (on PostgreSQL; elsewhere only note the start)."""
    global _pid, connected
    if _pid == os.getpid():
        return
    with _start_lock:
        if _pid == os.getpid():
            return
        connected = False  # a forked child does not share its parent's connection
        _pid = os.getpid()
        if connections["default"].vendor == "postgresql":
            threading.Thread(target=_listen_loop, name="parley-listen", daemon=True).start()


def _run(callbacks, *args):
    for callback in list(callbacks):
        callback(*args)  # one that fails makes the listener reconnect, and everyone start afresh


def _listen_sql():
    return "; ".join(f"LISTEN {channel}" for channel in _channels)


def _listen_loop():
    global connected
    delay = 0.5
    while True:
        listener = None
        try:
            db = connections["default"]
            # Its own connection, outside any pool: it stays in LISTEN for good.
            params = {key: value for key, value in db.get_connection_params().items()
                      if key not in ("MAX_CONNS", "REUSE_CONNS")}
            # Named in pg_stat_activity; TCP keepalives notice a peer that vanished silently.
            params.setdefault("application_name", "parley-listener")
            params.update(keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3)
            listener = psycopg2.connect(**params)
            listener.autocommit = True
            listener.cursor().execute(_listen_sql())
            delay = 0.5
            log.info("Listening on PostgreSQL channels %s", ", ".join(_channels))
            _run(_on_connect)  # anything sent while we were not listening is lost: re-read, forget
            connected = True
            while True:
                readable, _, _ = select.select([listener], [], [], ROUND_TRIP_SECONDS)
                if readable:
                    listener.poll()
                    if listener.notifies:
                        notes = list(listener.notifies)
                        listener.notifies.clear()
                        for note in notes:
                            _run(_channels.get(note.channel, ()), note.payload)
                else:
                    # A round trip proves the connection; repeating LISTEN is a no-op
                    # and keeps pg_stat_activity saying what this connection is for.
                    listener.cursor().execute(_listen_sql())
        except Exception as error:
            connected = False
            _run(_on_disconnect)
            log.warning("Listener lost its connection (%s); reconnecting in %.1fs", error, delay)
        finally:
            if listener is not None:
                try:
                    listener.close()
                except Exception:
                    pass
        time.sleep(delay * random.uniform(1, 1.5))
        delay = min(delay * 2, 10)
