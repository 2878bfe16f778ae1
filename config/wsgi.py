import logging
import os

from django.core.wsgi import get_wsgi_application

from config.deferred import wait_outside_django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

log = logging.getLogger("config.wsgi")


def _gevent_patched():
    """Say whether gevent has made sockets cooperative in this process (its worker does, first thing)."""
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


def _cooperative_psycopg():
    """Under gevent, make psycopg2 yield to other greenlets while it waits (else one slow query stalls every client of the worker)."""
    if _gevent_patched():
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def _settle_poll_mode():
    """Decide once per process whether polls may wait (settings.PARLEY_POLL_MODE).

    Every server loads the app through this module (gunicorn, runserver,
    uWSGI, mod_wsgi), so this is where we learn what kind of server we run in.
    Without gevent each waiting poll holds a whole thread or process: a sync
    worker would be tied up for 25 s by one idle client (and killed by
    gunicorn's 30 s heartbeat at 55 s), so polls answer within a second instead.
    """
    from django.conf import settings

    if settings.PARLEY_POLL_MODE == "auto":
        settings.PARLEY_POLL_MODE = "long" if _gevent_patched() else "short"
    if settings.PARLEY_POLL_MODE == "short":
        log.warning(
            "Parley is running without gevent (plain threads or processes), so polls cannot wait: "
            "short-poll mode, every poll answers within %s s. Clients still get every event, with more "
            "requests and up to that much later. For long polling run gunicorn -c config/gunicorn.py "
            "(its gevent worker); PARLEY_POLL_MODE=long overrides this check.",
            settings.PARLEY_SHORT_POLL_SECONDS,
        )


def _pool_database_connections():
    """Under gevent on PostgreSQL, lend requests pooled connections (config/db/base.py)."""
    from django.conf import settings

    if settings.USING_POSTGRES and _gevent_patched():
        database = settings.DATABASES["default"]
        database["ENGINE"] = "config.db"
        size = settings.PARLEY_DB_CONNECTIONS_PER_WORKER
        database.setdefault("OPTIONS", {}).update(MAX_CONNS=size, REUSE_CONNS=size)


_cooperative_psycopg()
_pool_database_connections()  # before anything connects
application = wait_outside_django(get_wsgi_application())
_settle_poll_mode()


def _start_delivery():
    """Start this process's delivery and upkeep loops (rooms/maintenance.py), once.

    Every server process loads the app through this module (gunicorn loads it
    in each worker, after gevent's patching), and nothing else does: a shell or
    a management command starts no thread or greenlet.
    """
    from rooms import maintenance

    maintenance.start()


_start_delivery()
