"""Which user a bearer token is, remembered per process for the long poll.

Every waiting client asks GET /api/events again each time its poll returns, and
looking its token up was the one database query a poll still made: about a
quarter of the server's CPU with 10,000 idle clients (docs/benchmarks.md).
Polls and message posts (the two requests a busy client repeats; every other
request asks the database) take the user from
here while the process hears of every change that could make the answer wrong:

- a token deleted (logout, a password change, log out everywhere: see
  users/revocation.py), a user saved (deactivated, renamed, made staff, a new
  password or session generation) or deleted: the signal handlers below forget
  the entry when the change commits, in this process, and tell every other
  process through PostgreSQL NOTIFY on AUTH_CHANNEL, which this process's
  listener (parley/listen.py) passes to forget(). A lookup that read the database before such a
  change committed and finishes after it was forgotten does not store what it
  read (the generation check in user_for).

A cached user's is_online and last_seen may be minutes old: whether a user is
online is rooms/presence.py's to know, not this cache's.

"Hears of every change" is `parley.listen.current()`: the background loops run
in this process and, on PostgreSQL, its listener is connected (on SQLite Parley runs one process,
config/gunicorn.py refuses more, so every change is made in it). While it is not, nothing is taken from
here, and the listener empties the cache when it reconnects, since what was
said while it was away is lost. On PostgreSQL, a change that bypasses Django's
signals (`QuerySet.update()`, SQL typed into psql) is announced on the same
channel by triggers (users migration 0004); on SQLite it reaches the process
within TTL_SECONDS.
"""
import threading
import time

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from parley import listen

from . import services
from .models import ApiToken, User, token_hash

AUTH_CHANNEL = "parley_auth"
TTL_SECONDS = 300
MAX_ENTRIES = 100_000
FIELDS = [field.attname for field in User._meta.concrete_fields]


class TokenCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._entries = {}  # token hash -> [user field values, expires at]
        self._by_user = {}  # user id -> token hashes
        self._generation = 0  # one more at every forget(): a lookup that straddles one keeps nothing
        self._changes = {}  # user id -> how often they were forgotten (changes_of)
        self._epoch = 0  # one more when whose change it was is unknown: everyone may have changed

    def user_for(self, key):
        """The active, approved user whose token `key` is, or None; as services.token_user()."""
        if not listen.current():
            return services.token_user(key=key)
        digest = token_hash(key)
        entry = self._entries.get(digest)
        if entry is not None and entry[1] > time.monotonic():
            return User.from_db(connection.alias, FIELDS, entry[0])  # a fresh instance: requests may change it
        generation = self._generation
        user = services.token_user(key=key)
        if user is not None:
            with self._lock:
                if self._generation != generation:  # something was revoked meanwhile: what we read may be stale
                    return user
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                    self._by_user.clear()
                self._entries[digest] = [[getattr(user, name) for name in FIELDS], time.monotonic() + TTL_SECONDS]
                self._by_user.setdefault(user.id, set()).add(digest)
        return user

    def forget(self, what):
        """Forget a token ("token:<hash>"), a user's tokens ("user:<id>"), or everything (anything else)."""
        kind, _, value = what.partition(":")
        with self._lock:
            self._generation += 1
            if kind == "token":
                entry = self._entries.pop(value, None)
                if entry is not None:
                    digests = self._by_user.get(entry[0][ID], set())
                    digests.discard(value)
                    if not digests:
                        self._by_user.pop(entry[0][ID], None)
                    self._changed(entry[0][ID])
                else:
                    self._epoch += 1  # a token this process never kept: whose, it cannot tell
            elif kind == "user" and value.isdigit():
                for digest in self._by_user.pop(int(value), ()):
                    self._entries.pop(digest, None)
                self._changed(int(value))
            else:
                self._entries.clear()
                self._by_user.clear()
                self._changes.clear()
                self._epoch += 1

    def _changed(self, user_id):
        if len(self._changes) >= MAX_ENTRIES:
            self._changes.clear()
            self._epoch += 1
        self._changes[user_id] = self._changes.get(user_id, 0) + 1

    def changes_of(self, user_id):
        """A value that differs after anything that may change whether the user is still let in.

        A waiting poll compares it before answering with events (rooms/api.py):
        the user was authenticated when the poll arrived, and a deactivation,
        a revoked token or a new password meanwhile must not get them more.
        """
        return self._epoch, self._changes.get(user_id, 0)

    def clear(self):
        self.forget("all")


ID = FIELDS.index("id")
cache = TokenCache()
listen.subscribe(AUTH_CHANNEL, cache.forget)
listen.on_connect(cache.clear)  # what was said while the listener was away is lost
listen.on_disconnect(cache.clear)


def _announce(what):
    """Forget `what` everywhere once the change commits."""
    listen.notify(AUTH_CHANNEL, what)  # this process's cache.forget() included


@receiver(post_delete, sender=ApiToken)
def _token_deleted(sender, instance, **kwargs):
    _announce(f"token:{instance.key_hash}")


@receiver(post_save, sender=User)
@receiver(post_delete, sender=User)
def _user_changed(sender, instance, **kwargs):
    _announce(f"user:{instance.pk}")
