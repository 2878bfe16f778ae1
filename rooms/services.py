"""Writes about rooms, membership, typing and reading; messages are rooms/messaging.py's. Only these two publish events.

Each write takes its stream position first (rooms/stream.py), so that writes
are serialised in the order their events will be read, then stores the rows
and the event (built by rooms/event_types.py) in the same transaction.
"""
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from users.models import NOTIFY_LEVELS, Block

from . import stream
from .event_types import receipt_event, room_event, typing_event
from .hub import hub
from .models import NAME_MAX_LENGTH, Event, Membership, Room

NOTIFY_VALUES = [value for value, _ in NOTIFY_LEVELS]
TYPING_MIN_INTERVAL = 2.0
_last_typing = {}  # (room id, user id) -> when their last typing event was written


class Conflict(Exception):
    """The write would break a uniqueness rule (a taken room name)."""


class Refused(Exception):
    """The other person refuses this from the actor (they blocked them); the message says no more."""


# Rooms -------------------------------------------------------------------------


def room_create(*, creator, name: str, topic: str = "", is_private: bool = False,
                is_ephemeral: bool = False, retention_messages=None, retention_days=None) -> Room:
    """Create a room with its creator as the first member."""
    name = _clean_name(name)
    with transaction.atomic():
        position = stream.take_position()
        if Room.objects.filter(kind=Room.ROOM, name__iexact=name).exists():
            raise Conflict(f"A room named {name!r} already exists.")
        room = Room.objects.create(
            name=name, slug=_free_slug(name), topic=topic, is_private=is_private,
            is_ephemeral=is_ephemeral, created_by=creator,
            retention_messages=retention_messages, retention_days=retention_days,
        )
        Membership.objects.create(room=room, user=creator)
        _room_event(position, room, "created", creator)
    return room


def room_update(*, room: Room, by, topic=None, retention_messages=..., retention_days=...) -> Room:
    """Change a room's topic or retention overrides (None clears an override)."""
    fields = []
    if topic is not None:
        room.topic = topic
        fields.append("topic")
    if retention_messages is not ...:
        room.retention_messages = retention_messages
        fields.append("retention_messages")
    if retention_days is not ...:
        room.retention_days = retention_days
        fields.append("retention_days")
    if not fields:
        return room
    with transaction.atomic():
        position = stream.take_position()
        room.save(update_fields=fields)
        _room_event(position, room, "updated", by)
    return room


def room_join(*, room: Room, user) -> bool:
    """Make the user a member; return False if they already were.

    A member who joins the room a stranger invited them into accepts the
    invitation: the client stops offering to leave it. Nobody else is told.
    """
    from_stranger = (
        Membership.objects.filter(room=room, user=user).values_list("invitation_from_stranger", flat=True).first()
    )
    if from_stranger is not None:
        if from_stranger:
            Membership.objects.filter(room=room, user=user).update(invitation_from_stranger=False)
        return False
    with transaction.atomic():
        position = stream.take_position()
        _, created = Membership.objects.get_or_create(room=room, user=user, defaults=_caught_up(room))
        if created:
            _room_event(position, room, "joined", user)
    return created


def _caught_up(room):
    """A new member starts with the history read: only what comes after counts as unread."""
    last = Room.objects.filter(pk=room.pk).values_list("last_message_id", flat=True).first()
    return {"last_read_message_id": last or 0}


def room_leave(*, room: Room, user) -> None:
    with transaction.atomic():
        position = stream.take_position()
        deleted, _ = Membership.objects.filter(room=room, user=user).delete()
        if deleted:
            _room_event(position, room, "left", user)


