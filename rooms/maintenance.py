"""Periodic upkeep of every app process: presence, transient events, idle users' room lists.

It sits above delivery (it imports rooms/events.py, rooms/presence.py and
rooms/retention.py, and none of them imports it): the hub runs the loop as
one of its background loops, registered from RoomsConfig.ready(), so it
starts in each process when the hub starts its threads.
"""
import logging
import random
import time

from django.db import connection

from . import events, presence, retention

log = logging.getLogger(__name__)


def maintenance_loop():
    """Every MAINTENANCE_SECONDS (plus up to 2 s of jitter), do the upkeep; never return."""
    hub = events.hub
    while True:
        time.sleep(events.MAINTENANCE_SECONDS + random.uniform(0, 2))
        try:
            presence.flush_seen(extra_user_ids=hub.waiting_user_ids)
            presence.sweep_offline()
            retention.purge_transient()
            hub.forget_rooms(events.ROOMS_KEPT_SECONDS)
        except Exception:
            log.exception("Maintenance failed; will try again")
        finally:
            connection.close()


events.hub.add_loop(maintenance_loop, "parley-maintenance")
