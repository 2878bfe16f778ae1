"""The WSGI entry every server loads (gunicorn, runserver, uWSGI, mod_wsgi).

Settings decide everything (config/settings.py); this only makes psycopg2
cooperative under gevent, puts the long poll's own path in front of Django
(rooms/events_wsgi.py: GET /api/events without Django's handler), wraps
Django in the layer where its waiting polls wait, and says so when polls
cannot wait.
"""
import logging
import os

from django.core.wsgi import get_wsgi_application

from parley.server.deferred import wait_outside_django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

log = logging.getLogger("config.wsgi")


def _cooperative_psycopg():
    """Under gevent, make psycopg2 yield to other greenlets while it waits (else one slow query stalls every client of the worker)."""
    from django.conf import settings

    if settings.COOPERATIVE:
        from psycogreen.gevent import patch_psycopg

        patch_psycopg()


def _warn_if_polls_cannot_wait():
    from django.conf import settings

    if settings.PARLEY_POLL_MODE == "short":
        log.warning(
            "Parley is running without gevent (plain threads or processes), so polls cannot wait: "
            "short-poll mode, every poll answers within %s s. Clients still get every event, with more "
            "requests and up to that much later. For long polling run gunicorn -c config/gunicorn.py "
            "(its gevent worker); PARLEY_POLL_MODE=long overrides this check.",
            settings.PARLEY_SHORT_POLL_SECONDS,
        )


_cooperative_psycopg()  # before anything connects
django_application = wait_outside_django(get_wsgi_application())


def _events_first(app):
    from rooms.events_wsgi import events_first  # once Django is set up

    return events_first(app)


application = _events_first(django_application)
_warn_if_polls_cannot_wait()


def _start_delivery():
    """Start this process's delivery and upkeep loops (rooms/maintenance.py), once.

    Every server process loads the app through this module (gunicorn loads it
    in each worker, after gevent's patching), and nothing else does: a shell or
    a management command starts no thread or greenlet.
    """
    from rooms import maintenance

    maintenance.start()


_start_delivery()