def room_invite(*, room: Room, inviter, invitee) -> bool:
    """Add `invitee` to the room; return False if they were a member already.

    Refused if the invitee blocked the inviter. An invitation from someone
    who shares no other room (or DM) with the invitee is marked, so that the
    invitee's client can offer to leave, or to leave and block (room_join
    accepts it).
    """
    if Block.objects.refusing(inviter, by=invitee).exists():
        raise Refused("You cannot invite this user.")
    invitation = {"invited_by": inviter, "invitation_from_stranger": not _share_a_room(inviter, invitee, room)}
    with transaction.atomic():
        position = stream.take_position()
        _, created = Membership.objects.get_or_create(
            room=room, user=invitee, defaults={**_caught_up(room), **invitation},
        )
        if created:
            _room_event(position, room, "invited", invitee, by=inviter)
    return created


def _share_a_room(inviter, invitee, room) -> bool:
    """Say whether the two users are both members of some room other than `room`.

    Rooms a stranger put the invitee in, and that the invitee has not accepted,
    do not count: else a stranger's second invitation would come unmarked.
    """
    theirs = (
        Membership.objects.filter(user=invitee, invitation_from_stranger=False).exclude(room=room).values("room_id")
    )
    return Membership.objects.filter(user=inviter, room_id__in=theirs).exists()


def dm_open(*, user, other) -> tuple[Room, bool]:
    """Return the one DM room of the two users, creating it the first time.

    Refused if `other` blocked `user`. A DM that exists stays (the blocker's
    history and poll hide the blocked user's messages), but it is not reopened.
    """
    if user.id == other.id:
        raise ValidationError({"user_id": ["You cannot open a direct message with yourself."]})
    if Block.objects.refusing(user, by=other).exists():
        raise Refused("You cannot send direct messages to this user.")
    low, high = sorted((user.id, other.id))
    key = f"{low}-{high}"
    room = Room.objects.filter(dm_key=key).first()
    if room:
        _dm_rejoin(room, user, other)
        return room, False
    try:
        with transaction.atomic():
            first, second = stream.take_position(), stream.take_position()
            room = Room.objects.create(
                name=f"{user.display_name} & {other.display_name}"[:NAME_MAX_LENGTH], slug=f"dm-{key}",
                kind=Room.DM, is_private=True, dm_key=key, created_by=user,
            )
            Membership.objects.bulk_create([Membership(room=room, user=user), Membership(room=room, user=other)])
            _room_event(first, room, "created", user)
            _room_event(second, room, "invited", other, by=user)
    except IntegrityError:
        return Room.objects.get(dm_key=key), False
    return room, True


def _dm_rejoin(room, user, other):
    """Bring back whichever of the two left the DM: it stays their one room."""
    if Membership.objects.filter(room=room).count() == 2:
        return
    for person, action in ((user, "joined"), (other, "invited")):
        with transaction.atomic():
            position = stream.take_position()
            _, created = Membership.objects.get_or_create(room=room, user=person, defaults=_caught_up(room))
            if created:
                _room_event(position, room, action, person, by=user if person != user else None)
            else:
                transaction.set_rollback(True)


def _room_event(position, room, action, user, *, by=None):
    stream.append(
        position=position, type=Event.ROOM, room=room, subject=user,
        data=room_event(room=room, action=action, user=user, by=by),
        is_public=(action == "created" and room.kind == Room.ROOM and not room.is_private),
    )


def _clean_name(name):
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": ["A room needs a name."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"At most {NAME_MAX_LENGTH} characters."]})
    return name


def _free_slug(name):
    base = slugify(name)[:90].strip("-") or "room"
    if base.startswith("dm-"):
        base = f"room-{base}"  # "dm-" slugs belong to direct messages
    slug, n = base, 1
    while Room.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


# Typing and reading ---------------------------------------------------------------


