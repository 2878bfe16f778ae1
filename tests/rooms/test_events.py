"""The long poll (GET /api/events): cursors, waiting, waking, who sees what."""
import os
import threading
import time

import pytest

from rooms import messaging, services
from tests.live import Http, live_stats, wait_for

pytestmark = pytest.mark.django_db


def start_cursor(client):
    response = client.get("/api/events")
    assert response.status_code == 200
    assert response.json()["events"] == []
    return response.json()["cursor"]


def test_no_cursor_answers_at_once_with_the_cursor_of_now(api, make_user):
    client = api(make_user())
    started = time.monotonic()
    response = client.get("/api/events", {"timeout": "10"})
    assert time.monotonic() - started < 1
    assert response.status_code == 200
    assert response.json()["events"] == []
    assert isinstance(response.json()["cursor"], str)
    assert response["Cache-Control"] == "no-store"


def test_a_message_after_the_cursor_is_returned_at_once(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, "general")
    client = api(ana)
    cursor = start_cursor(client)
    messaging.message_post(room=room, author=ana, body="hello")
    started = time.monotonic()
    response = client.get("/api/events", {"cursor": cursor, "timeout": "10"})
    assert time.monotonic() - started < 1
    messages = [e for e in response.json()["events"] if e["type"] == "message"]
    assert [m["message"]["body"] for m in messages] == ["hello"]
    assert messages[0]["room"] == room.slug
    assert response.json()["cursor"] != cursor


def test_the_poll_waits_when_there_is_nothing(api, make_user):
    client = api(make_user())
    cursor = start_cursor(client)
    started = time.monotonic()
    response = client.get("/api/events", {"cursor": cursor, "timeout": "1"})
    assert 0.85 <= time.monotonic() - started < 3
    assert response.json()["events"] == []


def test_a_non_member_never_sees_a_private_rooms_events(api, make_user, room_factory):
    ana, eve = make_user("Ana"), make_user("Eve")
    room = room_factory(ana, "secret", is_private=True)
    eve_client = api(eve)
    cursor = start_cursor(eve_client)
    messaging.message_post(room=room, author=ana, body="classified")
    services.typing_notify(room=room, user=ana)
    response = eve_client.get("/api/events", {"cursor": cursor, "timeout": "0"})
    assert response.status_code == 200
    assert "classified" not in response.content.decode()
    assert all(e.get("room") != room.slug for e in response.json()["events"])


@pytest.mark.parametrize("cursor", ["abc", "-1", "1.5", "１２", "9" * 40])
def test_a_malformed_cursor_is_a_400(api, make_user, cursor):
    response = api(make_user()).get("/api/events", {"cursor": cursor})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_a_cursor_from_the_future_or_before_the_kept_window_is_410(api, make_user):
    from rooms.models import Stream

    client = api(make_user())
    cursor = int(start_cursor(client))
    assert client.get("/api/events", {"cursor": str(cursor + 1000)}).status_code == 410
    Stream.objects.filter(id=1).update(pruned_through=cursor + 1, shared_pruned_through=cursor + 1)
    response = client.get("/api/events", {"cursor": str(cursor)})
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "cursor_expired"


def test_anonymous_polls_are_401(client):
    response = client.get("/api/events")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.server
def test_a_waiting_poll_wakes_within_a_fraction_of_a_second_on_a_real_gevent_server(request, start_server, sqlite_url):
    database_url = request.getfixturevalue("postgres_url") if os.environ.get("DATABASE_URL", "").startswith(
        "postgres") else sqlite_url
    server = start_server(database_url, PARLEY_STATS_SECONDS=0.05)
    live_server_url = server.url
    ana = Http.signup(live_server_url, "Ana")
    ben = Http.signup(live_server_url, "Ben")
    status, body = ana.post("/api/rooms", {"name": "wake-test"})
    assert status == 201
    slug = body["room"]["slug"]
    assert ben.post(f"/api/rooms/{slug}/join")[0] == 200
    _, body = ben.get("/api/events")
    cursor = body["cursor"]
    # Drain what came before (presence, the join) so the next poll must wait.
    _, body = ben.get(f"/api/events?cursor={cursor}&timeout=0")
    cursor = body["cursor"]

    answer = {}

    def poll():
        started = time.monotonic()
        answer["result"] = ben.get(f"/api/events?cursor={cursor}&timeout=20")
        answer["returned_at"] = time.monotonic()
        answer["waited"] = time.monotonic() - started

    poller = threading.Thread(target=poll)
    poller.start()
    # The worker's stats line says when the poll is parked on the server.
    wait_for(lambda: any(stats.get("waiting") for stats in live_stats(server).values()), 10,
             "the poll never started waiting")
    assert "result" not in answer, "the poll answered before anything happened"
    sent_at = time.monotonic()
    assert ana.post(f"/api/rooms/{slug}/messages", {"body": "wake up"})[0] == 201
    poller.join(10)
    status, body = answer["result"]
    assert status == 200
    bodies = [e["message"]["body"] for e in body["events"] if e["type"] == "message"]
    assert bodies == ["wake up"]
    assert answer["returned_at"] - sent_at < 0.5
