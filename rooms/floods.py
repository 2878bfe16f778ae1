"""Floods: when a user's next poll answer should wait, to carry more events at once.

When messages pour into a user's rooms faster than the server can answer each
one, every answer brings its poller straight back for the next few events, and
answering that often takes the CPU the posts need (the `burst` benchmark: 1,700
answers a second and only 110 of 500 messages a second taken). A user who gets
FLOOD_EVENTS or more in one answer, less than FLOOD_WINDOW_SECONDS after the
one before, is flooded for the next FLOOD_HOLD_SECONDS: their answers go out at
most once per GATHER_SECONDS, so the same events go out in fewer, larger
answers. A conversation (an event or two per answer) or a catch-up after time
away (one big answer after a long gap) is never held back, and nobody is while
this process answers fewer than BUSY_ANSWERS_PER_SECOND polls with events (a
server that keeps up answers at once, as API.md says).

The hub (rooms/hub.py) keeps this per process; rooms/polling.py applies it.
"""
import time

FLOOD_EVENTS = 5
FLOOD_WINDOW_SECONDS = 1.0
FLOOD_HOLD_SECONDS = 5.0
GATHER_SECONDS = 1.0
BUSY_ANSWERS_PER_SECOND = 200


class FloodPolicy:
    """What the process remembers of its answers: per user, and its rate of answers with events."""

    def _reset_floods(self):
        self._answers = {}  # user id -> (when their last answer went, until when they are flooded)
        self.answer_rate, self._answered, self._rate_since = 0.0, 0, time.monotonic()  # answers with events/s

    def gather_seconds(self, user_id):
        """Return how long the user's next answer should wait to gather more events (0: answer now)."""
        last = self._answers.get(user_id)
        if last is None or not self.busy:
            return 0.0
        when, flooded_until = last
        now = time.monotonic()
        if now >= flooded_until:
            return 0.0
        return max(GATHER_SECONDS - (now - when), 0.0)

    @property
    def busy(self):
        """Say whether this process answered BUSY_ANSWERS_PER_SECOND polls with events a second, lately."""
        return self.answer_rate >= BUSY_ANSWERS_PER_SECOND and time.monotonic() - self._rate_since < 2.0

    def note_answer(self, user_id, count):
        """Record that the user was just answered with `count` events."""
        now = time.monotonic()
        if now - self._rate_since >= 1.0:
            self.answer_rate = self._answered / (now - self._rate_since)
            self._rate_since, self._answered = now, 0
        self._answered += 1
        when, flooded_until = self._answers.get(user_id, (float("-inf"), float("-inf")))
        if count >= FLOOD_EVENTS and now - when < FLOOD_WINDOW_SECONDS:
            flooded_until = now + FLOOD_HOLD_SECONDS
        self._answers[user_id] = (now, flooded_until)

    def _forget_answers(self, cutoff):
        """Forget the answers of users last answered before `cutoff` (time.monotonic())."""
        for user_id in [user_id for user_id, (when, _) in self._answers.items() if when < cutoff]:
            del self._answers[user_id]
