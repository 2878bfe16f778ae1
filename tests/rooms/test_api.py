"""The rooms and messages API (API.md Rooms, Messages, Errors, Limits, Operations).

Every rejected request is also checked to have stored nothing: no room, no
membership, no message and no event.
"""
import json
import re

import pytest
from django.test import Client

from rooms import messaging, services
from rooms.models import Event, Membership, Message, Room
from tests.conftest import error_of
from users.models import User

pytestmark = pytest.mark.django_db

ROOM_FIELDS = {
    "id", "name", "slug", "topic", "kind", "is_private", "is_ephemeral", "created_at",
    "member_count", "unread_count", "last_message_id",
}
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def stored():
    """What a rejected request must leave alone."""
    return (Room.objects.count(), Membership.objects.count(), Message.objects.count(), Event.objects.count())


class Rejects:
    """Assert a request is refused with `status`/`code` and stores nothing."""

    def __init__(self, status, code):
        self.status, self.code = status, code

    def __call__(self, send):
        before = stored()
        error = error_of(send(), self.status, self.code)
        assert stored() == before
        return error


invalid = Rejects(400, "invalid")
forbidden = Rejects(403, "forbidden")
not_found = Rejects(404, "not_found")


def post(client, path, data=None):
    return client.post(path, data)


def dm(client, other):
    return client.post("/api/dms", {"user_id": other.id})


def msgs(client, room, **params):
    return client.get(f"/api/rooms/{room.slug}/messages", {k: str(v) for k, v in params.items()})


def send(client, room, body, **extra):
    return client.post(f"/api/rooms/{room.slug}/messages", {"body": body, **extra})


# Create ----------------------------------------------------------------------------------


def test_create_room_is_201_and_the_creator_its_only_member(api, ana):
    response = api(ana).post("/api/rooms", {"name": "General", "topic": "Anything"})
    assert response.status_code == 201
    room = response.json()["room"]
    assert ROOM_FIELDS <= set(room)
    assert room["name"] == "General" and room["topic"] == "Anything"
    assert room["kind"] == "room" and room["is_private"] is False and room["is_ephemeral"] is False
    assert room["member_count"] == 1 and room["unread_count"] == 0 and room["last_message_id"] is None
    assert room["is_member"] is True
    assert ISO_Z.match(room["created_at"])
    stored_room = Room.objects.get(id=room["id"])
    assert stored_room.slug == room["slug"]
    assert list(stored_room.memberships.values_list("user_id", flat=True)) == [ana.id]


def test_create_private_and_ephemeral_room(api, ana):
    room = api(ana).post("/api/rooms", {"name": "Secret", "is_private": True, "is_ephemeral": True}).json()["room"]
    assert room["is_private"] is True and room["is_ephemeral"] is True


def test_create_room_collapses_white_space_in_the_name(api, ana):
    room = api(ana).post("/api/rooms", {"name": "  Tea \t and   cake "}).json()["room"]
    assert room["name"] == "Tea and cake"


def test_create_room_with_a_taken_name_in_any_case_is_409(api, ana, bob, room_factory):
    room_factory(ana, "General")
    before = stored()
    error_of(api(bob).post("/api/rooms", {"name": "gENERAL"}), 409, "conflict")
    error_of(api(bob).post("/api/rooms", {"name": " general  "}), 409, "conflict")
    assert stored() == before


def test_a_private_rooms_name_is_taken_too(api, ana, bob, room_factory):
    room_factory(ana, "Hidden", is_private=True)
    error_of(api(bob).post("/api/rooms", {"name": "hidden"}), 409, "conflict")


@pytest.mark.parametrize("names", [
    ["Café & Bar!", "cafe-bar"],
    ["a/b?c#d%20e", None],
    ["日本語", None],
    ["!!!", None],
    ["dm-1-2", None],
    ["..", None],
])
def test_room_slugs_are_url_safe(api, ana, names):
    name, expected = names
    slug = api(ana).post("/api/rooms", {"name": name}).json()["room"]["slug"]
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug), slug
    assert not slug.startswith("dm-")  # DM slugs are "dm-<low>-<high>"
    if expected:
        assert slug == expected
    assert api(ana).get(f"/api/rooms/{slug}").status_code == 200


def test_room_slugs_are_unique_when_names_slugify_alike(api, ana):
    client = api(ana)
    slugs = [client.post("/api/rooms", {"name": name}).json()["room"]["slug"] for name in ("a b", "a-b", "A_B!", "a.b")]
    assert len(set(slugs)) == 4
    for slug in slugs:
        assert client.get(f"/api/rooms/{slug}").status_code == 200


