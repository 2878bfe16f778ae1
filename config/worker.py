"""gunicorn's gevent worker, answering waiting polls at once when told to stop."""
import sys

import gevent

from gunicorn.workers.ggevent import GeventWorker


class ParleyWorker(GeventWorker):
    def handle_exit(self, sig, frame):
        # SIGTERM: stop accepting, and answer waiting polls now so that their
        # clients re-poll (on another server) instead of waiting out the timeout.
        super().handle_exit(sig, frame)
        gevent.spawn(release_polls)  # signal handlers may not block on the hub's lock


def release_polls():
    # Only if delivery is loaded: importing inside a signal handler could
    # re-enter a half-done import, and without the module no poll waits.
    events = sys.modules.get("rooms.events")
    if events is not None and hasattr(events, "hub"):
        events.hub.release_all()
