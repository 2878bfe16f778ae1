"""Membership is whatever the database says, however it changed (issue 9, item 1).

The hub keeps each polling user's rooms and follows them through the stream.
A membership added or deleted outside the services (Django admin, a queryset,
bulk_create, a shell, raw SQL) must reach polls as surely as an API join or
leave: the database itself writes each change into the stream (a trigger on
the memberships table), so every process reads it in order with the events
around it. Admin changes go through the services and announce `room` events.
"""
import pytest
from django.db import connection
from django.test import Client

from rooms import hub as hub_module
from rooms import polling, services, stream
from rooms.hub import hub
from rooms.models import Event, Membership
from tests.rooms.polls import bodies, poll, post

pytestmark = pytest.mark.django_db



@pytest.fixture
def private_room(ana, bob, room_factory):
    room = room_factory(ana, "vault", is_private=True)
    services.room_invite(room=room, inviter=ana, invitee=bob)
    return room


def _known_rooms(user):
    """Start polling as `user` so that the hub keeps their rooms, as it does for every poller."""
    cursor = stream.stream_state()[0]
    poll(user, cursor)
    assert hub.rooms_of(user.id) is not None
    return cursor


def _delete_with_sql(room, user):
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {Membership._meta.db_table} WHERE room_id = %s AND user_id = %s",
                       [room.id, user.id])


REMOVALS = {
    "queryset": lambda room, user: Membership.objects.filter(room=room, user=user).delete(),
    "raw_sql": _delete_with_sql,
}


@pytest.mark.parametrize("how", sorted(REMOVALS))
def test_a_member_removed_outside_the_api_stops_receiving_the_room(ana, bob, private_room, how):
    cursor = _known_rooms(bob)
    post(private_room, ana, "before")
    found, cursor = poll(bob, cursor)
    assert bodies(found) == ["before"]

    REMOVALS[how](private_room, bob)
    post(private_room, ana, "after removal")
    services.typing_notify(room=private_room, user=ana)
    found, cursor = poll(bob, cursor)
    assert bodies(found) == []
    assert [event for event in found if event.get("room") == private_room.slug and event["type"] != "room"] == []


def test_a_removal_reaches_a_poll_that_read_its_rooms_before_it(ana, bob, private_room):
    """A poll that already holds the user's rooms (a waiting one) stops seeing the room from the removal on."""
    cursor = _known_rooms(bob)
    rooms, now, _ = polling.poll_state(bob.id)
    post(private_room, ana, "seen")
    Membership.objects.filter(room=private_room, user=bob).delete()
    post(private_room, ana, "not seen")
    hub.refresh()
    found, _ = hub.collect(bob.id, rooms, cursor)
    assert bodies(found) == ["seen"]


def test_a_membership_added_outside_the_api_delivers_the_room(ana, bob, room_factory):
    room = room_factory(ana, "annex", is_private=True)
    cursor = _known_rooms(bob)
    Membership.objects.bulk_create([Membership(room=room, user=bob)])
    post(room, ana, "welcome")
    found, _ = poll(bob, cursor)
    assert bodies(found) == ["welcome"]


def test_the_stream_records_membership_changes_for_the_catch_up_path_too(ana, bob, private_room, room_factory,
                                                                         monkeypatch):
    """A cursor older than the buffer reads the database: the removal is in the stream there as well."""
    cursor = _known_rooms(bob)
    Membership.objects.filter(room=private_room, user=bob).delete()
    post(private_room, ana, "after removal")
    monkeypatch.setattr(hub_module, "BUFFER_SIZE", 1)
    for _ in range(3):
        post(room_factory(ana), ana, "filler")
        hub.refresh()
    assert cursor < hub.floor
    found, _ = poll(bob, cursor)
    assert "after removal" not in bodies(found)


