"""Who may do what: every API endpoint x every kind of caller x every kind of room.

Callers: anonymous, a pending user (not approved by staff; with a token, and
with a session that predates being un-approved), an active non-member, a
member (not the room's creator) and a staff user who is not a member.
Rooms: public, private, and a DM between the creator and the member.

Each case checks the status, and that an answer to anyone who is not a member
of a private room or DM says nothing about it: not its name, slug or topic,
nor any of its messages; a private room answers 404 exactly like a room that
does not exist.
"""
import json
import uuid

import pytest
from django.test import Client

from rooms import messaging, services
from rooms.hub import hub
from users.services import token_create

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "pending_token", "pending_session", "nonmember", "member", "staff"]
KINDS = ["public", "private", "dm"]

# endpoint -> {kind: {role: status}}; roles not listed get the default for the kind.
A = {"anonymous": 401, "pending_token": 401, "pending_session": 401}


def row(public, private, dm, **kinds):
    """Statuses for (nonmember, member, staff) in each kind of room; unauthenticated callers get 401."""
    table = {}
    for kind, (nonmember, member, staff) in (("public", public), ("private", private), ("dm", dm)):
        table[kind] = {**A, "nonmember": nonmember, "member": member, "staff": staff}
    return table


def hidden(member_status):
    return (404, member_status, 404)


EXPECTED = {
    "detail": row((200, 200, 200), hidden(200), hidden(200)),
    "patch": row((403, 403, 200), hidden(403), hidden(403)),
    "join": row((200, 200, 200), hidden(200), hidden(200)),
    "leave": row((204, 204, 204), hidden(204), hidden(204)),
    "invite": row((403, 200, 403), hidden(200), hidden(403)),
    "history": row((200, 200, 200), hidden(200), hidden(200)),
    "send": row((403, 201, 403), hidden(201), hidden(201)),
    "typing": row((403, 204, 403), hidden(204), hidden(204)),
    "read": row((403, 204, 403), hidden(204), hidden(204)),
    "search_in_room": row((403, 200, 403), hidden(200), hidden(200)),
}


class World:
    """Users, three rooms with a message each, and a client per role."""

    def __init__(self, make_user, room_factory):
        self.tag = uuid.uuid4().hex[:10]
        self.owner = make_user("Owner")
        self.member = make_user("Member")
        self.outsider = make_user("Outsider")
        self.staff = make_user("Staffer", staff=True)
        self.pending = make_user("Pending")  # approved while they logged in, un-approved since
        self.third = make_user("Third")
        self.rooms = {
            "public": room_factory(self.owner, f"Open {self.tag}", topic=f"open topic {self.tag}"),
            "private": room_factory(self.owner, f"Hush {self.tag}", topic=f"hush topic {self.tag}", is_private=True),
            "dm": services.dm_open(user=self.owner, other=self.member)[0],
        }
        services.room_join(room=self.rooms["public"], user=self.member)
        services.room_invite(room=self.rooms["private"], inviter=self.owner, invitee=self.member)
        self.messages = {
            kind: messaging.message_post(room=room, author=self.owner, body=f"said in {kind} {self.tag}")[0]
            for kind, room in self.rooms.items()
        }
        pending_token = token_create(user=self.pending)
        pending_session = Client()
        pending_session.force_login(self.pending)
        self.pending.is_approved = False
        self.pending.save(update_fields=["is_approved"])
        self.clients = {
            "anonymous": Client(),
            "pending_token": Client(headers={"Authorization": f"Token {pending_token}"}),
            "pending_session": pending_session,
            "nonmember": self.token_client(self.outsider),
            "member": self.token_client(self.member),
            "staff": self.token_client(self.staff),
        }
        self.users = {"nonmember": self.outsider, "member": self.member, "staff": self.staff}

    @staticmethod
    def token_client(user):
        return Client(headers={"Authorization": f"Token {token_create(user=user)}"})

    def secrets(self, kind):
        """What must never reach someone who cannot see the room."""
        room = self.rooms[kind]
        found = [room.slug, self.messages[kind].body]
        if kind == "private":
            found += [room.name, room.topic]
        return found

    def call(self, role, method, path, data=None):
        client = self.clients[role]
        if method == "GET":
            return client.get(path, data or {})
        if method == "PATCH":
            return client.patch(path, json.dumps(data or {}), content_type="application/json")
        return client.post(path, json.dumps(data or {}), content_type="application/json")


