"""The write services (rooms/services.py): what each stores and the one event each publishes."""
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rooms import messaging, selectors, services, stream
from rooms.models import Event, Membership, Message, Room
from rooms.serializers import message_to_dict

pytestmark = pytest.mark.django_db


def head():
    return stream.stream_state()[0]


def events_after(position):
    """The events the services published after `position` (not the database's own membership events)."""
    return list(Event.objects.after(position).exclude(type=Event.MEMBERSHIP))


def one_event_after(position, type, **fields):
    """Assert exactly one event was published after `position` and return it."""
    published = events_after(position)
    assert [e.type for e in published] == [type], [(e.type, e.data) for e in published]
    event = published[0]
    for name, value in fields.items():
        assert getattr(event, name) == value, name
    assert event.position > position
    return event


@pytest.fixture
def lobby(ana, room_factory):
    return room_factory(ana, "Lobby")


# room_create ------------------------------------------------------------------------------------


def test_room_create_stores_the_room_with_its_creator_and_publishes_created(ana):
    start = head()
    room = services.room_create(creator=ana, name="Lobby", topic="Hello")
    assert (room.name, room.topic, room.kind, room.created_by) == ("Lobby", "Hello", Room.ROOM, ana)
    assert list(room.memberships.values_list("user_id", flat=True)) == [ana.id]
    event = one_event_after(start, Event.ROOM, room_id=room.id, subject_id=ana.id, is_public=True)
    assert event.data["action"] == "created" and event.data["room"] == room.slug
    assert event.data["user"] == {"id": ana.id, "display_name": ana.display_name, "is_bot": False}
    assert event.data["data"]["id"] == room.id
    assert head() == event.position + 1  # the database then wrote the membership event (migration 0005)


def test_a_private_rooms_created_event_is_not_public(ana):
    start = head()
    room = services.room_create(creator=ana, name="Secret", is_private=True)
    one_event_after(start, Event.ROOM, room_id=room.id, is_public=False)


def test_room_create_refuses_a_taken_name_in_any_case_and_publishes_nothing(ana, bob, lobby):
    start, rooms = head(), Room.objects.count()
    with pytest.raises(services.Conflict):
        services.room_create(creator=bob, name="LOBBY")
    assert Room.objects.count() == rooms and events_after(start) == []
    assert not Membership.objects.filter(user=bob).exists()


@pytest.mark.parametrize("name", ["", "   ", "\t\n", "x" * 81])
def test_room_create_refuses_blank_and_long_names(ana, name):
    with pytest.raises(ValidationError):
        services.room_create(creator=ana, name=name)
    assert not Room.objects.exists() and not Event.objects.exists()


def test_room_create_makes_unique_url_safe_slugs(ana):
    slugs = [services.room_create(creator=ana, name=name).slug for name in ("Ça va?", "ca va", "CA-VA!", "dm-3-4", "😀")]
    assert len(set(slugs)) == len(slugs)
    assert slugs[:3] == ["ca-va", "ca-va-2", "ca-va-3"]
    assert all(slug and not slug.startswith("dm-") and slug.isascii() for slug in slugs)


# join, leave, invite ----------------------------------------------------------------------------


def test_room_join_adds_the_member_and_publishes_joined_once(bob, lobby):
    start = head()
    assert services.room_join(room=lobby, user=bob) is True
    event = one_event_after(start, Event.ROOM, room_id=lobby.id, subject_id=bob.id)
    assert event.data["action"] == "joined"
    again = head()
    assert services.room_join(room=lobby, user=bob) is False
    assert events_after(again) == []
    assert Membership.objects.filter(room=lobby, user=bob).count() == 1


def test_room_leave_removes_the_member_and_publishes_left(bob, lobby):
    services.room_join(room=lobby, user=bob)
    start = head()
    services.room_leave(room=lobby, user=bob)
    assert not Membership.objects.filter(room=lobby, user=bob).exists()
    event = one_event_after(start, Event.ROOM, room_id=lobby.id, subject_id=bob.id)
    assert event.data["action"] == "left"


def test_room_leave_by_a_non_member_publishes_nothing(bob, lobby):
    start = head()
    services.room_leave(room=lobby, user=bob)
    assert events_after(start) == []