BAD_ROOMS = [
    {}, {"name": None}, {"name": 5}, {"name": True}, {"name": ["general"]}, {"name": {"x": 1}},
    {"name": ""}, {"name": "   "}, {"name": "a" * 81}, {"name": "a\x00b"},
    {"name": "ok", "topic": 5}, {"name": "ok", "topic": "t" * 301}, {"name": "ok", "topic": ["x"]},
    {"name": "ok", "is_private": "false"}, {"name": "ok", "is_private": 0}, {"name": "ok", "is_private": "true"},
    {"name": "ok", "is_ephemeral": 1}, {"name": "ok", "is_ephemeral": "no"},
]


def test_create_room_refuses_bad_input(api, ana):
    client = api(ana)
    for data in BAD_ROOMS:
        invalid(lambda: client.post("/api/rooms", data))


def test_create_room_name_of_80_characters_is_fine_and_81_too_long(api, ana):
    client = api(ana)
    assert client.post("/api/rooms", {"name": "a" * 80}).status_code == 201
    error = invalid(lambda: client.post("/api/rooms", {"name": "b" * 81}))
    assert "name" in error["fields"]


@pytest.mark.parametrize("raw", ["{", "[]", '"general"', "5", "null", '{"name": "x"}}'])
def test_create_room_refuses_malformed_and_non_object_json(api, ana, raw):
    invalid(lambda: api(ana).post("/api/rooms", raw=raw))


def test_create_room_needs_authentication(db):
    before = stored()
    error_of(Client().post("/api/rooms", {"name": "x"}, content_type="application/json"), 401, "not_authenticated")
    assert stored() == before


# List and detail -----------------------------------------------------------------------------


def test_list_shows_public_rooms_and_mine_with_is_member(api, ana, bob, room_factory):
    public = room_factory(ana, "Lobby")
    mine = room_factory(bob, "Bobs corner")
    secret = room_factory(ana, "Secret", is_private=True)
    my_secret = room_factory(bob, "Bobs secret", is_private=True)
    rooms = {r["slug"]: r for r in api(bob).get("/api/rooms").json()["rooms"]}
    assert set(rooms) == {public.slug, mine.slug, my_secret.slug}
    assert secret.slug not in rooms
    assert rooms[public.slug]["is_member"] is False
    assert rooms[mine.slug]["is_member"] is True and rooms[my_secret.slug]["is_member"] is True
    for room in rooms.values():
        assert ROOM_FIELDS <= set(room)


def test_list_counts_members_and_unread_messages(api, ana, bob, eve, room_factory):
    room = room_factory(ana, "Lobby")
    services.room_join(room=room, user=bob)
    first, _ = messaging.message_post(room=room, author=ana, body="one")
    messaging.message_post(room=room, author=ana, body="two")
    messaging.message_post(room=room, author=bob, body="mine do not count")
    rooms = {r["slug"]: r for r in api(bob).get("/api/rooms").json()["rooms"]}
    assert rooms[room.slug]["member_count"] == 2
    assert rooms[room.slug]["unread_count"] == 2
    services.room_mark_read(room=room, user=bob, message_id=first.id)
    assert api(bob).get("/api/rooms").json()["rooms"][0]["unread_count"] == 1
    # Someone who is not a member has nothing unread.
    assert api(eve).get("/api/rooms").json()["rooms"][0]["unread_count"] == 0


