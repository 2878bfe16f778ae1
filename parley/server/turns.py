"""Woken polls take turns behind the worker's other work, so that posts never queue behind a room's answers.

A gevent worker runs one greenlet at a time, in the order they become ready.
One message into a room where a hundred polls wait makes a hundred answers
ready at once, each a millisecond or more of CPU (collect, encode, write); a
post whose request or database answer arrives meanwhile runs only after all
of them, and again after the next room's hundred at its next round trip.
Under the `burst` benchmark that made posts take seconds (docs/benchmarks.md,
"Burst (issue 15)").

So a poll that was woken waits for a turn before it builds its answer
(`take()`): a turn is a pass of the event loop in which nothing else is ready
(gevent's idle watcher: no socket readable, no timer due), and at most
ANSWERS_PER_TURN polls answer in each. Requests, posts and database answers
go first. The polls that wait meanwhile gather what arrives, so under load
the same events go out in fewer, larger answers, which is what frees the CPU
for the posts. No poll waits more than MAX_WAIT_SECONDS for its turn: a
steady stream of other work delays answers, never starves them.

Without gevent (threads, tests) a turn is taken at once.
"""
import time

from django.conf import settings

ANSWERS_PER_TURN = 4
MAX_WAIT_SECONDS = 0.5


class Turns:
    def __init__(self, per_turn=ANSWERS_PER_TURN, max_wait=MAX_WAIT_SECONDS):
        self.per_turn = per_turn
        self.max_wait = max_wait
        self._slots = None  # made on first use, in the worker (after gevent's patching)

    def take(self) -> None:
        """Return once it is this poll's turn to answer (at once without gevent)."""
        if not settings.COOPERATIVE:
            return
        import gevent
        from gevent.lock import BoundedSemaphore

        if self._slots is None:
            self._slots = BoundedSemaphore(self.per_turn)
        deadline = time.monotonic() + self.max_wait
        # The slot is given back as soon as the turn comes, before the answer is
        # built: the poll then runs on without yielding, and whoever takes the slot
        # next waits for the next idle pass. So one pass answers at most per_turn polls.
        got = self._slots.acquire(timeout=self.max_wait)
        try:
            remaining = deadline - time.monotonic()
            if remaining > 0:
                with gevent.Timeout(remaining, False):
                    gevent.idle()
        finally:
            if got:
                self._slots.release()


answer_turns = Turns()
