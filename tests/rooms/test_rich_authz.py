"""Who may do what to a message (API.md Part 2, rich messages): every endpoint x caller x kind of room.

Callers: anonymous, an active non-member, a member who did not write the
message, its author, and a staff user who is not a member. Rooms: public,
private, and a DM between the author and the member. The style of
tests/test_authz_matrix.py: whoever may not read the room gets 404, exactly
the answer for a message that does not exist, and learns nothing of it;
whoever may read it but not do this gets 403; a refused call changes nothing.

Rules (issue 11 decisions): reading a message is reading its room (public:
any signed-in user; private and DM: members). Editing is the author's alone.
Deleting is the author's, or staff's in a room staff may read. Reacting, and
replying, are for members.
"""
import json
import uuid
from urllib.parse import quote

import pytest
from django.test import Client

from rooms import messaging, services
from users.services import token_create

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "nonmember", "member", "author", "staff"]
KINDS = ["public", "private", "dm"]
ENDPOINTS = ["get", "edit", "delete", "react", "unreact", "reply"]


def row(public, private, dm):
    """Statuses for (nonmember, member, author, staff) in each kind of room; anonymous callers get 401."""
    table = {}
    for kind, statuses in (("public", public), ("private", private), ("dm", dm)):
        table[kind] = {"anonymous": 401, **dict(zip(("nonmember", "member", "author", "staff"), statuses))}
    return table


def hidden(member, author):
    """A private room or DM: outsiders and staff (not members) cannot read it."""
    return (404, member, author, 404)


EXPECTED = {
    "get": row((200, 200, 200, 200), hidden(200, 200), hidden(200, 200)),
    "edit": row((403, 403, 200, 403), hidden(403, 200), hidden(403, 200)),
    "delete": row((403, 403, 204, 204), hidden(403, 204), hidden(403, 204)),
    "react": row((403, 200, 200, 403), hidden(200, 200), hidden(200, 200)),
    "unreact": row((403, 204, 204, 403), hidden(204, 204), hidden(204, 204)),
    "reply": row((403, 201, 201, 403), hidden(201, 201), hidden(201, 201)),
}
assert sorted(EXPECTED) == sorted(ENDPOINTS)
SUCCESS = {200, 201, 204}


class World:
    """An author, a member, an outsider and a staff user; three rooms; a client per role."""

    def __init__(self, make_user, room_factory):
        self.tag = uuid.uuid4().hex[:10]
        self.author = make_user("Author")
        self.member = make_user("Member")
        self.outsider = make_user("Outsider")
        self.staff = make_user("Staffer", staff=True)
        self.rooms = {
            "public": room_factory(self.author, f"Open {self.tag}"),
            "private": room_factory(self.author, f"Hush {self.tag}", is_private=True),
            "dm": services.dm_open(user=self.author, other=self.member)[0],
        }
        services.room_join(room=self.rooms["public"], user=self.member)
        services.room_invite(room=self.rooms["private"], inviter=self.author, invitee=self.member)
        self.clients = {
            "anonymous": Client(),
            "nonmember": self.token_client(self.outsider),
            "member": self.token_client(self.member),
            "author": self.token_client(self.author),
            "staff": self.token_client(self.staff),
        }
        self.count = 0

    @staticmethod
    def token_client(user):
        return Client(headers={"Authorization": f"Token {token_create(user=user)}"})

    def message(self, kind):
        """A fresh message by the author, with the author's own 👍 on it; its body is a secret."""
        self.count += 1
        body = f"secret {kind} {self.count} {self.tag}"
        message = messaging.message_post(room=self.rooms[kind], author=self.author, body=body)[0]
        response = self.call("author", "POST", f"/api/messages/{message.id}/reactions", {"emoji": "👍"})
        assert response.status_code == 200, response.content
        return message

    def call(self, role, method, path, data=None):
        client = self.clients[role]
        if method == "GET":
            return client.get(path)
        if method == "DELETE":
            return client.delete(path)
        send = client.patch if method == "PATCH" else client.post
        return send(path, json.dumps(data or {}), content_type="application/json")

    def seen_by_author(self, message_id):
        return self.call("author", "GET", f"/api/messages/{message_id}")


def request_for(world, endpoint, kind, message_id, slug=None):
    emoji = "🎉"
    return {
        "get": ("GET", f"/api/messages/{message_id}", None),
        "edit": ("PATCH", f"/api/messages/{message_id}", {"body": f"rewritten {world.tag}"}),
        "delete": ("DELETE", f"/api/messages/{message_id}", None),
        "react": ("POST", f"/api/messages/{message_id}/reactions", {"emoji": emoji}),
        # Whoever calls removes only their own 👍; the author's stays unless the author calls.
        "unreact": ("DELETE", f"/api/messages/{message_id}/reactions/{quote('👍', safe='')}", None),
        "reply": ("POST", f"/api/rooms/{slug or world.rooms[kind].slug}/messages",
                  {"body": f"reply {world.tag}", "reply_to": message_id}),
    }[endpoint]


