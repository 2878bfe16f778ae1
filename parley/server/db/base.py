"""PostgreSQL for gevent app servers: pooled connections, strictly bounded per process.

Django opens a connection per request (per greenlet, under gevent), and
connecting costs more than all of a poll's queries (about 14 ms against 1 ms
on our test machine). django-db-geventpool lends each request a pooled
connection and takes it back when Django closes it. Its pool checks the
number of open connections before it connects, so greenlets arriving together
can all pass the check and overshoot the bound; this pool counts connections
being opened too, so a process never holds more than
PARLEY_DB_CONNECTIONS_PER_WORKER (and a request that finds none free waits,
cooperatively, for one to come back). config/wsgi.py selects this engine when
gevent has patched the process; commands and tests use Django's own.

The library proves every connection it lends with a `SELECT 1`: a round trip
that cost 6 % of a poll's CPU. This pool proves only connections that sat
unused for CHECK_IDLE_SECONDS or that have something to read: an idle
connection has nothing to say unless the server ended it (a terminated
backend sends its last words and closes the socket), and asking the socket
costs a system call, not a round trip. A connection that still slips through
fails its request with a clean 503 (parley/api.py), and Django's close of a
broken connection empties the pool's idle ones.
"""
import select
import time
import weakref

from django_db_geventpool.backends.postgresql_psycopg2 import base as geventpool

CHECK_IDLE_SECONDS = 5


class StrictPool(geventpool.PostgresConnectionPool):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.opening = 0
        self.returned = weakref.WeakKeyDictionary()  # connection -> when it came back

    def get(self):
        with self.lock:
            open_one = self.pool.empty() and self.size + self.opening < self.maxsize
            if open_one:
                self.opening += 1
        if open_one:
            try:
                conn = self.create_connection()
                self._conns.add(conn)
                return conn
            finally:
                with self.lock:
                    self.opening -= 1
        conn = self.pool.get()  # wait for one to come back
        try:
            if time.monotonic() - self.returned.get(conn, 0) > CHECK_IDLE_SECONDS or _has_news(conn):
                self.check_usable(conn)
        except self.DBERROR:
            # A dead connection (the server restarted): replace it, bound unchanged.
            self._conns.discard(conn)
            conn = self.create_connection()
            self._conns.add(conn)
        return conn

    def put(self, item):
        self.returned[item] = time.monotonic()
        super().put(item)


def _has_news(conn):
    try:
        return bool(select.select([conn], [], [], 0)[0])
    except (OSError, ValueError):  # closed already
        return True


class DatabaseWrapper(geventpool.DatabaseWrapper):
    pool_class = StrictPool
