"""Presence: online while any client of the user has polled within the window.

A poll marks its user as seen in memory; the maintenance loop writes those
times in one UPDATE every few seconds, together with the users whose polls are
waiting right now, so a 55-second poll never looks like silence. Going online
is written at once, since it is an event; going offline is found by the sweep.
Both transitions are conditional UPDATEs, so with many processes exactly one
of them publishes each change.

Whether a user is online now is this module's to know: every process follows
the stream's presence events (Hub.follow), so a poll decides whether to write
"online" without a query, whatever User row its authentication handed it (the
token cache's may be minutes old). While the process may have missed events
(its listener is away, parley.listen.current()), the row decides.
"""
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from parley import listen
from users.models import User

from . import stream
from .event_types import presence_event
from .hub import hub
from .models import Event, Membership

_seen = set()
_online = {}  # user id -> online, as this process read it from the stream


def is_online(user) -> bool:
    if listen.current():
        return _online.get(user.id, user.is_online)
    return user.is_online


def _follow(entry):
    _online[entry.subject_id] = entry.data.get("status") == "online"


hub.follow(Event.PRESENCE, _follow)
listen.on_connect(_online.clear)  # what was said while the listener was away is lost


def seen(user, *, now=None) -> None:
    """Note that the user just polled; publish `online` if they were offline."""
    now = now or timezone.now()
    if not is_online(user):
        _set_status(user, online=True, now=now)
    _seen.add(user.id)


def flush_seen(*, extra_user_ids=(), now=None) -> None:
    """Write last_seen for everyone seen since the last flush and everyone waiting now."""
    now = now or timezone.now()
    user_ids = list(_seen | set(extra_user_ids))
    _seen.clear()
    for start in range(0, len(user_ids), 1000):
        User.objects.filter(id__in=user_ids[start:start + 1000]).update(last_seen=now)


def sweep_offline(*, now=None) -> int:
    """Publish `offline` for users silent longer than the window; return how many."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.PARLEY_PRESENCE_WINDOW_SECONDS)
    silent = User.objects.filter(is_online=True, last_seen__lt=cutoff)
    count = 0
    for user in silent[:1000]:
        count += _set_status(user, online=False, now=now, cutoff=cutoff)
    return count


def _set_status(user, *, online, now, cutoff=None):
    with transaction.atomic():
        # The conditional UPDATE first: when another poll (or process) got
        # there before, nothing changes and the stream row, which every writer
        # queues on, is never taken. The position is still taken before commit,
        # under the row lock, so positions stay in commit order.
        if online:
            changed = User.objects.filter(id=user.id, is_online=False).update(is_online=True, last_seen=now)
        else:
            changed = User.objects.filter(id=user.id, is_online=True, last_seen__lt=cutoff).update(is_online=False)
        if changed:
            position = stream.take_position()
            user.is_online = _online[user.id] = online
            if online:
                user.last_seen = now
            rooms = list(Membership.objects.filter(user_id=user.id).values_list("room_id", flat=True))
            stream.append(position=position, type=Event.PRESENCE, subject=user, audience=rooms,
                          data=presence_event(user))
    return changed

