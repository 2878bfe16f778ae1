"""When a cursor expires (410): only when events its user could see are gone (issue 9).

The purge deletes messages beyond each room's window and old events; a cursor
from before what it deleted must get 410, so that its client reloads history
instead of silently missing messages. But one room's retention says nothing
about another's: a client whose rooms lost nothing keeps its cursor.
"""
import pytest

from rooms import hub as hub_module
from rooms import messaging, polling, retention, services, stream, visibility
from rooms.hub import hub

pytestmark = pytest.mark.django_db


def post(room, author, count, prefix="message"):
    return [messaging.message_post(room=room, author=author, body=f"{prefix} {n}")[0] for n in range(count)]


def poll(client, cursor):
    return client.get("/api/events", {"cursor": str(cursor), "timeout": "0"})


def bodies(found):
    return [event["message"]["body"] for event in found if event["type"] == "message"]


# One room's retention is that room's business ------------------------------------------------------


def test_a_rooms_purge_expires_only_the_cursors_of_those_who_could_see_it(api, ana, bob, eve, room_factory):
    tiny = room_factory(ana, "tiny", retention_messages=1)
    services.room_join(room=tiny, user=eve)
    elsewhere = room_factory(bob, "elsewhere")
    before = stream.stream_state()[0]
    post(tiny, ana, 3)
    [kept] = post(elsewhere, bob, 1, prefix="kept")

    retention.purge_messages()

    assert stream.stream_state()[1] > before
    for user in (ana, eve):  # members of the purged room
        assert poll(api(user), before).status_code == 410, user
    answer = poll(api(bob), before)  # never in it
    assert answer.status_code == 200, answer.content
    assert bodies(answer.json()["events"]) == ["kept 0"]


def test_a_member_who_left_the_purged_room_after_the_cursor_still_gets_410(api, ana, bob, room_factory):
    """Bob could see the purged messages (he was in the room at his cursor): they are gone, so 410."""
    tiny = room_factory(ana, "tiny", retention_messages=1)
    services.room_join(room=tiny, user=bob)
    before = stream.stream_state()[0]
    post(tiny, ana, 3)
    services.room_leave(room=tiny, user=bob)

    retention.purge_messages()

    assert poll(api(bob), before).status_code == 410


def test_old_events_of_no_room_still_expire_every_cursor_from_before_them(api, ana, bob, room_factory):
    """Presence, receipts and room changes older than PARLEY_EVENT_RETENTION_SECONDS go for everyone."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    before = stream.stream_state()[0]
    room_factory(ana, "square")
    later = timezone.now() + timedelta(seconds=settings.PARLEY_EVENT_RETENTION_SECONDS + 1)
    retention.purge_transient(now=later)
    assert poll(api(bob), before).status_code == 410


# The buffer: a purge may delete events before this process has read them ---------------------------


def test_the_buffer_answers_410_for_events_purged_before_it_read_them(ana, bob, room_factory):
    tiny = room_factory(ana, "tiny", retention_messages=1)
    services.room_join(room=tiny, user=bob)
    hub.refresh()
    cursor = hub.head
    rooms, head, _ = polling.poll_state(bob.id)
    post(tiny, ana, 3)
    retention.purge_messages()  # the first two go before the hub ever read them
    hub.refresh()
    with pytest.raises(stream.CursorExpired):
        hub.collect(bob.id, rooms, cursor)


def test_the_buffer_keeps_a_gap_in_one_room_from_others(ana, bob, eve, room_factory):
    tiny = room_factory(ana, "tiny", retention_messages=1)
    other = room_factory(eve, "other")
    hub.refresh()
    cursor = hub.head
    rooms, _, _ = polling.poll_state(eve.id)
    post(tiny, ana, 3)
    post(other, eve, 1, prefix="other")
    retention.purge_messages()
    hub.refresh()
    found, _ = hub.collect(eve.id, rooms, cursor)
    assert bodies(found) == ["other 0"]


def test_a_purge_between_reading_the_head_and_the_events_is_caught(ana, room_factory, monkeypatch):
    """refresh() reads the head, then the events: a purge that commits in between leaves a gap it must see."""
    tiny = room_factory(ana, "tiny", retention_messages=1)
    hub.refresh()
    cursor = hub.head
    rooms, _, _ = polling.poll_state(ana.id)
    post(tiny, ana, 3)
    real_state = hub_module.stream_state
    calls = []

    def state_then_purge():
        result = real_state()
        if not calls:
            calls.append(1)
            retention.purge_messages()
        return result

    monkeypatch.setattr(hub_module, "stream_state", state_then_purge)
    hub.refresh()
    monkeypatch.setattr(hub_module, "stream_state", real_state)
    with pytest.raises(stream.CursorExpired):
        hub.collect(ana.id, rooms, cursor)


# The database path ---------------------------------------------------------------------------------


def test_a_join_between_the_catch_up_reads_loses_none_of_the_rooms_messages(ana, bob, room_factory, monkeypatch):
    """The catch-up path reads the user's joins, then the events: a join committed in between must not
    return the join while the cursor skips the room's messages."""
    lobby = room_factory(ana, "lobby")
    rooms, head, _ = polling.poll_state(bob.id)
    cursor = head
    real_rooms_at = visibility.rooms_at
    joined = []

    def rooms_at_then_join(*args):
        result = real_rooms_at(*args)
        if not joined:
            joined.append(1)
            services.room_join(room=lobby, user=bob)
            messaging.message_post(room=lobby, author=ana, body="right after the join")
            room_factory(ana, "plaza")  # public: an event everyone sees, after the message
        return result

    monkeypatch.setattr(polling, "rooms_at", rooms_at_then_join)
    found, cursor = polling.collect_stored(bob.id, rooms, cursor, head)
    monkeypatch.setattr(polling, "rooms_at", real_rooms_at)
    seen = list(found)
    rooms, head, _ = polling.poll_state(bob.id)
    found, _ = polling.collect_stored(bob.id, rooms, cursor, head)
    seen += found
    assert [e["action"] for e in seen if e["type"] == "room"] == ["joined", "created"]
    assert bodies(seen) == ["right after the join"]