def typing_notify(*, room: Room, user, now=None) -> bool:
    """Tell the room's members the user is typing; return False if throttled.

    At most one event per TYPING_MIN_INTERVAL per user and room, across every
    process, unless the user posted in the room since their last one: their
    message ended that typing (clients clear the line), so typing a follow-up
    is news at once. The memory check spares most repeats a query, and every
    process forgets a user's entry when it reads their message from the
    stream (typing_forget); the database check, made while holding the stream
    position (so writers are serialised), is the rule. Typing is never stored
    for long (retention.purge_transient).
    """
    now = now or timezone.now()
    interval = timedelta(seconds=TYPING_MIN_INTERVAL)
    key = (room.id, user.id)
    last = _last_typing.get(key)
    if last is not None and timedelta(0) <= now - last < interval:
        return False
    if len(_last_typing) > 10_000:
        _last_typing.clear()
    with transaction.atomic():
        position = stream.take_position()
        recent = Event.objects.filter(
            type=Event.TYPING, room=room, subject=user, created_at__gt=now - interval, created_at__lte=now,
        )
        last = recent.order_by("-position").values_list("position", "created_at").first()
        if last is not None and not _posted_since(room, user, last[0]):
            transaction.set_rollback(True)  # hand the position back: no gap in the stream
            _last_typing[key] = last[1]
            return False
        stream.append(position=position, type=Event.TYPING, room=room, subject=user,
                      data=typing_event(room=room, user=user))
    _last_typing[key] = now
    return True


def _posted_since(room, user, position) -> bool:
    """Say whether the user posted a message in the room after stream position `position`."""
    return Event.objects.filter(
        type=Event.MESSAGE, room=room, position__gt=position, message__author=user,
    ).exists()


def typing_forget(*, room_id: int, user_id: int) -> None:
    """The user posted in the room: whatever they type next is news, however soon."""
    _last_typing.pop((room_id, user_id), None)


def _forget_typing_of_author(entry):
    author = (entry.data.get("message") or {}).get("author") or {}
    if entry.room_id is not None and author.get("id") is not None:
        typing_forget(room_id=entry.room_id, user_id=author["id"])


hub.follow(Event.MESSAGE, _forget_typing_of_author)  # every process, whichever took the POST


def room_mark_read(*, room: Room, user, message_id: int) -> bool:
    """Mark the room read up to `message_id`; return False if it already was."""
    if room.last_message_id is None or message_id > room.last_message_id:
        raise ValidationError({"message_id": ["No such message in this room."]})
    if not Membership.objects.filter(room=room, user=user, last_read_message_id__lt=message_id).exists():
        return False
    with transaction.atomic():
        position = stream.take_position()
        updated = Membership.objects.filter(
            room=room, user=user, last_read_message_id__lt=message_id
        ).update(last_read_message_id=message_id)
        if updated:
            stream.append(position=position, type=Event.RECEIPT, room=room,
                          data=receipt_event(room=room, user=user, message_id=message_id))
    return bool(updated)


def rooms_mark_all_read(*, user) -> list[tuple[Room, int]]:
    """Mark every room of the user's read up to its newest message; return the (room, message id) moved.

    One receipt per room that moves, as room_mark_read() sends, in one transaction:
    the stream position is taken first, so no message slips in between reading a
    room's newest id and moving the mark to it.
    """
    moved = []
    with transaction.atomic():
        position = stream.take_position()
        behind = (
            Membership.objects.filter(user=user, room__last_message_id__gt=F("last_read_message_id"))
            .select_related("room")
            .order_by("room_id")
        )
        for membership in behind:
            room = membership.room
            Membership.objects.filter(pk=membership.pk).update(last_read_message_id=room.last_message_id)
            if moved:
                position = stream.take_position()
            stream.append(position=position, type=Event.RECEIPT, room=room,
                          data=receipt_event(room=room, user=user, message_id=room.last_message_id))
            moved.append((room, room.last_message_id))
        if not moved:
            transaction.set_rollback(True)  # hand the position back: no gap in the stream
    return moved


# Notification levels --------------------------------------------------------------


def membership_notify_set(*, room: Room, user, level: str | None) -> bool:
    """Set the user's notification level for a room they are a member of (None: their default).

    Return False if they are not a member. Nothing is published: the level is
    the member's own, and the other members are not told.
    """
    if level is not None and not (isinstance(level, str) and level in NOTIFY_VALUES):
        raise ValidationError({"notify": [f"One of {', '.join(NOTIFY_VALUES)}, or null for your default."]})
    return bool(Membership.objects.filter(room=room, user=user).update(notify=level))