def test_room_invite_adds_the_invitee_and_publishes_invited_with_the_inviter(ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    start = head()
    assert services.room_invite(room=room, inviter=ana, invitee=bob) is True
    assert Membership.objects.filter(room=room, user=bob).exists()
    event = one_event_after(start, Event.ROOM, room_id=room.id, subject_id=bob.id, is_public=False)
    assert event.data["action"] == "invited" and event.data["by"]["id"] == ana.id
    again = head()
    assert services.room_invite(room=room, inviter=ana, invitee=bob) is False
    assert events_after(again) == []


def test_room_events_carry_the_member_count_after_the_change(ana, bob, lobby):
    start = head()
    services.room_join(room=lobby, user=bob)
    assert events_after(start)[0].data["data"]["member_count"] == 2
    start = head()
    services.room_leave(room=lobby, user=bob)
    assert events_after(start)[0].data["data"]["member_count"] == 1


# DMs -------------------------------------------------------------------------------------------


def test_dm_open_creates_one_room_for_the_pair_with_created_and_invited(ana, bob):
    start = head()
    room, created = services.dm_open(user=ana, other=bob)
    assert created is True
    assert room.kind == Room.DM and room.is_private
    assert set(room.memberships.values_list("user_id", flat=True)) == {ana.id, bob.id}
    published = events_after(start)
    assert [(e.type, e.data["action"], e.subject_id) for e in published] == [
        (Event.ROOM, "created", ana.id), (Event.ROOM, "invited", bob.id),
    ]
    assert published[0].position < published[1].position
    assert not any(e.is_public for e in published)


def test_dm_open_again_from_either_side_returns_the_same_room_and_publishes_nothing(ana, bob):
    room, _ = services.dm_open(user=ana, other=bob)
    start = head()
    assert services.dm_open(user=ana, other=bob) == (room, False)
    assert services.dm_open(user=bob, other=ana) == (room, False)
    assert events_after(start) == []
    assert Room.objects.filter(kind=Room.DM).count() == 1


def test_dm_open_with_yourself_is_refused(ana):
    with pytest.raises(ValidationError):
        services.dm_open(user=ana, other=ana)
    assert not Room.objects.exists() and not Event.objects.exists()


def test_dm_open_after_leaving_brings_the_member_back(ana, bob):
    room, _ = services.dm_open(user=ana, other=bob)
    services.room_leave(room=room, user=bob)
    start = head()
    assert services.dm_open(user=ana, other=bob) == (room, False)
    assert set(room.memberships.values_list("user_id", flat=True)) == {ana.id, bob.id}
    event = one_event_after(start, Event.ROOM, room_id=room.id, subject_id=bob.id)
    assert event.data["action"] in ("invited", "joined")


@pytest.mark.parametrize("reopener", ["leaver", "stayer"])
def test_dm_open_after_leaving_brings_the_member_back_caught_up(ana, bob, reopener):
    room, _ = services.dm_open(user=ana, other=bob)
    messaging.message_post(room=room, author=ana, body="before bob left")
    services.room_leave(room=room, user=bob)
    messaging.message_post(room=room, author=ana, body="while bob was away")
    me, other = (bob, ana) if reopener == "leaver" else (ana, bob)
    services.dm_open(user=me, other=other)
    assert selectors.room_for(bob, room.slug).unread_count == 0
    messaging.message_post(room=room, author=ana, body="after bob came back")
    assert selectors.room_for(bob, room.slug).unread_count == 1


# Messages ----------------------------------------------------------------------------------------


def test_message_post_stores_the_message_and_publishes_it(ana, lobby):
    start = head()
    message, created = messaging.message_post(room=lobby, author=ana, body="  hi 👋  ", client_id="c1")
    assert created is True
    stored = Message.objects.get()
    assert stored.body == "  hi 👋  " and stored.client_id == "c1" and stored.author == ana
    lobby.refresh_from_db()
    assert lobby.last_message_id == message.id
    event = one_event_after(start, Event.MESSAGE, room_id=lobby.id, message_id=message.id)
    assert event.data == {"type": "message", "room": lobby.slug, "message": message_to_dict(stored)}


def test_message_post_with_a_repeated_client_id_returns_the_first_and_publishes_nothing(ana, lobby):
    first, _ = messaging.message_post(room=lobby, author=ana, body="once", client_id="c1")
    start = head()
    again, created = messaging.message_post(room=lobby, author=ana, body="twice?", client_id="c1")
    assert created is False and again.id == first.id and again.body == "once"
    assert Message.objects.count() == 1 and events_after(start) == []


@pytest.mark.parametrize("body", ["", "   ", "\n\t", "x" * 4001])
def test_message_post_refuses_empty_and_long_bodies(ana, lobby, body):
    start = head()
    with pytest.raises(ValidationError):
        messaging.message_post(room=lobby, author=ana, body=body)
    assert not Message.objects.exists() and events_after(start) == []
    lobby.refresh_from_db()
    assert lobby.last_message_id is None


def test_message_ids_and_positions_grow_together(ana, bob, lobby, room_factory):
    other = room_factory(bob, "Other")
    services.room_join(room=lobby, user=bob)
    start = head()
    posted = []
    for i in range(6):
        room, author = (lobby, ana) if i % 2 else (other, bob)
        posted.append(messaging.message_post(room=room, author=author, body=f"m{i}")[0])
    published = events_after(start)
    assert [e.message_id for e in published] == [m.id for m in posted]
    positions = [e.position for e in published]
    assert positions == sorted(positions) and len(set(positions)) == 6
    assert [m.id for m in posted] == sorted(m.id for m in posted)
    assert head() == positions[-1]


def test_every_kind_of_write_takes_a_later_position(ana, bob, lobby, room_factory):
    secret = room_factory(ana, "Secret", is_private=True)
    positions = [head()]
    services.room_join(room=lobby, user=bob)
    positions.append(head())
    message, _ = messaging.message_post(room=lobby, author=bob, body="hi")
    positions.append(head())
    services.typing_notify(room=lobby, user=ana)
    positions.append(head())
    services.room_mark_read(room=lobby, user=ana, message_id=message.id)
    positions.append(head())
    services.room_invite(room=secret, inviter=ana, invitee=bob)
    positions.append(head())
    services.room_leave(room=lobby, user=bob)
    positions.append(head())
    assert all(a < b for a, b in zip(positions, positions[1:])), positions
    published = [e.position for e in Event.objects.exclude(type=Event.MEMBERSHIP).order_by("position")][-6:]
    assert all(before < at <= after for before, at, after in zip(positions, published, positions[1:])), published


# Read marks and typing ------------------------------------------------------------------------------


def test_room_mark_read_moves_the_mark_and_publishes_a_receipt(ana, bob, lobby):
    services.room_join(room=lobby, user=bob)
    first, _ = messaging.message_post(room=lobby, author=ana, body="one")
    second, _ = messaging.message_post(room=lobby, author=ana, body="two")
    start = head()
    assert services.room_mark_read(room=lobby, user=bob, message_id=second.id) is True
    assert Membership.objects.get(room=lobby, user=bob).last_read_message_id == second.id
    event = one_event_after(start, Event.RECEIPT, room_id=lobby.id)
    assert event.data == {"type": "receipt", "room": lobby.slug, "user": {"id": bob.id, "display_name": bob.display_name, "is_bot": False},
                          "message_id": second.id}
    # Same or older: nothing changes, nothing is published.
    again = head()
    assert services.room_mark_read(room=lobby, user=bob, message_id=second.id) is False
    assert services.room_mark_read(room=lobby, user=bob, message_id=first.id) is False
    assert Membership.objects.get(room=lobby, user=bob).last_read_message_id == second.id
    assert events_after(again) == []


def test_room_mark_read_beyond_the_last_message_is_refused(ana, lobby):
    message, _ = messaging.message_post(room=lobby, author=ana, body="one")
    start = head()
    with pytest.raises(ValidationError):
        services.room_mark_read(room=lobby, user=ana, message_id=message.id + 1)
    assert events_after(start) == []
    assert Membership.objects.get(room=lobby, user=ana).last_read_message_id == 0


def test_room_mark_read_in_an_empty_room_is_refused(ana, lobby):
    with pytest.raises(ValidationError):
        services.room_mark_read(room=lobby, user=ana, message_id=1)


def test_typing_notify_publishes_one_typing_event(ana, lobby):
    start = head()
    services.typing_notify(room=lobby, user=ana)
    event = one_event_after(start, Event.TYPING, room_id=lobby.id)
    assert event.data == {"type": "typing", "room": lobby.slug, "user": {"id": ana.id, "display_name": ana.display_name, "is_bot": False}}


def test_typing_notify_is_throttled_per_user_and_room(ana, bob, lobby, room_factory):
    services.room_join(room=lobby, user=bob)
    other = room_factory(ana, "Other")
    now = timezone.now()
    services.typing_notify(room=lobby, user=ana, now=now)
    start = head()
    services.typing_notify(room=lobby, user=ana, now=now + timedelta(seconds=1))
    assert events_after(start) == []
    # Another user, or another room, is not throttled.
    services.typing_notify(room=lobby, user=bob, now=now + timedelta(seconds=1))
    services.typing_notify(room=other, user=ana, now=now + timedelta(seconds=1))
    assert [e.type for e in events_after(start)] == [Event.TYPING, Event.TYPING]
    # After the interval, the same user in the same room is heard again.
    later = head()
    services.typing_notify(room=lobby, user=ana, now=now + timedelta(seconds=services.TYPING_MIN_INTERVAL + 0.1))
    one_event_after(later, Event.TYPING, room_id=lobby.id)
