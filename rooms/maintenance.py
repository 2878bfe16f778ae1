"""Periodic upkeep of every app process: presence, transient events, idle users' room lists.

It sits at the top of delivery (it imports rooms/hub.py, rooms/presence.py and
rooms/retention.py, and none of them imports it). start() starts the hub's
loops and this one, once per server process: the WSGI entry (config/wsgi.py)
calls it, so a worker starts them as it loads the app, and a shell or a
management command, which never loads it, starts nothing.
"""
import logging
import random
import time

from django.db import connection

from . import presence, retention
from .hub import hub

log = logging.getLogger(__name__)

MAINTENANCE_SECONDS = retention.MAINTENANCE_SECONDS
ROOMS_KEPT_SECONDS = 120  # a polling client asks at least every 55 s


def start():
    """Start this process's delivery loops and upkeep, once: the hub's fetch loop and listener, and this loop."""
    hub.start(loops=[(maintenance_loop, "parley-maintenance")])


def maintenance_loop():
    """Every MAINTENANCE_SECONDS (plus up to 2 s of jitter), do the upkeep; never return."""
    while True:
        time.sleep(MAINTENANCE_SECONDS + random.uniform(0, 2))
        try:
            presence.flush_seen(extra_user_ids=hub.waiting_user_ids)
            presence.sweep_offline()
            retention.purge_transient()
            hub.forget_rooms(ROOMS_KEPT_SECONDS)
        except Exception:
            log.exception("Maintenance failed; will try again")
        finally:
            connection.close()
