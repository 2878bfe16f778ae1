"""History (GET /api/rooms/{slug}/messages) and ephemeral rooms, which keep none."""
import threading
import time

import pytest

from rooms import messaging, services
from rooms.models import Message
from tests.live import Http

pytestmark = pytest.mark.django_db


def bulk_messages(room, author, count):
    """Store `count` messages quickly (no events: history reads messages only); return their ids."""
    Message.objects.bulk_create(
        [Message(room=room, author=author, body=f"message {n}") for n in range(count)], batch_size=500
    )
    return list(Message.objects.filter(room=room).order_by("id").values_list("id", flat=True))


def walk(client, slug, limit=None):
    """Page from the newest back to the oldest the way a client scrolls up; return the pages."""
    pages, before = [], None
    for _ in range(2000):  # bounded: a has_more that never ends fails below
        params = {}
        if before is not None:
            params["before"] = str(before)
        if limit is not None:
            params["limit"] = str(limit)
        response = client.get(f"/api/rooms/{slug}/messages", params)
        assert response.status_code == 200, response.content
        page = response.json()
        pages.append(page)
        if not page["has_more"]:
            return pages
        before = page["messages"][0]["id"]
    raise AssertionError("has_more never became false")


@pytest.mark.parametrize("limit, expected_pages", [(None, 20), (200, 5), (73, 14), (1000 // 7, 8)])
def test_paging_over_1000_messages_returns_every_id_exactly_once_in_order(
    api, make_user, room_factory, limit, expected_pages
):
    ana = make_user("Ana")
    room = room_factory(ana, "archive")
    ids = bulk_messages(room, ana, 1000)
    pages = walk(api(ana), room.slug, limit)

    assert len(pages) == expected_pages
    size = limit or 50
    for page in pages:
        page_ids = [m["id"] for m in page["messages"]]
        assert page_ids == sorted(page_ids), "each page is oldest first"
        assert len(page_ids) == size or not page["has_more"]
    assert [m["id"] for m in pages[0]["messages"]] == ids[-size:], "the first page is the newest"
    seen = [m["id"] for page in reversed(pages) for m in page["messages"]]
    assert seen == ids, "every message exactly once, in order"
    assert pages[-1]["has_more"] is False
    assert pages[-1]["messages"][0]["body"] == "message 0"


def test_a_page_that_ends_exactly_at_the_oldest_message_says_has_more_false(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana)
    ids = bulk_messages(room, ana, 100)
    client = api(ana)
    first = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "50"}).json()
    assert first["has_more"] is True
    second = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "50", "before": str(ids[50])}).json()
    assert [m["id"] for m in second["messages"]] == ids[:50]
    assert second["has_more"] is False
    empty = client.get(f"/api/rooms/{room.slug}/messages", {"before": str(ids[0])}).json()
    assert empty == {"messages": [], "has_more": False}


def test_a_history_page_costs_a_fixed_number_of_queries(api, make_user, room_factory, django_assert_max_num_queries):
    ana = make_user("Ana")
    room = room_factory(ana)
    bulk_messages(room, ana, 300)
    client = api(ana)
    with django_assert_max_num_queries(6):
        response = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "200"})
    assert len(response.json()["messages"]) == 200


def test_history_is_the_same_message_json_as_the_events(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana)
    message, _ = messaging.message_post(room=room, author=ana, body="<b>hi</b> & bye", client_id="c-1")
    [shown] = api(ana).get(f"/api/rooms/{room.slug}/messages").json()["messages"]
    assert shown == {
        "id": message.id, "room": room.slug, "author": {"id": ana.id, "display_name": ana.display_name, "is_bot": False},
        "body": "<b>hi</b> & bye", "created_at": shown["created_at"], "client_id": "c-1",
        "html": "<p>&lt;b&gt;hi&lt;/b&gt; &amp; bye</p>", "mentions": [], "reply_to": None, "reactions": [],
        "attachments": [], "edited_at": None,
    }
    assert shown["created_at"].endswith("Z")


