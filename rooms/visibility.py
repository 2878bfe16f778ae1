"""Who sees which event: pure logic over the events of the stream, no database.

Membership is followed through the stream itself: a `room` event of the user
(joined, created, invited, left) and the `membership` events that the
database writes for every row added to or deleted from the memberships table
(rooms migration 0005), however it was changed. The two agree for changes
made by the services (the same change twice is harmless); the second alone
covers admin, shells and SQL. `membership` events are never sent to clients.

So a user's rooms at any position can be rebuilt from their rooms now and the
events in between (rooms_at), which is what lets a poll answer from memory.
"""
import json

from django.core.serializers.json import DjangoJSONEncoder

from .models import Event

JOINED, LEFT = "joined", "left"
JOIN_ACTIONS = frozenset({"joined", "created", "invited"})
ENTRY_FIELDS = ("position", "type", "room_id", "subject_id", "is_public", "audience", "data")


class EventData(dict):
    """An event's JSON as a dict, which also keeps its encoding: each answer carrying it splices these bytes.

    Encoded once per process, when first sent (or given as read from the
    database: `json_text`), not once per answer (rooms/events_wsgi.py).
    Nothing changes an event's data once it is in the buffer.
    """

    __slots__ = ("_encoded",)

    def __init__(self, data, json_text=None):
        super().__init__(data)
        self._encoded = json_text.encode() if json_text is not None else None

    @classmethod
    def of(cls, event):
        return event if isinstance(event, cls) else cls(event)

    @property
    def encoded(self):
        if self._encoded is None:
            self._encoded = json.dumps(self, ensure_ascii=False, cls=DjangoJSONEncoder).encode()
        return self._encoded


class Entry:
    """An event as delivery keeps it: what decides who sees it, and the JSON to send."""

    __slots__ = ("position", "type", "room_id", "subject_id", "is_public", "audience", "data", "change")

    def __init__(self, position, type, room_id, subject_id, is_public, audience, data):
        self.position = position
        self.type = type
        self.room_id = room_id
        self.subject_id = subject_id
        self.is_public = is_public
        self.audience = frozenset(audience) if audience else frozenset()
        self.data = data if isinstance(data, EventData) else EventData(data)
        self.change = _change_of(type, room_id, subject_id, data)  # (user id, room id, JOINED or LEFT), or None

    def membership_change(self, user_id):
        """JOINED or LEFT if this event makes `user_id` a member of its room or ends that; else None."""
        if self.change is None or self.change[0] != user_id:
            return None
        return self.change[2]

    def follow(self, user_id, rooms):
        """Apply the user's join or leave in this event, if it is one, to their set of `rooms`."""
        change = self.membership_change(user_id)
        if change is JOINED:
            rooms.add(self.change[1])
        elif change is LEFT:
            rooms.discard(self.change[1])

    def visible_to(self, user_id, rooms):
        """Say whether the user sees this event; follows their joins and leaves in `rooms`.

        `rooms` must be the user's rooms just before this event (see rooms_at()).
        """
        self.follow(user_id, rooms)
        if self.type == Event.MEMBERSHIP:
            return False
        if self.type == Event.ROOM and self.subject_id == user_id:
            return True
        if self.room_id is not None:
            return self.room_id in rooms or self.is_public
        return self.subject_id == user_id or not self.audience.isdisjoint(rooms)


def _change_of(type, room_id, subject_id, data):
    if type == Event.MEMBERSHIP:
        return data["user_id"], data["room_id"], JOINED if data["action"] == "joined" else LEFT
    if type == Event.ROOM:
        action = data.get("action")
        if action in JOIN_ACTIONS:
            return subject_id, room_id, JOINED
        if action == "left":
            return subject_id, room_id, LEFT
    return None  # "updated": the user changed the room, which makes them no member


def entry_from_text(position, type, room_id, subject_id, is_public, audience, data):
    """An Entry from a row read by plain SQL, whose JSON columns are still text (rooms/hub.py)."""
    if isinstance(audience, str):
        audience = json.loads(audience)
    if isinstance(data, str):
        data = EventData(json.loads(data), data)
    return Entry(position, type, room_id, subject_id, is_public, audience, data)


def load_entries(queryset):
    """Return the events of `queryset` (Event rows) as entries."""
    return [Entry(*row) for row in queryset.values_list(*ENTRY_FIELDS)]


def rooms_at(user_id, rooms_now, entries):
    """Return the user's rooms just before `entries`, from their rooms after them (or later).

    `rooms_now` is read from the memberships table at some moment; `entries`
    must run from the cursor to at least the stream head of that moment. Each
    join or leave of the user is undone, newest first. Undoing a change the
    memberships did not show yet is harmless (removing an absent room, adding
    a present one), so a later end is fine; an earlier one is not.
    """
    rooms = set(rooms_now)
    for entry in reversed(entries):
        change = entry.membership_change(user_id)
        if change is JOINED:
            rooms.discard(entry.room_id)
        elif change is LEFT:
            rooms.add(entry.room_id)
    return rooms


def filter_entries(entries, user_id, rooms):
    """Return what the user sees of `entries`; `rooms` are their rooms just before the first one."""
    rooms = set(rooms)
    return [entry.data for entry in entries if entry.visible_to(user_id, rooms)]
