"""One constructor per event type: the JSON that a poll answer carries (API.md lists them).

Services store these as the `data` of stream events (rooms/stream.py). The
`membership` events are the exception: the database writes them itself
(rooms migration 0005), and they are never sent to clients.
"""
from users.serializers import isoformat, user_ref

from .serializers import message_to_dict, room_to_dict


def message_event(message) -> dict:
    return {"type": "message", "room": message.room.slug, "message": message_to_dict(message)}


def message_updated_event(message) -> dict:
    """An edit (or anything else that changed the message): the whole message, as now."""
    return {"type": "message_updated", "room": message.room.slug, "message": message_to_dict(message)}


def message_deleted_event(*, room, message_id: int) -> dict:
    return {"type": "message_deleted", "room": room.slug, "message_id": message_id}


def reaction_event(*, message, user, emoji: str, action: str) -> dict:
    """A reaction "added" or "removed"."""
    return {"type": "reaction", "room": message.room.slug, "message_id": message.id, "emoji": emoji,
            "user": user_ref(user), "action": action}


def typing_event(*, room, user) -> dict:
    return {"type": "typing", "room": room.slug, "user": user_ref(user)}


def receipt_event(*, room, user, message_id: int) -> dict:
    return {"type": "receipt", "room": room.slug, "user": user_ref(user), "message_id": message_id}


def presence_event(user) -> dict:
    return {
        "type": "presence", "user": user_ref(user),
        "status": "online" if user.is_online else "offline", "last_seen": isoformat(user.last_seen),
    }


def room_event(*, room, action: str, user, by=None) -> dict:
    """A room created, updated, joined, left or invited into; the room as every recipient may see it."""
    data = {"type": "room", "room": room.slug, "action": action, "user": user_ref(user),
            "data": room_to_dict(room, shared=True)}
    if by is not None:
        data["by"] = user_ref(by)
    return data