def _admin_post_inline(client, room, rows):
    """Save the room's change form in Django admin with these membership rows."""
    data = {
        "name": room.name, "slug": room.slug, "topic": room.topic, "kind": room.kind,
        "is_private": "on" if room.is_private else "", "created_at_0": room.created_at.strftime("%Y-%m-%d"),
        "created_at_1": room.created_at.strftime("%H:%M:%S"),
        "memberships-TOTAL_FORMS": str(len(rows)), "memberships-INITIAL_FORMS": str(sum(1 for r in rows if r.get("id"))),
        "memberships-MIN_NUM_FORMS": "0", "memberships-MAX_NUM_FORMS": "1000",
    }
    if room.created_by_id:
        data["created_by"] = str(room.created_by_id)
    for index, row in enumerate(rows):
        prefix = f"memberships-{index}-"
        data[prefix + "room"] = str(room.id)
        data[prefix + "user"] = str(row["user"])
        data[prefix + "joined_at_0"] = "2026-01-01"
        data[prefix + "joined_at_1"] = "00:00:00"
        data[prefix + "last_read_message_id"] = "0"
        if row.get("id"):
            data[prefix + "id"] = str(row["id"])
        if row.get("delete"):
            data[prefix + "DELETE"] = "on"
    response = client.post(f"/admin/rooms/room/{room.id}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]


def test_admin_removal_and_addition_announce_room_events_like_the_api(ana, bob, eve, make_user, private_room):
    staff = make_user("Staff", staff=True)
    staff.is_superuser = True
    staff.save()
    admin = Client()
    admin.force_login(staff)
    cursor = stream.stream_state()[0]
    members = {m.user_id: m.id for m in Membership.objects.filter(room=private_room)}
    _admin_post_inline(admin, private_room, [
        {"id": members[ana.id], "user": ana.id},
        {"id": members[bob.id], "user": bob.id, "delete": True},
        {"user": eve.id},
    ])
    assert set(Membership.objects.filter(room=private_room).values_list("user_id", flat=True)) == {ana.id, eve.id}
    found, _ = poll(ana, cursor)
    actions = {(event["action"], event["user"]["id"]) for event in found if event["type"] == "room"}
    assert actions == {("left", bob.id), ("invited", eve.id)}
    found, _ = poll(eve, cursor)
    assert ("invited", eve.id) in {(e["action"], e["user"]["id"]) for e in found if e["type"] == "room"}


# Across processes: a real server, and the change made by another process ----------------------

# The promise: a change made anywhere reaches every server process within this long.
REACH_SECONDS = 5


class Outside:
    """Another process's connection to the live server's database: a shell, or psql."""

    def __init__(self, url):
        if url.startswith("sqlite:///"):
            import sqlite3

            self.connection = sqlite3.connect(url.removeprefix("sqlite:///"), timeout=10, isolation_level=None)
            self.mark = "?"
        else:
            import psycopg2

            self.connection = psycopg2.connect(url)
            self.connection.autocommit = True
            self.mark = "%s"

    def execute(self, sql, params):
        cursor = self.connection.cursor()
        cursor.execute(sql.replace("%s", self.mark), params)

    def close(self):
        self.connection.close()


@pytest.fixture
def live(request, start_server, sqlite_url):
    import os

    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        url = request.getfixturevalue("postgres_url")
        server = start_server(url, workers=2, PARLEY_STATS_SECONDS=0.05)
    else:
        url = sqlite_url
        server = start_server(url, PARLEY_STATS_SECONDS=0.05)
    outside = Outside(url)
    yield server, outside
    outside.close()


def _poll_in_background(client, cursor, timeout):
    import threading

    answers = []
    thread = threading.Thread(target=lambda: answers.append(
        client.get(f"/api/events?cursor={cursor}&timeout={timeout}", timeout=timeout + 10)
    ), daemon=True)
    thread.start()
    return thread, answers


def _until_parked(server):
    """Wait until a worker reports a waiting poll (its stats line), not for a fixed time."""
    from tests.live import live_stats, wait_for

    wait_for(lambda: any(stats.get("waiting") for stats in live_stats(server).values()), 10,
             "the poll never waited")


def _live_room(server, private=True):
    import uuid

    from tests.live import Http

    ana, bob = Http.signup(server.url, "Ana"), Http.signup(server.url, "Bob")
    status, body = ana.post("/api/rooms", {"name": f"vault {uuid.uuid4().hex[:6]}", "is_private": private})
    assert status == 201, body
    return ana, bob, body["room"]


def _live_messages(answers):
    return [event["message"]["body"] for status, body in answers for event in body["events"]
            if event["type"] == "message"]


@pytest.mark.server
def test_a_removal_by_another_process_stops_a_waiting_poll_within_five_seconds(live):
    import time

    server, outside = live
    ana, bob, room = _live_room(server)
    assert ana.post(f"/api/rooms/{room['slug']}/invite", {"user_id": bob.user["id"]})[0] == 200
    cursor = bob.get("/api/events")[1]["cursor"]
    thread, answers = _poll_in_background(bob, cursor, timeout=REACH_SECONDS + 8)
    _until_parked(server)
    outside.execute("DELETE FROM rooms_membership WHERE room_id = %s AND user_id = %s", [room["id"], bob.user["id"]])
    time.sleep(REACH_SECONDS)
    assert ana.post(f"/api/rooms/{room['slug']}/messages", {"body": "private now"})[0] == 201
    thread.join(REACH_SECONDS + 15)
    assert answers and answers[0][0] == 200, answers
    assert "private now" not in _live_messages(answers)
    # And the next poll from that cursor neither.
    status, body = bob.get(f"/api/events?cursor={answers[0][1]['cursor']}&timeout=0")
    assert status == 200 and "private now" not in _live_messages([(status, body)])


@pytest.mark.server
def test_an_addition_by_another_process_reaches_a_waiting_poll_within_five_seconds(live):
    import time

    server, outside = live
    ana, bob, room = _live_room(server)
    cursor = bob.get("/api/events")[1]["cursor"]
    thread, answers = _poll_in_background(bob, cursor, timeout=REACH_SECONDS + 8)
    _until_parked(server)
    outside.execute(
        "INSERT INTO rooms_membership (room_id, user_id, joined_at, last_read_message_id) VALUES (%s, %s, %s, 0)",
        [room["id"], bob.user["id"], "2026-01-01 00:00:00"],
    )
    time.sleep(REACH_SECONDS)
    assert ana.post(f"/api/rooms/{room['slug']}/messages", {"body": "welcome in"})[0] == 201
    started = time.monotonic()
    thread.join(REACH_SECONDS + 15)
    # As a client does: the next poll from the answer's cursor. (A waiting poll may answer early
    # with nothing, e.g. when its worker's listener connects meanwhile: rooms/api.py.)
    while not _live_messages(answers) and time.monotonic() - started < 2:
        answers.append(bob.get(f"/api/events?cursor={answers[-1][1]['cursor']}&timeout=2", timeout=10))
    assert _live_messages(answers) == ["welcome in"], answers
    assert time.monotonic() - started < 2, "the message came only at the poll's timeout"


def test_a_membership_moved_to_another_room_moves_delivery_with_it(ana, bob, private_room, room_factory):
    annex = room_factory(ana, "annex", is_private=True)
    cursor = _known_rooms(bob)
    Membership.objects.filter(room=private_room, user=bob).update(room=annex)
    post(private_room, ana, "vault, after the move")
    post(annex, ana, "annex, after the move")
    found, _ = poll(bob, cursor)
    assert bodies(found) == ["annex, after the move"]


def test_bulk_changes_write_one_event_per_membership_in_order(ana, bob, eve, room_factory):
    rooms = [room_factory(ana) for _ in range(3)]
    start = stream.stream_state()[0]
    Membership.objects.bulk_create([Membership(room=room, user=user) for room in rooms for user in (bob, eve)])
    Membership.objects.filter(user=eve, room__in=rooms).delete()
    written = list(Event.objects.after(start).filter(type=Event.MEMBERSHIP).values_list("position", "data"))
    assert [position for position, _ in written] == list(range(start + 1, start + 10))
    assert [(data["user_id"], data["action"]) for _, data in written] == (
        [(user.id, "joined") for room in rooms for user in (bob, eve)] + [(eve.id, "left")] * 3
    )
