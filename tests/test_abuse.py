"""The abuse cases of issue 9 (item 4), end to end against a real gunicorn with rate limits on.

Each test starts a server with small limits from the environment (the test
servers of tests/live.py run with PARLEY_RATE_LIMITS=off unless told), then
plays the attacker through HTTP: a room-creation flood, one victim invited
into room after room, join/leave cycling, typing into many rooms, DM spam to
someone who blocked the spammer, and a blocked user's messages. Limits are
fixed windows; a burst is started in the same window as it ends
(same_window), so the counts are exact.
"""
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live import Http

pytestmark = pytest.mark.server

# Registration and login are not what these tests are about: every person signs up from 127.0.0.1.
QUIET = {"PARLEY_RATE_LIMITS": "on", "PARLEY_RATE_REGISTER_IP": "off", "PARLEY_RATE_LOGIN_IP": "off"}


class Client(Http):
    """Http that also returns the answer's headers: (status, body, headers)."""

    def call(self, method, path, data=None):
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None, answer.headers
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None, error.headers


@pytest.fixture
def abuse_server(request, start_server):
    """abuse_server(**env) -> the URL of a server with rate limits on and these limits."""

    def start(**env):
        if os.environ.get("DATABASE_URL", "").startswith("postgres"):
            database = request.getfixturevalue("postgres_url")
        else:
            database = request.getfixturevalue("sqlite_url")
        return start_server(database, **QUIET, **env).url

    return start


def person(url, name):
    return Client.signup(url, name)


def same_window(seconds, margin=5.0):
    """Wait, if need be, so that the next `margin` seconds fall in one window of `seconds`."""
    left = seconds - time.time() % seconds
    if left < margin:
        time.sleep(left + 0.05)


def assert_refused(status, body, headers):
    assert status == 429, (status, body)
    assert body["error"]["code"] == "rate_limited"
    assert int(headers["Retry-After"]) >= 1


def unique(prefix):
    return f"{prefix} {uuid.uuid4().hex[:8]}"


def test_a_room_creation_flood_gets_429_with_retry_after(abuse_server):
    url = abuse_server(PARLEY_RATE_ROOM_CREATE="5/1h")
    spammer, other = person(url, "Spammer"), person(url, "Other")
    same_window(3600)
    answers = [spammer.call("POST", "/api/rooms", {"name": unique("flood")}) for _ in range(12)]
    assert [status for status, _, _ in answers] == [201] * 5 + [429] * 7
    for answer in answers[5:]:
        assert_refused(*answer)
    listed = {room["name"] for room in spammer.get("/api/rooms")[1]["rooms"]}
    assert sum(name.startswith("flood") for name in listed) == 5
    assert other.call("POST", "/api/rooms", {"name": unique("fine")})[0] == 201


def test_inviting_one_victim_into_many_rooms_stops_whoever_invites(abuse_server):
    url = abuse_server(PARLEY_RATE_INVITED="3/1h")
    victim = person(url, "Victim")
    spammers = [person(url, f"Spammer{n}") for n in range(2)]
    rooms = [spammers[n % 2].post("/api/rooms", {"name": unique("trap"), "is_private": True})[1]["room"]
             for n in range(8)]
    same_window(3600)
    answers = [spammers[n % 2].call("POST", f"/api/rooms/{room['slug']}/invite", {"user_id": victim.user["id"]})
               for n, room in enumerate(rooms)]
    assert [status for status, _, _ in answers] == [200] * 3 + [429] * 5
    for answer in answers[3:]:
        assert_refused(*answer)
    mine = [room for room in victim.get("/api/rooms")[1]["rooms"] if room["name"].startswith("trap")]
    assert len(mine) == 3
    # Each of the three says who put the victim there, a stranger, so the client offers to leave.
    assert all(room["invitation_from_stranger"] and room["invited_by"]["id"] in {s.user["id"] for s in spammers}
               for room in mine)


