"""gunicorn's gevent worker, answering waiting polls at once when told to stop.

It also bounds the time a connection may take to send a request's line and
headers, since every connection holds one of the worker's worker_connections
slots from accept to close: a client that connects and sends half a request
(slowloris) must not keep a slot. gunicorn reads each request's line and
headers inside `with self.timeout_ctx():` (AsyncWorker.handle's keep-alive
loop; the body is read later, by the app), and closes the connection quietly
when that times out, so timeout_ctx is the hook: a new connection gets
PARLEY_HEADER_TIMEOUT (5 s) from accept for its first request's headers; a
kept-alive one gets gunicorn's keepalive (PARLEY_KEEPALIVE_SECONDS, 5 s) for
the idle time before its next request and that request's headers. A waiting
poll is not affected: it waits after its headers were read.

Also the optional stats line (PARLEY_STATS_SECONDS, started from config/gunicorn.py):
one log line per worker every few seconds with what a leak would show first:
waiting polls, greenlets, open file descriptors and resident memory.
"""
import gc
import os
import sys
import threading
import time

import gevent
from gevent.local import local

from gunicorn.workers.ggevent import GeventWorker

from parley.server import lifecycle


class ParleyWorker(GeventWorker):
    # Seconds a new connection has to send its first request line and headers;
    # config/gunicorn.py sets it from PARLEY_HEADER_TIMEOUT (post_worker_init).
    header_timeout = 5.0

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._connection = local()  # each connection is served by a greenlet of its own
        if not self.cfg.keepalive:
            # gunicorn then reads the one request without timeout_ctx(): no time limit at all.
            self.log.warning("Parley: keepalive=0 leaves request headers without a time limit; "
                             "set PARLEY_KEEPALIVE_SECONDS (or --keep-alive) to at least 1.")

    def handle(self, listener, client, addr):
        self._connection.requests = 0
        super().handle(listener, client, addr)

    def timeout_ctx(self):
        """Bound the wait for the next request's line and headers on this connection (see the module docstring)."""
        first = self._connection.requests == 0
        self._connection.requests += 1
        return gevent.Timeout(self.header_timeout if first else self.cfg.keepalive, False)

    def handle_exit(self, sig, frame):
        # SIGTERM: stop accepting, and answer waiting polls now so that their
        # clients re-poll (on another server) instead of waiting out the timeout.
        super().handle_exit(sig, frame)
        gevent.spawn(lifecycle.exiting)  # signal handlers may not block on the hub's lock


# Stats ------------------------------------------------------------------------


def process_stats():
    """Return this process's waiting polls, live greenlets, open fds and RSS (KiB).

    Counting greenlets walks the heap (tens of milliseconds with thousands of
    requests open, the hub stopped meanwhile), so log every few seconds, not faster.
    """
    waiting = lifecycle.waiting()
    greenlets = None
    if "greenlet" in sys.modules:
        from greenlet import greenlet

        # Live ones only: finished greenlets wait for the collector, and are memory (RSS), not work.
        greenlets = sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet) and not obj.dead)
    try:
        fds = len(os.listdir("/proc/self/fd"))
        with open("/proc/self/statm") as statm:
            rss_kib = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024
    except OSError:  # not Linux
        fds = rss_kib = None
    return {"waiting": waiting, "greenlets": greenlets, "fds": fds, "rss_kib": rss_kib}


def log_stats_every(seconds):
    """Log process_stats() every `seconds`, forever, in a daemon thread (a greenlet under gevent)."""

    def loop():
        while True:
            stats = process_stats()
            # print, not logging: gunicorn's error log is this process's stderr, and the
            # line must appear whatever LOG_LEVEL or Django's logging config say.
            print("parley-stats pid=%d %s" % (os.getpid(), " ".join(f"{k}={v}" for k, v in stats.items())),
                  file=sys.stderr, flush=True)
            time.sleep(seconds)

    threading.Thread(target=loop, name="parley-stats", daemon=True).start()
