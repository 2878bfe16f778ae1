"""What the people a user blocks can no longer put in front of them in the poll.

History, search and unread counts leave their messages out in SQL
(MessageQuerySet.not_by). The poll serves events from the hub's buffer, which
all readers share (rooms/hub.py), so an answer is filtered here, per
reader, after it was collected: the reader's blocks come with their user
(users.models.User.blocked_ids), so this costs no query, and delivery itself
(cursors, wake-ups, order) is untouched. A filtered answer may be empty; the
client then simply polls again from the new cursor.
"""


def visible_events(events, blocked_ids):
    """Return `events` without the messages, edits, reactions and typing notices of the people in `blocked_ids`."""
    if not blocked_ids:
        return events
    return [event for event in events if _actor_id(event) not in blocked_ids]


def _actor_id(event):
    if event["type"] in ("message", "message_updated"):
        return event["message"]["author"]["id"]
    if event["type"] in ("typing", "reaction"):
        return event["user"]["id"]
    return None  # deletions, room changes, receipts, presence: facts about the room, not words in it