@pytest.fixture
def world(make_user, room_factory):
    return World(make_user, room_factory)


def request_for(world, endpoint, kind, slug=None):
    slug = slug or world.rooms[kind].slug
    base = f"/api/rooms/{slug}"
    return {
        "detail": ("GET", base, None),
        "patch": ("PATCH", base, {"topic": "changed"}),
        "join": ("POST", base + "/join", None),
        "leave": ("POST", base + "/leave", None),
        "invite": ("POST", base + "/invite", {"user_id": world.third.id}),
        "history": ("GET", base + "/messages", None),
        "send": ("POST", base + "/messages", {"body": "hello"}),
        "typing": ("POST", base + "/typing", None),
        "read": ("POST", base + "/read", {"message_id": world.messages[kind].id}),
        "search_in_room": ("GET", "/api/search", {"q": world.tag, "room": slug}),
    }[endpoint]


def body_text(response):
    return response.content.decode("utf-8", "replace")


def assert_no_secrets(world, kind, response, role):
    text = body_text(response)
    for secret in world.secrets(kind):
        assert secret not in text, f"{role} learned {secret!r} about the {kind} room: {text[:300]}"
    for header, value in response.items():
        for secret in world.secrets(kind):
            assert secret not in value, f"{role} learned {secret!r} from the {header} header"


def assert_json_error(response):
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"error"}


# Read-only calls first and join/leave last, so that one world serves a whole row.
ORDER = ["detail", "history", "search_in_room", "typing", "read", "send", "invite", "patch", "join", "leave"]
assert sorted(ORDER) == sorted(EXPECTED)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("role", ROLES)
def test_room_endpoints(world, kind, role):
    wrong = []
    for endpoint in ORDER:
        method, path, data = request_for(world, endpoint, kind)
        response = world.call(role, method, path, data)
        expected = EXPECTED[endpoint][kind][role]
        if response.status_code != expected:
            wrong.append((endpoint, response.status_code, expected, body_text(response)[:200]))
            continue
        if expected >= 400:
            assert_json_error(response)
        can_see = role == "member" or kind == "public" and role in ("nonmember", "staff")
        if not can_see:
            assert_no_secrets(world, kind, response, role)
        if expected == 404:
            # Exactly the answer for a room that does not exist: nothing tells them it is there.
            method, path, data = request_for(world, endpoint, kind, slug=f"no-such-room-{world.tag}")
            missing = world.call(role, method, path, data)
            assert (missing.status_code, missing.content) == (404, response.content), endpoint
    assert wrong == [], f"{role} in a {kind} room: (endpoint, got, expected, body)"


def test_a_refused_caller_changes_nothing(world):
    """Nothing refused above left a trace: no message, member, topic or read mark."""
    from rooms.models import Membership, Message

    before = (Message.objects.count(), Membership.objects.count(), sorted(r.topic for r in world.rooms.values()))
    for role in ("anonymous", "pending_token", "pending_session", "nonmember", "staff"):
        for kind in ("private", "dm"):
            for endpoint in EXPECTED:
                method, path, data = request_for(world, endpoint, kind)
                assert world.call(role, method, path, data).status_code >= 400
    world.rooms["private"].refresh_from_db()
    after = (Message.objects.count(), Membership.objects.count(), sorted(r.topic for r in world.rooms.values()))
    assert after == before
    assert not Membership.objects.filter(user=world.outsider).exists()


# Endpoints that are not about one room -------------------------------------------------------

SIGNED_IN = ("nonmember", "member", "staff")


@pytest.mark.parametrize("role", ROLES)
def test_room_list_shows_only_what_the_caller_may_see(world, role):
    response = world.call(role, "GET", "/api/rooms")
    if role not in SIGNED_IN:
        assert response.status_code == 401
        assert_json_error(response)
        return
    assert response.status_code == 200
    slugs = {room["slug"] for room in response.json()["rooms"]}
    assert world.rooms["public"].slug in slugs
    for kind in ("private", "dm"):
        if role == "member":
            assert world.rooms[kind].slug in slugs
        else:
            assert_no_secrets(world, kind, response, role)