def test_public_history_is_readable_by_non_members_and_private_history_is_not(api, make_user, room_factory):
    ana, eve = make_user("Ana"), make_user("Eve")
    public = room_factory(ana, "lobby")
    private = room_factory(ana, "backstage", is_private=True)
    messaging.message_post(room=public, author=ana, body="welcome")
    messaging.message_post(room=private, author=ana, body="secret")
    client = api(eve)
    assert [m["body"] for m in client.get(f"/api/rooms/{public.slug}/messages").json()["messages"]] == ["welcome"]
    response = client.get(f"/api/rooms/{private.slug}/messages")
    assert response.status_code == 404
    assert "secret" not in response.content.decode()


@pytest.mark.parametrize("params", [
    {"before": "abc"}, {"before": "0"}, {"before": "-5"}, {"before": "1.5"}, {"before": "9" * 30},
    {"limit": "0"}, {"limit": "201"}, {"limit": "ten"}, {"limit": "-1"},
])
def test_bad_paging_parameters_are_400(api, make_user, room_factory, params):
    ana = make_user("Ana")
    room = room_factory(ana)
    response = api(ana).get(f"/api/rooms/{room.slug}/messages", params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


# Ephemeral rooms ---------------------------------------------------------------------


def test_an_ephemeral_message_reaches_a_poller_but_not_history(api, make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "whispers", is_ephemeral=True)
    services.room_join(room=room, user=ben)
    ben_client = api(ben)
    cursor = ben_client.get("/api/events").json()["cursor"]

    message, _ = messaging.message_post(room=room, author=ana, body="gone soon")

    events = ben_client.get("/api/events", {"cursor": cursor, "timeout": "5"}).json()["events"]
    delivered = [e["message"] for e in events if e["type"] == "message"]
    assert [(m["id"], m["body"]) for m in delivered] == [(message.id, "gone soon")]
    for client in (ben_client, api(ana)):
        history = client.get(f"/api/rooms/{room.slug}/messages").json()
        assert history == {"messages": [], "has_more": False}
        assert client.get(f"/api/rooms/{room.slug}/messages", {"before": str(message.id + 1)}).json()["messages"] == []


@pytest.mark.server
def test_an_ephemeral_message_wakes_a_waiting_poller_on_a_real_server(live_server_url):
    ana = Http.signup(live_server_url, "Ana")
    ben = Http.signup(live_server_url, "Ben")
    status, body = ana.post("/api/rooms", {"name": f"ephemeral {time.monotonic_ns()}", "is_ephemeral": True})
    assert status == 201 and body["room"]["is_ephemeral"] is True
    slug = body["room"]["slug"]
    assert ben.post(f"/api/rooms/{slug}/join")[0] == 200
    cursor = ben.get("/api/events")[1]["cursor"]
    cursor = ben.get(f"/api/events?cursor={cursor}&timeout=0")[1]["cursor"]  # drain the join

    answer = {}
    waiting = threading.Event()

    def poll():
        waiting.set()
        answer["result"] = ben.get(f"/api/events?cursor={cursor}&timeout=20")

    poller = threading.Thread(target=poll)
    poller.start()
    waiting.wait(5)
    time.sleep(0.3)  # let the request reach the server and wait there
    status, body = ana.post(f"/api/rooms/{slug}/messages", {"body": "whisper"})
    assert status == 201
    message_id = body["message"]["id"]
    poller.join(15)
    status, body = answer["result"]
    assert status == 200
    assert [(e["message"]["id"], e["message"]["body"]) for e in body["events"] if e["type"] == "message"] == [
        (message_id, "whisper")
    ]
    assert ben.get(f"/api/rooms/{slug}/messages") == (200, {"messages": [], "has_more": False})
    status, found = ben.get("/api/search?q=whisper")
    assert (status, found["messages"]) == (200, [])
