"""gunicorn settings chosen for long-polling (README "Running in production").

- gevent workers (parley/server/worker.py): a waiting poll is a parked greenlet, not a blocked thread.
- worker_connections: how many requests one worker holds at once; every
  waiting client holds one, so this is the per-worker client ceiling.
  10,000 by default; the soft open-files limit is raised to
  fit it where the hard limit allows (on_starting), with a warning where not.
- workers: one per core with PostgreSQL (they share wake-ups through
  LISTEN/NOTIFY); exactly one with SQLite, where wake-ups are in-process.
- timeout is gunicorn's worker heartbeat, not a request limit: polls answer
  within 55 s by themselves.
- Every connection holds one of worker_connections from accept to close, so
  a client must send a request's line and headers within
  PARLEY_HEADER_TIMEOUT (5 s) of connecting, and a kept-alive connection
  that sends no next request (or only part of one) within keepalive
  (PARLEY_KEEPALIVE_SECONDS, 5 s) is closed (parley/server/worker.py). A proxy in
  front must keep its idle upstream connections for less than keepalive
  (deploy/nginx.conf: keepalive_timeout 4s), or it may send a request on a
  connection that this end is closing.
- Apps are not preloaded, so gevent's monkey patching happens in each worker
  before Django imports anything that uses sockets or threads.
- PARLEY_STATS_SECONDS=N (off by default): each worker logs a "parley-stats"
  line every N seconds (waiting polls, greenlets, fds, RSS; parley/server/worker.py).
- Another worker class can be forced without editing this file, e.g.
  GUNICORN_CMD_ARGS="--worker-class sync": polls then answer within a second
  (short-poll mode, config/wsgi.py) instead of tying up the sync workers.
"""
import multiprocessing
import os
import sys


def _seconds(name, default, kind=float):
    value = os.environ.get(name) or str(default)
    try:
        seconds = kind(value)
    except ValueError:
        seconds = 0
    if not seconds > 0:
        sys.exit(f"Parley: {name} must be a number of seconds above 0, not {value!r}.")
    return seconds


bind = os.environ.get("PARLEY_BIND", f"127.0.0.1:{os.environ.get('PORT', '8000')}")
worker_class = "parley.server.worker.ParleyWorker"
worker_connections = int(os.environ.get("PARLEY_WORKER_CONNECTIONS", "10000"))

timeout = 30
graceful_timeout = 10
keepalive = _seconds("PARLEY_KEEPALIVE_SECONDS", 5, int)
_header_timeout = _seconds("PARLEY_HEADER_TIMEOUT", 5)
backlog = 4096
accesslog = os.environ.get("PARLEY_ACCESS_LOG") or None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
preload_app = False

_database_url = os.environ.get("DATABASE_URL", "")
_sqlite = not _database_url or _database_url.startswith("sqlite")
workers = int(os.environ.get("WEB_CONCURRENCY", "1" if _sqlite else str(multiprocessing.cpu_count())))
_stats_seconds = float(os.environ.get("PARLEY_STATS_SECONDS") or 0)


def on_starting(server):
    if _sqlite and server.cfg.workers > 1:
        sys.exit(
            "Parley: SQLite delivers events within one process only, so it runs one worker "
            f"(WEB_CONCURRENCY={server.cfg.workers} asked for more). Set DATABASE_URL to a "
            "PostgreSQL database to run several workers or hosts, or unset WEB_CONCURRENCY."
        )
    _raise_open_file_limit(server)


def _raise_open_file_limit(server):
    """Let each worker hold worker_connections sockets; workers inherit the limit.

    Every waiting client is an open socket. A common soft limit is 1024, so
    without this a worker refuses clients (EMFILE) long before 10,000.
    """
    import resource

    wanted = server.cfg.worker_connections + 256  # the listening socket, database, logs and slack
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return
    new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    if new < wanted:
        server.log.warning(
            "Parley: open files are limited to %d (hard limit), fewer than worker_connections=%d "
            "waiting clients need; raise the limit (ulimit -n, LimitNOFILE=) or lower "
            "PARLEY_WORKER_CONNECTIONS.", new, server.cfg.worker_connections,
        )


def post_worker_init(worker):
    worker.header_timeout = _header_timeout
    if _stats_seconds > 0:
        from parley.server.worker import log_stats_every

        log_stats_every(_stats_seconds)
