"""Typing indicators (issue 4): members only, throttled on the server, purged after a minute."""
from datetime import timedelta

import pytest
from django.utils import timezone

from rooms import retention, services
from rooms.hub import hub
from rooms.models import Event


pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(make_user, room_factory):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    room = room_factory(ana, "typing", is_private=True)
    services.room_invite(room=room, inviter=ana, invitee=ben)
    return ana, ben, eve, room


def typists(events):
    return [(e["room"], e["user"]["id"]) for e in events if e["type"] == "typing"]


def test_typing_reaches_members_at_most_once_per_two_seconds_per_user_and_room(api, pair, feed, room_factory):
    ana, ben, eve, room = pair
    other = room_factory(ana, "other", is_private=True)
    services.room_invite(room=other, inviter=ana, invitee=ben)
    ben_feed, eve_feed = feed(ben), feed(eve)
    eve_feed.take()

    for _ in range(5):
        assert api(ana).post(f"/api/rooms/{room.slug}/typing").status_code == 204
    api(ana).post(f"/api/rooms/{other.slug}/typing")
    api(ben).post(f"/api/rooms/{room.slug}/typing")
    assert typists(ben_feed.take()) == [(room.slug, ana.id), (other.slug, ana.id), (room.slug, ben.id)]
    assert eve_feed.take() == []

    # The throttle is in the database too, so a second worker process holds it as well.
    services._last_typing.clear()
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    assert typists(ben_feed.take()) == []

    sent_at = Event.objects.filter(type=Event.TYPING, room=room, subject=ana).get().created_at
    assert services.typing_notify(room=room, user=ana, now=sent_at + timedelta(seconds=1.9)) is False
    assert services.typing_notify(room=room, user=ana, now=sent_at + timedelta(seconds=2.1)) is True
    assert services.typing_notify(room=room, user=ana, now=sent_at + timedelta(seconds=2.2)) is False
    assert typists(ben_feed.take()) == [(room.slug, ana.id)]
    assert eve_feed.take() == []


def test_non_members_cannot_type(api, pair, room_factory):
    ana, _, eve, room = pair
    public = room_factory(ana, "public")
    assert api(eve).post(f"/api/rooms/{room.slug}/typing").status_code == 404
    assert api(eve).post(f"/api/rooms/{public.slug}/typing").status_code == 403
    assert not Event.objects.filter(type=Event.TYPING, subject=eve).exists()


def test_typing_events_are_purged_after_a_minute_and_cursors_stay_valid(api, pair, feed):
    ana, ben, _, room = pair
    ben_feed = feed(ben)
    ben_feed.take()
    message_id = api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "hi"}).json()["message"]["id"]
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    api(ben).post(f"/api/rooms/{room.slug}/typing")
    api(ben).post(f"/api/rooms/{room.slug}/read", {"message_id": message_id})
    assert Event.objects.filter(type=Event.TYPING).count() == 2

    retention.purge_transient(now=timezone.now() + timedelta(seconds=30))
    assert Event.objects.filter(type=Event.TYPING).count() == 2
    retention.purge_transient(now=timezone.now() + timedelta(seconds=61))
    assert Event.objects.filter(type=Event.TYPING).count() == 0
    assert Event.objects.filter(type=Event.MESSAGE).count() == 1
    assert Event.objects.filter(type=Event.RECEIPT).count() == 1

    # Typing is best-effort: a client whose cursor predates the purge is not sent back to history.
    fresh = feed(ben)
    fresh.cursor = ben_feed.cursor
    from rooms.hub import hub

    hub.reset()  # a process that starts now reads the stored events, not its buffer
    assert [e["type"] for e in fresh.take() if e["type"] != "presence"] == ["message", "receipt"]


def test_typing_right_after_the_users_own_message_is_heard_not_throttled(api, pair, feed):
    ana, ben, _, room = pair
    ben_feed = feed(ben)
    ben_feed.take()

    assert api(ana).post(f"/api/rooms/{room.slug}/typing").status_code == 204
    assert api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "lunch?"}).status_code == 201
    # Her follow-up, well within 2 s of the first notice: the message ended that typing, so this is news.
    assert api(ana).post(f"/api/rooms/{room.slug}/typing").status_code == 204
    assert [e["type"] for e in ben_feed.take() if e["type"] in ("typing", "message")] == ["typing", "message", "typing"]
    # Without a message in between, the throttle holds as before.
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    assert typists(ben_feed.take()) == []


def test_a_message_ends_the_throttle_in_every_process(api, pair, feed):
    """Another process's memory (here: memory kept before the message) and the database rule both let it through."""
    ana, ben, _, room = pair
    ben_feed = feed(ben)
    ben_feed.take()
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    hub.refresh()  # the buffer is loaded before the message, as a running process's is
    remembered = dict(services._last_typing)
    api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "lunch?"})

    # A process that saw the typing notice but not the message's POST: it reads the message from the stream.
    services._last_typing.update(remembered)
    hub.refresh()
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    assert [e["type"] for e in ben_feed.take() if e["type"] in ("typing", "message")] == ["typing", "message", "typing"]

    # A process that remembers nothing: the database says the message came after the last notice.
    api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "at one?"})
    services._last_typing.clear()
    api(ana).post(f"/api/rooms/{room.slug}/typing")
    assert typists(ben_feed.take()) == [(room.slug, ana.id)]