def test_detail_lists_members_with_presence(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    services.room_join(room=room, user=bob)
    User.objects.filter(pk=bob.pk).update(is_online=True)
    response = api(ana).get(f"/api/rooms/{room.slug}")
    assert response.status_code == 200
    body = response.json()
    assert body["room"]["slug"] == room.slug and body["room"]["member_count"] == 2
    members = {m["id"]: m for m in body["members"]}
    assert set(members) == {ana.id, bob.id}
    assert members[bob.id]["presence"] == "online"
    assert members[ana.id]["presence"] == "offline" and members[ana.id]["last_seen"] is None
    assert members[bob.id]["display_name"] == "Bob Tester"


def test_detail_of_a_public_room_is_visible_to_a_non_member(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    response = api(bob).get(f"/api/rooms/{room.slug}")
    assert response.status_code == 200
    assert response.json()["room"]["is_member"] is False


def test_detail_of_a_private_room_is_404_for_a_non_member(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    error = not_found(lambda: api(bob).get(f"/api/rooms/{room.slug}"))
    assert "Secret" not in error["message"]


def test_detail_of_an_unknown_room_is_404(api, ana):
    not_found(lambda: api(ana).get("/api/rooms/no-such-room"))


# Join, leave, invite ----------------------------------------------------------------------------


def test_join_a_public_room_is_200_and_idempotent(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(bob)
    first = client.post(f"/api/rooms/{room.slug}/join")
    assert first.status_code == 200
    assert first.json()["room"]["is_member"] is True and first.json()["room"]["member_count"] == 2
    events = Event.objects.count()
    second = client.post(f"/api/rooms/{room.slug}/join")
    assert second.status_code == 200 and second.json()["room"]["member_count"] == 2
    assert Membership.objects.filter(room=room, user=bob).count() == 1
    assert Event.objects.count() == events


def test_join_a_private_room_you_cannot_see_is_404(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    not_found(lambda: api(bob).post(f"/api/rooms/{room.slug}/join"))


def test_join_an_unknown_room_is_404(api, ana):
    not_found(lambda: api(ana).post("/api/rooms/nope/join"))


def test_leave_is_204_and_ends_membership(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    services.room_join(room=room, user=bob)
    response = api(bob).post(f"/api/rooms/{room.slug}/leave")
    assert response.status_code == 204 and response.content == b""
    assert not Membership.objects.filter(room=room, user=bob).exists()
    assert api(bob).get(f"/api/rooms/{room.slug}").json()["room"]["is_member"] is False


def test_leave_a_room_you_are_not_in_is_204_and_stores_nothing(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    before = stored()
    assert api(bob).post(f"/api/rooms/{room.slug}/leave").status_code == 204
    assert stored() == before


def test_after_leaving_a_private_room_it_is_404(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    services.room_invite(room=room, inviter=ana, invitee=bob)
    client = api(bob)
    assert client.post(f"/api/rooms/{room.slug}/leave").status_code == 204
    not_found(lambda: client.get(f"/api/rooms/{room.slug}"))
    not_found(lambda: send(client, room, "still here?"))


def test_leave_an_unseen_private_room_is_404(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    not_found(lambda: api(bob).post(f"/api/rooms/{room.slug}/leave"))


def test_a_member_of_a_private_room_may_invite(api, ana, bob, eve, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    response = api(ana).post(f"/api/rooms/{room.slug}/invite", {"user_id": bob.id})
    assert response.status_code == 200
    assert response.json()["room"]["member_count"] == 2
    # The invitee now sees the room and may invite in turn.
    assert api(bob).get(f"/api/rooms/{room.slug}").status_code == 200
    assert api(bob).post(f"/api/rooms/{room.slug}/invite", {"user_id": eve.id}).status_code == 200
    assert set(room.memberships.values_list("user_id", flat=True)) == {ana.id, bob.id, eve.id}


def test_inviting_a_member_again_is_200_and_stores_nothing(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    client = api(ana)
    client.post(f"/api/rooms/{room.slug}/invite", {"user_id": bob.id})
    before = stored()
    assert client.post(f"/api/rooms/{room.slug}/invite", {"user_id": bob.id}).status_code == 200
    assert stored() == before


def test_a_non_member_cannot_invite_into_a_private_room(api, ana, bob, eve, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    not_found(lambda: api(eve).post(f"/api/rooms/{room.slug}/invite", {"user_id": bob.id}))


def test_a_non_member_cannot_invite_into_a_public_room(api, ana, bob, eve, room_factory):
    room = room_factory(ana, "Lobby")
    forbidden(lambda: api(eve).post(f"/api/rooms/{room.slug}/invite", {"user_id": bob.id}))


def test_invite_an_unknown_or_pending_user_is_400(api, ana, make_user, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    pending = make_user(approved=False)
    error = invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/invite", {"user_id": 999_999}))
    assert "user_id" in error["fields"]
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/invite", {"user_id": pending.id}))


@pytest.mark.parametrize("value", [None, "12", 1.0, True, [1], {"id": 1}, 0, -3])
def test_invite_refuses_bad_user_ids(api, ana, bob, room_factory, value):
    room = room_factory(ana, "Secret", is_private=True)
    if value == "12":
        value = str(bob.id)
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/invite", {"user_id": value}))


def test_invite_into_a_dm_is_refused(api, ana, bob, eve):
    slug = dm(api(ana), bob).json()["room"]["slug"]
    forbidden(lambda: api(ana).post(f"/api/rooms/{slug}/invite", {"user_id": eve.id}))


# Direct messages -----------------------------------------------------------------------------


def test_dm_is_created_once_then_returned(api, ana, bob):
    first = dm(api(ana), bob)
    assert first.status_code == 201
    room = first.json()["room"]
    assert room["kind"] == "dm" and room["is_private"] is True and room["member_count"] == 2
    assert {u["id"] for u in room["dm_users"]} == {ana.id, bob.id}
    again = dm(api(ana), bob)
    assert again.status_code == 200 and again.json()["room"]["id"] == room["id"]
    from_bob = dm(api(bob), ana)
    assert from_bob.status_code == 200 and from_bob.json()["room"]["id"] == room["id"]
    assert Room.objects.filter(kind=Room.DM).count() == 1


def test_a_dm_is_listed_for_both_users_only(api, ana, bob, eve):
    slug = dm(api(ana), bob).json()["room"]["slug"]
    assert slug in {r["slug"] for r in api(ana).get("/api/rooms").json()["rooms"]}
    assert slug in {r["slug"] for r in api(bob).get("/api/rooms").json()["rooms"]}
    assert slug not in {r["slug"] for r in api(eve).get("/api/rooms").json()["rooms"]}


def test_a_third_user_cannot_see_read_post_or_join_a_dm(api, ana, bob, eve):
    slug = dm(api(ana), bob).json()["room"]["slug"]
    room = Room.objects.get(slug=slug)
    messaging.message_post(room=room, author=ana, body="just us")
    client = api(eve)
    not_found(lambda: client.get(f"/api/rooms/{slug}"))
    not_found(lambda: client.get(f"/api/rooms/{slug}/messages"))
    not_found(lambda: send(client, room, "hi"))
    not_found(lambda: client.post(f"/api/rooms/{slug}/join"))


def test_dm_with_yourself_is_400(api, ana):
    error = invalid(lambda: dm(api(ana), ana))
    assert "user_id" in error["fields"]


def test_dm_with_an_unknown_or_pending_user_is_400(api, ana, make_user):
    invalid(lambda: dm(api(ana), User(id=999_999)))
    invalid(lambda: dm(api(ana), make_user(approved=False)))


@pytest.mark.parametrize("data", [{}, {"user_id": None}, {"user_id": "2"}, {"user_id": 2.0}, {"user_id": False}, {"user_id": [2]}])
def test_dm_refuses_bad_user_ids(api, ana, bob, data):
    invalid(lambda: api(ana).post("/api/dms", data))


def test_reopening_a_dm_you_left_brings_you_back(api, ana, bob):
    client = api(ana)
    slug = dm(client, bob).json()["room"]["slug"]
    assert client.post(f"/api/rooms/{slug}/leave").status_code == 204
    response = dm(client, bob)
    assert response.status_code == 200
    assert response.json()["room"]["slug"] == slug and response.json()["room"]["member_count"] == 2
    assert send(client, Room.objects.get(slug=slug), "back again").status_code == 201


# Posting messages -------------------------------------------------------------------------------


def test_post_message_is_201_with_the_message(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    response = send(api(ana), room, "hello")
    assert response.status_code == 201
    message = response.json()["message"]
    assert set(message) >= {"id", "room", "author", "body", "created_at", "client_id"}
    assert message["room"] == room.slug and message["body"] == "hello" and message["client_id"] is None
    assert message["author"] == {"id": ana.id, "display_name": "Ana Tester", "is_bot": False}
    assert ISO_Z.match(message["created_at"])
    room.refresh_from_db()
    assert room.last_message_id == message["id"]
    assert Message.objects.get().body == "hello"


def test_message_ids_grow_within_a_room(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    ids = [send(api(ana), room, f"m{i}").json()["message"]["id"] for i in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5


def test_a_non_member_cannot_post_in_a_public_room(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    forbidden(lambda: send(api(bob), room, "let me in"))


def test_a_non_member_cannot_post_in_a_private_room_and_it_is_not_revealed(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    not_found(lambda: send(api(bob), room, "let me in"))


def test_post_to_an_unknown_room_is_404(api, ana):
    not_found(lambda: api(ana).post("/api/rooms/nowhere/messages", {"body": "hi"}))


@pytest.mark.parametrize("body", [
    "", " ", "   \n\t  ", "\u3000\u2003", "\n",
    # Invisible, so the message would look empty: zero-width space, joiners, word joiner, byte-order mark.
    "\u200b", " \u200c\u200d\n", "\u2060", "\ufeff", "\x1c\x85",
])
def test_an_empty_or_white_space_body_is_400(api, ana, room_factory, body):
    room = room_factory(ana, "Lobby")
    error = invalid(lambda: send(api(ana), room, body))
    assert error["fields"]["body"] in (["A message needs some text."], ["This field may not be blank."])
    assert not Message.objects.filter(room=room).exists()


@pytest.mark.parametrize("body", ["\U0001f468\u200d\U0001f469\u200d\U0001f467", "a\u200b", "\u200b."])
def test_a_body_with_something_visible_around_invisible_characters_is_kept(api, ana, room_factory, body):
    room = room_factory(ana, "Lobby")
    response = send(api(ana), room, body)
    assert response.status_code == 201, response.content
    assert response.json()["message"]["body"] == body


def test_a_body_of_the_maximum_length_is_stored_and_one_more_is_400(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    assert send(client, room, "é" * 4000).status_code == 201
    error = invalid(lambda: send(client, room, "é" * 4001))
    assert "body" in error["fields"]


def test_the_maximum_length_follows_the_setting(api, ana, room_factory, settings):
    settings.PARLEY_MAX_MESSAGE_CHARS = 10
    room = room_factory(ana, "Lobby")
    assert send(api(ana), room, "0123456789").status_code == 201
    invalid(lambda: send(api(ana), room, "01234567890"))


@pytest.mark.parametrize("body", [
    "  leading and trailing  ",
    "👋🏽 emoji and 👨‍👩‍👧 family",
    "مرحبا بالعالم",
    "mixed עברית and English",
    "line one\nline two\r\nline three\t",
    "<script>alert('x')</script> & \"quotes\"",
    "\u200b zero width",
])
def test_the_body_is_stored_and_returned_byte_identical(api, ana, room_factory, body):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    response = send(client, room, body)
    assert response.status_code == 201
    assert response.json()["message"]["body"] == body
    assert Message.objects.get().body.encode("utf-8") == body.encode("utf-8")
    assert msgs(client, room).json()["messages"][0]["body"] == body


@pytest.mark.parametrize("raw", [
    '{"body": "nul \\u0000 here"}',
    '{"body": "lone \\ud800 surrogate"}',
    '{"body": "lone \\udfff low"}',
])
def test_a_nul_byte_or_a_lone_surrogate_is_400_not_500(api, ana, room_factory, raw):
    room = room_factory(ana, "Lobby")
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/messages", raw=raw))


BAD_MESSAGES = [
    {}, {"body": None}, {"body": 5}, {"body": True}, {"body": ["hi"]}, {"body": {"text": "hi"}},
    {"body": "hi", "client_id": 5}, {"body": "hi", "client_id": True}, {"body": "hi", "client_id": ["a"]},
    {"body": "hi", "client_id": "x" * 65}, {"body": "hi", "client_id": "a\x00"},
]


def test_post_message_refuses_bad_input(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    for data in BAD_MESSAGES:
        invalid(lambda: client.post(f"/api/rooms/{room.slug}/messages", data))


@pytest.mark.parametrize("raw", ["{", "[]", '"hi"', "3", '{"body": "hi"', b"\xff"])
def test_post_message_refuses_malformed_json(api, ana, room_factory, raw):
    room = room_factory(ana, "Lobby")
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/messages", raw=raw))


def test_the_same_client_id_returns_the_first_message_never_a_copy(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    first = send(client, room, "hello", client_id="c-1")
    assert first.status_code == 201
    assert first.json()["message"]["client_id"] == "c-1"
    before = stored()
    again = send(client, room, "hello", client_id="c-1")
    assert again.status_code == 200
    assert again.json()["message"] == first.json()["message"]
    # Even a different body: the retry is the same send.
    changed = send(client, room, "hello (edited)", client_id="c-1")
    assert changed.status_code == 200 and changed.json()["message"]["body"] == "hello"
    assert stored() == before
    assert Message.objects.count() == 1


def test_a_client_id_of_64_characters_is_kept(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client_id = "k" * 64
    response = send(api(ana), room, "hi", client_id=client_id)
    assert response.status_code == 201 and response.json()["message"]["client_id"] == client_id


def test_the_client_id_is_echoed_exactly_as_sent(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    first = send(client, room, "hi", client_id=" padded ")
    assert first.status_code == 201 and first.json()["message"]["client_id"] == " padded "
    # A different string is a different send.
    assert send(client, room, "hi", client_id="padded").status_code == 201


def test_a_client_id_is_per_author_and_per_room(api, ana, bob, room_factory):
    lobby, other = room_factory(ana, "Lobby"), room_factory(ana, "Other")
    services.room_join(room=lobby, user=bob)
    assert send(api(ana), lobby, "a", client_id="same").status_code == 201
    assert send(api(bob), lobby, "b", client_id="same").status_code == 201
    assert send(api(ana), other, "c", client_id="same").status_code == 201
    assert Message.objects.count() == 3


def test_messages_in_an_ephemeral_room_have_ids_but_no_history(api, ana, room_factory):
    room = room_factory(ana, "Fleeting", is_ephemeral=True)
    client = api(ana)
    response = send(client, room, "gone soon")
    assert response.status_code == 201 and isinstance(response.json()["message"]["id"], int)
    history = msgs(client, room).json()
    assert history == {"messages": [], "has_more": False}


# History -------------------------------------------------------------------------------------


def fill(room, author, n):
    return [messaging.message_post(room=room, author=author, body=f"m{i}")[0].id for i in range(n)]


def test_history_is_the_newest_messages_oldest_first(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    ids = fill(room, ana, 5)
    body = msgs(api(ana), room).json()
    assert [m["id"] for m in body["messages"]] == ids
    assert [m["body"] for m in body["messages"]] == [f"m{i}" for i in range(5)]
    assert body["has_more"] is False


def test_history_pages_back_with_before_and_limit(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    ids = fill(room, ana, 7)
    client = api(ana)
    page = msgs(client, room, limit=3).json()
    assert [m["id"] for m in page["messages"]] == ids[4:] and page["has_more"] is True
    page = msgs(client, room, limit=3, before=ids[4]).json()
    assert [m["id"] for m in page["messages"]] == ids[1:4] and page["has_more"] is True
    page = msgs(client, room, limit=3, before=ids[1]).json()
    assert [m["id"] for m in page["messages"]] == ids[:1] and page["has_more"] is False


def test_history_limit_of_exactly_the_remaining_count_says_no_more(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    ids = fill(room, ana, 4)
    page = msgs(api(ana), room, limit=4).json()
    assert [m["id"] for m in page["messages"]] == ids and page["has_more"] is False


def test_history_default_limit_is_50_and_the_maximum_200(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    fill(room, ana, 201)
    client = api(ana)
    page = msgs(client, room).json()
    assert len(page["messages"]) == 50 and page["has_more"] is True
    page = msgs(client, room, limit=200).json()
    assert len(page["messages"]) == 200 and page["has_more"] is True
    invalid(lambda: msgs(client, room, limit=201))


def test_history_of_an_empty_room(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    assert msgs(api(ana), room).json() == {"messages": [], "has_more": False}


@pytest.mark.parametrize("name", ["limit", "before"])
def test_history_refuses_bad_numbers(api, ana, room_factory, name):
    room = room_factory(ana, "Lobby")
    fill(room, ana, 1)
    client = api(ana)
    for value in ("abc", "1.5", "-1", "0", "--5", "+5", " 5", "5 ", "1e3", "\u0661\u0662", "9" * 30, "0x10", "true"):
        error = invalid(lambda: client.get(f"/api/rooms/{room.slug}/messages", {name: value}))
        assert name in error["fields"], value


def test_history_of_an_unknown_room_is_404(api, ana):
    not_found(lambda: api(ana).get("/api/rooms/nowhere/messages"))


def test_history_of_a_public_room_is_readable_by_a_non_member(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    fill(room, ana, 2)
    assert [m["body"] for m in msgs(api(bob), room).json()["messages"]] == ["m0", "m1"]


def test_history_of_a_private_room_is_404_for_a_non_member(api, ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    fill(room, ana, 2)
    error = not_found(lambda: msgs(api(bob), room))
    assert "m0" not in json.dumps(error)


def test_history_needs_authentication(ana, room_factory):
    room = room_factory(ana, "Lobby")
    error_of(Client().get(f"/api/rooms/{room.slug}/messages"), 401, "not_authenticated")


# Typing and read receipts ------------------------------------------------------------------------


def test_typing_is_204_and_publishes_a_typing_event(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    response = api(ana).post(f"/api/rooms/{room.slug}/typing")
    assert response.status_code == 204 and response.content == b""
    event = Event.objects.order_by("-position").first()
    assert event.type == "typing" and event.data["user"]["id"] == ana.id and event.data["room"] == room.slug


def test_typing_by_a_non_member_is_rejected(api, ana, bob, room_factory):
    public, private = room_factory(ana, "Lobby"), room_factory(ana, "Secret", is_private=True)
    forbidden(lambda: api(bob).post(f"/api/rooms/{public.slug}/typing"))
    not_found(lambda: api(bob).post(f"/api/rooms/{private.slug}/typing"))


def test_read_is_204_and_clears_unread(api, ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    services.room_join(room=room, user=bob)
    ids = fill(room, ana, 3)
    client = api(bob)
    response = client.post(f"/api/rooms/{room.slug}/read", {"message_id": ids[-1]})
    assert response.status_code == 204
    assert Membership.objects.get(room=room, user=bob).last_read_message_id == ids[-1]
    assert client.get("/api/rooms").json()["rooms"][0]["unread_count"] == 0
    event = Event.objects.order_by("-position").first()
    assert event.type == "receipt" and event.data["message_id"] == ids[-1] and event.data["user"]["id"] == bob.id


def test_read_beyond_the_rooms_last_message_is_400(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    empty = room_factory(ana, "Empty")
    ids = fill(room, ana, 2)
    error = invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/read", {"message_id": ids[-1] + 1}))
    assert "message_id" in error["fields"]
    invalid(lambda: api(ana).post(f"/api/rooms/{empty.slug}/read", {"message_id": ids[0]}))


@pytest.mark.parametrize("data", [{}, {"message_id": None}, {"message_id": "1"}, {"message_id": 1.0}, {"message_id": True}, {"message_id": 0}, {"message_id": -1}])
def test_read_refuses_bad_message_ids(api, ana, room_factory, data):
    room = room_factory(ana, "Lobby")
    fill(room, ana, 1)
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/read", data))


def test_read_by_a_non_member_is_rejected(api, ana, bob, room_factory):
    public, private = room_factory(ana, "Lobby"), room_factory(ana, "Secret", is_private=True)
    pid = fill(public, ana, 1)[0]
    qid = fill(private, ana, 1)[0]
    forbidden(lambda: api(bob).post(f"/api/rooms/{public.slug}/read", {"message_id": pid}))
    not_found(lambda: api(bob).post(f"/api/rooms/{private.slug}/read", {"message_id": qid}))


# The directory ------------------------------------------------------------------------------------


def test_users_lists_active_users_with_presence(api, ana, bob, make_user):
    pending = make_user("Pending", approved=False)
    gone = make_user("Gone")
    User.objects.filter(pk=gone.pk).update(is_active=False)
    User.objects.filter(pk=bob.pk).update(is_online=True)
    users = {u["id"]: u for u in api(ana).get("/api/users").json()["users"]}
    assistant = User.objects.get(is_bot=True, bot_owner=None)  # the built-in assistant is in everyone's directory
    assert set(users) == {ana.id, bob.id, assistant.id}
    assert pending.id not in users and gone.id not in users
    assert users[bob.id]["presence"] == "online" and users[ana.id]["presence"] == "offline"
    assert {"id", "first_name", "last_name", "display_name", "is_staff", "presence", "last_seen"} <= set(users[bob.id])


def test_users_q_filters_by_name_case_insensitively(api, ana, bob, make_user):
    carla = make_user("Carla", last_name="Bobbins")
    client = api(ana)
    assert {u["id"] for u in client.get("/api/users", {"q": "bob"}).json()["users"]} == {bob.id, carla.id}
    assert {u["id"] for u in client.get("/api/users", {"q": "CARLA bobb"}).json()["users"]} == {carla.id}
    assert client.get("/api/users", {"q": "zzz"}).json()["users"] == []


def test_users_q_does_not_search_emails(api, ana, make_user):
    make_user("Hidden", email="secret-address@example.com")
    assert api(ana).get("/api/users", {"q": "secret-address"}).json()["users"] == []


def test_users_q_refuses_nul_and_overlong_queries(api, ana):
    invalid(lambda: api(ana).get("/api/users", {"q": "a\x00"}))
    invalid(lambda: api(ana).get("/api/users", {"q": "a" * 101}))


def test_users_needs_authentication(db):
    error_of(Client().get("/api/users"), 401, "not_authenticated")


# Errors, limits and operations -------------------------------------------------------------------


@pytest.mark.parametrize("method, path", [
    ("get", "/api/nothing-here"), ("post", "/api/nothing-here"), ("get", "/api/rooms/"),
    ("get", "/api/rooms/x/y/z"), ("delete", "/api/auth/nothing"), ("get", "/api/rooms/lobby/unknown"),
])
def test_unknown_api_paths_are_json_404(api, ana, method, path):
    response = getattr(api(ana).client, method)(path)
    error_of(response, 404, "not_found")


def test_unknown_api_paths_are_json_404_without_credentials(db):
    error_of(Client().get("/api/nothing-here"), 404, "not_found")


@pytest.mark.parametrize("method, path, allowed", [
    ("delete", "/api/rooms", "GET, POST"), ("put", "/api/rooms", "GET, POST"),
    ("get", "/api/rooms/{slug}/join", "POST"), ("delete", "/api/rooms/{slug}/messages", "GET, POST"),
    ("get", "/api/dms", "POST"), ("post", "/api/users", "GET"), ("post", "/api/me", "GET"),
    ("get", "/api/auth/login", "POST"), ("put", "/api/rooms/{slug}", "GET, PATCH"),
])
def test_a_wrong_method_is_json_405(api, ana, room_factory, method, path, allowed):
    room = room_factory(ana, "Lobby")
    before = stored()
    response = getattr(api(ana).client, method)(path.format(slug=room.slug))
    error_of(response, 405, "method_not_allowed")
    assert response["Allow"] == allowed
    assert stored() == before


def test_a_body_over_1_mb_is_json_413_and_stores_nothing(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    raw = json.dumps({"body": "x" * 1_100_000})
    before = stored()
    error_of(api(ana).post(f"/api/rooms/{room.slug}/messages", raw=raw), 413, "too_large")
    error_of(api(ana).post("/api/rooms", raw=json.dumps({"name": "x" * 1_100_000})), 413, "too_large")
    error_of(Client().post("/api/auth/register", raw, content_type="application/json"), 413, "too_large")
    assert stored() == before


def test_deeply_nested_json_is_400_not_500(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    deep = "[" * 100_000 + "]" * 100_000
    invalid(lambda: api(ana).post("/api/rooms", raw=deep))
    invalid(lambda: api(ana).post(f"/api/rooms/{room.slug}/messages", raw='{"body": ' + deep + "}"))


@pytest.mark.parametrize("raw", [
    '{"user_id": 9223372036854775808}', '{"user_id": 1e999}', '{"user_id": NaN}', '{"user_id": -Infinity}',
    '{"user_id": ' + "9" * 5000 + "}",
])
def test_numbers_out_of_any_range_are_400_not_500(api, ana, room_factory, raw):
    room = room_factory(ana, "Secret", is_private=True)
    messaging.message_post(room=room, author=ana, body="one")
    client = api(ana)
    invalid(lambda: client.post("/api/dms", raw=raw))
    invalid(lambda: client.post(f"/api/rooms/{room.slug}/invite", raw=raw))
    invalid(lambda: client.post(f"/api/rooms/{room.slug}/read", raw=raw.replace("user_id", "message_id")))


@pytest.mark.parametrize("slug", ["a%00b", "%C3%A9t%C3%A9", "%F0%9F%98%80", "a%20b", "x" * 500])
def test_odd_characters_in_a_room_path_are_404_not_500(api, ana, slug):
    client = api(ana)
    not_found(lambda: client.get(f"/api/rooms/{slug}"))
    not_found(lambda: client.get(f"/api/rooms/{slug}/messages"))
    not_found(lambda: client.post(f"/api/rooms/{slug}/messages", {"body": "hi"}))
    not_found(lambda: client.post(f"/api/rooms/{slug}/join"))


def test_thousands_of_query_fields_are_json_400(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    query = "&".join(f"f{i}=1" for i in range(2000))
    error_of(api(ana).client.get(f"/api/rooms/{room.slug}/messages?{query}"), 400, "invalid")


def test_api_answers_are_not_cached(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    assert client.get("/api/rooms")["Cache-Control"] == "no-store"
    assert client.get(f"/api/rooms/{room.slug}/messages")["Cache-Control"] == "no-store"
    assert client.get("/api/rooms/nowhere")["Cache-Control"] == "no-store"


@pytest.mark.parametrize("method, path", [
    ("get", "/api/rooms"), ("post", "/api/rooms"), ("get", "/api/rooms/{slug}"),
    ("post", "/api/rooms/{slug}/join"), ("post", "/api/rooms/{slug}/leave"), ("post", "/api/rooms/{slug}/invite"),
    ("post", "/api/rooms/{slug}/messages"), ("post", "/api/rooms/{slug}/typing"), ("post", "/api/rooms/{slug}/read"),
    ("get", "/api/users"), ("post", "/api/dms"), ("get", "/api/me"), ("post", "/api/auth/logout"),
])
def test_every_endpoint_needs_authentication(ana, room_factory, method, path):
    room = room_factory(ana, "Lobby")
    before = stored()
    client = Client()
    response = getattr(client, method)(path.format(slug=room.slug), "{}", content_type="application/json") \
        if method == "post" else client.get(path.format(slug=room.slug))
    error_of(response, 401, "not_authenticated")
    assert stored() == before


def test_the_api_works_under_a_sub_path(api, ana, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana).client
    response = client.post(
        f"/api/rooms/{room.slug}/messages", {"body": "mounted"}, content_type="application/json", SCRIPT_NAME="/chat",
    )
    assert response.status_code == 201
    error_of(client.get("/api/nowhere", SCRIPT_NAME="/chat"), 404, "not_found")


def test_healthz_needs_no_auth_and_says_ok(db):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


# Query counts on the hot endpoints --------------------------------------------------------------------


def queries_for(client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


def test_room_list_queries_do_not_grow_with_rooms_or_members(api, ana, make_user, room_factory):
    others = [make_user() for _ in range(3)]
    client = api(ana)
    room_factory(ana, "First")
    services.dm_open(user=ana, other=others[0])
    few = queries_for(client, "/api/rooms")
    for i in range(6):
        room = room_factory(ana, f"Room {i}")
        for other in others:
            services.room_join(room=room, user=other)
        messaging.message_post(room=room, author=others[0], body="hi")
    for other in others[1:]:
        services.dm_open(user=ana, other=other)
    assert queries_for(client, "/api/rooms") == few


def test_history_and_detail_queries_do_not_grow_with_messages_or_members(api, ana, make_user, room_factory):
    room = room_factory(ana, "Lobby")
    client = api(ana)
    fill(room, ana, 2)
    history, detail = queries_for(client, f"/api/rooms/{room.slug}/messages"), queries_for(client, f"/api/rooms/{room.slug}")
    for _ in range(5):
        other = make_user()
        services.room_join(room=room, user=other)
        messaging.message_post(room=room, author=other, body="hello")
    assert queries_for(client, f"/api/rooms/{room.slug}/messages") == history
    assert queries_for(client, f"/api/rooms/{room.slug}") == detail