@pytest.mark.parametrize("role", ROLES)
def test_search_without_a_room_finds_only_the_callers_rooms(world, role):
    response = world.call(role, "GET", "/api/search", {"q": world.tag})
    if role not in SIGNED_IN:
        assert response.status_code == 401
        return
    assert response.status_code == 200
    found = {m["room"] for m in response.json()["messages"]}
    if role == "member":
        assert found == {room.slug for room in world.rooms.values()}
    else:
        assert found == set()  # not even the public room: search covers the rooms one has joined
        for kind in ("private", "dm"):
            assert_no_secrets(world, kind, response, role)


@pytest.mark.parametrize("role", ROLES)
def test_events_carry_only_the_callers_rooms(world, role):
    response = world.call(role, "GET", "/api/events")
    if role not in SIGNED_IN:
        assert response.status_code == 401
        return
    cursor = response.json()["cursor"]
    for kind, room in world.rooms.items():
        messaging.message_post(room=room, author=world.owner, body=f"later in {kind} {world.tag}")
    services.typing_notify(room=world.rooms["private"], user=world.owner)
    services.room_update(room=world.rooms["private"], by=world.owner, topic=f"new hush topic {world.tag}")
    hub.refresh()
    response = world.call(role, "GET", "/api/events", {"cursor": cursor, "timeout": "0"})
    assert response.status_code == 200
    rooms = {event.get("room") for event in response.json()["events"]} - {None}
    if role == "member":
        assert rooms == {room.slug for room in world.rooms.values()}
    else:
        assert world.rooms["private"].slug not in rooms and world.rooms["dm"].slug not in rooms
        assert f"new hush topic {world.tag}" not in body_text(response)
        for kind in ("private", "dm"):
            assert_no_secrets(world, kind, response, role)


@pytest.mark.parametrize("role", ROLES)
def test_account_and_directory_endpoints(world, role):
    signed_in = role in SIGNED_IN
    me = world.call(role, "GET", "/api/me")
    users = world.call(role, "GET", "/api/users")
    create = world.call(role, "POST", "/api/rooms", {"name": f"new {role} {world.tag}"})
    dm = world.call(role, "POST", "/api/dms", {"user_id": world.third.id})
    logout = world.call(role, "POST", "/api/auth/logout")
    if not signed_in:
        for response in (me, users, create, dm, logout):
            assert response.status_code == 401
            assert_json_error(response)
        return
    user = world.users[role]
    assert me.status_code == 200 and me.json()["user"]["id"] == user.id
    assert create.status_code == 201
    assert dm.status_code == 201 and {u["id"] for u in dm.json()["room"]["dm_users"]} == {user.id, world.third.id}
    assert logout.status_code == 204
    assert users.status_code == 200
    listed = {u["id"]: u for u in users.json()["users"]}
    assert world.pending.id not in listed  # the directory lists active users only
    for other in (world.owner, world.third):
        if role == "staff":
            assert listed[other.id]["email"] == other.email
        else:
            assert "email" not in listed[other.id] and other.email not in body_text(users)


@pytest.mark.parametrize("role", ROLES)
def test_room_members_show_emails_to_staff_only(world, role):
    response = world.call(role, "GET", f"/api/rooms/{world.rooms['public'].slug}")
    if role not in SIGNED_IN:
        assert response.status_code == 401
        return
    members = {m["id"]: m for m in response.json()["members"]}
    assert ("email" in members[world.owner.id]) is (role == "staff")


def test_a_pending_user_cannot_log_in_and_a_bad_token_is_not_the_session(world):
    response = Client().post(
        "/api/auth/login", json.dumps({"email": world.pending.email, "password": "correct-horse-battery-9"}),
        content_type="application/json",
    )
    assert response.status_code == 403 and response.json()["error"]["code"] == "pending_approval"
    # A session cookie with a wrong token: the token decides, the session does not rescue it.
    client = Client(headers={"Authorization": "Token not-a-real-token"})
    client.force_login(world.member)
    assert client.get("/api/me").status_code == 401


def test_the_api_root_needs_no_login_and_tells_nothing(world):
    response = Client().get("/api/")
    assert response.status_code == 200
    for kind in ("private", "dm"):
        assert_no_secrets(world, kind, response, "anonymous")