def test_join_leave_cycling_stops_and_the_members_hear_no_more(abuse_server):
    url = abuse_server(PARLEY_RATE_JOIN_LEAVE="6/1h")
    owner, cycler = person(url, "Owner"), person(url, "Cycler")
    slug = owner.post("/api/rooms", {"name": unique("lobby")})[1]["room"]["slug"]
    cursor = owner.get("/api/events")[1]["cursor"]
    same_window(3600)
    statuses = []
    for _ in range(10):
        statuses.append(cycler.call("POST", f"/api/rooms/{slug}/join")[0])
        statuses.append(cycler.call("POST", f"/api/rooms/{slug}/leave")[0])
    assert statuses == [200, 204] * 3 + [429] * 14
    assert_refused(*cycler.call("POST", f"/api/rooms/{slug}/join"))
    status, body = owner.get(f"/api/events?cursor={cursor}&timeout=0")
    heard = [e for e in body["events"] if e["type"] == "room" and e["user"]["id"] == cycler.user["id"]]
    assert [e["action"] for e in heard] == ["joined", "left"] * 3


def test_a_typing_flood_across_rooms_stops(abuse_server):
    url = abuse_server(PARLEY_RATE_TYPING="5/1m")
    typist, listener = person(url, "Typist"), person(url, "Listener")
    slugs = [typist.post("/api/rooms", {"name": unique("typing")})[1]["room"]["slug"] for _ in range(10)]
    for slug in slugs:
        assert listener.post(f"/api/rooms/{slug}/join")[0] == 200
    cursor = listener.get("/api/events")[1]["cursor"]
    same_window(60)
    answers = [typist.call("POST", f"/api/rooms/{slug}/typing") for slug in slugs]
    assert [status for status, _, _ in answers] == [204] * 5 + [429] * 5
    for answer in answers[5:]:
        assert_refused(*answer)
    status, body = listener.get(f"/api/events?cursor={cursor}&timeout=0")
    assert len([e for e in body["events"] if e["type"] == "typing"]) == 5


def test_dm_spam_to_someone_who_blocked_you_gets_403(abuse_server):
    url = abuse_server()
    ana, spammer = person(url, "Ana"), person(url, "Spammer")
    assert ana.post("/api/blocks", {"user_id": spammer.user["id"]})[0] == 201
    cursor = ana.get("/api/events")[1]["cursor"]
    for _ in range(10):
        status, body, _ = spammer.call("POST", "/api/dms", {"user_id": ana.user["id"]})
        assert status == 403 and body["error"]["code"] == "forbidden", (status, body)
    assert not [room for room in ana.get("/api/rooms")[1]["rooms"] if room["kind"] == "dm"]
    status, body = ana.get(f"/api/events?cursor={cursor}&timeout=0")
    assert [e for e in body["events"] if e["type"] == "room"] == []


def test_a_blocked_users_messages_are_absent_from_the_blockers_history_and_poll(abuse_server):
    url = abuse_server()
    ana, bob, carl = person(url, "Ana"), person(url, "Bob"), person(url, "Carl")
    slug = carl.post("/api/rooms", {"name": unique("commons")})[1]["room"]["slug"]
    for someone in (ana, bob):
        assert someone.post(f"/api/rooms/{slug}/join")[0] == 200
    assert bob.post(f"/api/rooms/{slug}/messages", {"body": "bob before"})[0] == 201
    assert ana.post("/api/blocks", {"user_id": bob.user["id"]})[0] == 201
    cursor = ana.get("/api/events")[1]["cursor"]

    def poll_until_carl():
        """Ana's client: long polls from the cursor until Carl's message comes; every message it got."""
        got, at = [], cursor
        while "carl after" not in got:
            status, body = ana.get(f"/api/events?cursor={at}&timeout=20")
            assert status == 200, body
            at = body["cursor"]
            got += [e["message"]["body"] for e in body["events"] if e["type"] == "message"]
        return got

    with ThreadPoolExecutor(1) as pool:
        polled = pool.submit(poll_until_carl)  # usually waiting by the time Bob writes
        assert bob.post(f"/api/rooms/{slug}/messages", {"body": "bob after"})[0] == 201
        assert carl.post(f"/api/rooms/{slug}/messages", {"body": "carl after"})[0] == 201
        assert polled.result(timeout=30) == ["carl after"]

    def bodies(client):
        return [m["body"] for m in client.get(f"/api/rooms/{slug}/messages")[1]["messages"]]

    assert bodies(ana) == ["carl after"]
    assert bodies(carl) == ["bob before", "bob after", "carl after"]
    assert bodies(bob) == ["bob before", "bob after", "carl after"]  # Bob is not told
    status, body = ana.get(f"/api/events?cursor={cursor}&timeout=0")
    assert [e["message"]["body"] for e in body["events"] if e["type"] == "message"] == ["carl after"]
    found = ana.get("/api/search?q=after")[1]["messages"]
    assert [m["body"] for m in found] == ["carl after"]