@pytest.fixture
def world(make_user, room_factory):
    return World(make_user, room_factory)


def assert_json_error(response):
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"}


def assert_unchanged(world, message, endpoint, role):
    """A refused call left the message as it was: there, unedited, with only the author's 👍."""
    response = world.seen_by_author(message.id)
    assert response.status_code == 200, f"{role} {endpoint}: the message is gone"
    seen = response.json()["message"]
    assert seen["body"] == message.body and seen["edited_at"] is None, f"{role} {endpoint}"
    assert [(r["emoji"], r["user_ids"]) for r in seen["reactions"]] == [("👍", [world.author.id])], f"{role} {endpoint}"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_message_endpoints(world, kind, role):
    wrong = []
    for endpoint in ENDPOINTS:
        message = world.message(kind)
        method, path, data = request_for(world, endpoint, kind, message.id)
        response = world.call(role, method, path, data)
        expected = EXPECTED[endpoint][kind][role]
        if response.status_code != expected:
            wrong.append((endpoint, response.status_code, expected, response.content[:200]))
            continue
        if expected >= 400:
            assert_json_error(response)
            assert_unchanged(world, message, endpoint, role)
            if expected == 404:
                text = response.content.decode("utf-8", "replace")
                assert message.body not in text and world.rooms[kind].slug not in text, endpoint
                # Exactly what a message (or room) that does not exist answers.
                missing = request_for(world, endpoint, kind, 10**9, slug=f"no-such-room-{world.tag}")
                if endpoint == "reply":  # a room that does not exist, replying to a message that does
                    missing = request_for(world, endpoint, kind, message.id, slug=f"no-such-room-{world.tag}")
                answer = world.call(role, *missing)
                assert (answer.status_code, answer.content) == (404, response.content), endpoint
    assert wrong == [], f"{role} in a {kind} room: (endpoint, got, expected, body)"


CHANGES = ("edit", "delete", "react", "unreact", "reply")


@pytest.mark.parametrize("role, kind", [
    (role, kind) for role in ("member", "author", "staff") for kind in KINDS
    if any(EXPECTED[endpoint][kind][role] in SUCCESS for endpoint in CHANGES)
])
def test_a_successful_call_did_what_it_says(world, kind, role):
    """The other half of the matrix: where the answer was success, the change is really there."""
    results = {}
    for endpoint in CHANGES:
        if EXPECTED[endpoint][kind][role] not in SUCCESS:
            continue
        message = world.message(kind)
        method, path, data = request_for(world, endpoint, kind, message.id)
        assert world.call(role, method, path, data).status_code in SUCCESS
        results[endpoint] = (message, world.seen_by_author(message.id))
    user_id = {"member": world.member.id, "author": world.author.id, "staff": world.staff.id}[role]
    for endpoint, (message, response) in results.items():
        if endpoint == "delete":
            assert response.status_code == 404
            continue
        seen = response.json()["message"]
        reactions = [(r["emoji"], r["user_ids"]) for r in seen["reactions"]]
        if endpoint == "edit":
            assert seen["body"] == f"rewritten {world.tag}" and seen["edited_at"]
        elif endpoint == "react":
            assert ("🎉", [user_id]) in reactions
        elif endpoint == "unreact":
            expected = [] if role == "author" else [("👍", [world.author.id])]
            assert reactions == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ["nonmember", "member", "staff"])
def test_edit_delete_and_reaction_events_reach_only_members(world, kind, role):
    client = world.clients[role]
    cursor = client.get("/api/events").json()["cursor"]
    edited, deleted, reacted = (world.message(kind) for _ in range(3))
    new_words = {"body": f"new words {world.tag}"}
    assert world.call("author", "PATCH", f"/api/messages/{edited.id}", new_words).status_code == 200
    assert world.call("author", "DELETE", f"/api/messages/{deleted.id}").status_code == 204
    assert world.call("author", "POST", f"/api/messages/{reacted.id}/reactions", {"emoji": "🎉"}).status_code == 200
    response = client.get("/api/events", {"cursor": cursor, "timeout": "0"})
    assert response.status_code == 200
    slug = world.rooms[kind].slug
    types = [e["type"] for e in response.json()["events"] if e.get("room") == slug]
    rich = [t for t in types if t in ("message_updated", "message_deleted", "reaction")]
    if role == "member":
        assert {"message_updated", "message_deleted", "reaction"} <= set(rich)
    else:
        assert rich == []
        if kind != "public":
            assert world.tag not in response.content.decode("utf-8", "replace")
