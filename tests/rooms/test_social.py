"""The social layer through the API and the long poll: who sees which event, DMs, invitations.

Issue 4. Presence, receipts and typing have their own modules (test_presence.py,
test_receipts.py, test_typing.py); they share the helpers here.

Every poll below uses `timeout=0`: the writes happen first, so the poll answers
at once with what is there, and an empty answer means "nothing for you".
"""
import pytest
from django.db import connection

from rooms.models import Event

pytestmark = pytest.mark.django_db

MESSAGE_KEYS = {
    "id", "room", "author", "body", "created_at", "client_id",
    "html", "mentions", "reply_to", "reactions", "attachments", "edited_at",  # rich messages (API.md Part 2)
}
ROOM_KEYS = {
    "id", "name", "slug", "topic", "kind", "is_private", "is_ephemeral", "created_at",
    "member_count", "unread_count", "last_message_id",
}
REF_KEYS = {"id", "display_name", "is_bot"}


def assert_ref(ref, user):
    assert set(ref) == REF_KEYS
    assert ref == {"id": user.id, "display_name": user.display_name, "is_bot": False}


def rooms_of(client):
    response = client.get("/api/rooms")
    assert response.status_code == 200
    return {room["slug"]: room for room in response.json()["rooms"]}


# Each event type reaches members, and never anyone else ---------------------------------------


def test_a_private_rooms_messages_typing_receipts_and_room_changes_reach_members_only(
    api, make_user, feed
):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_api = api(ana)
    slug = ana_api.post("/api/rooms", {"name": "secret", "is_private": True}).json()["room"]["slug"]
    ben_feed, eve_feed = feed(ben), feed(eve)
    eve_feed.take()  # her own presence

    assert ana_api.post(f"/api/rooms/{slug}/invite", {"user_id": ben.id}).status_code == 200
    posted = ana_api.post(f"/api/rooms/{slug}/messages", {"body": "classified", "client_id": "c1"}).json()["message"]
    assert ana_api.post(f"/api/rooms/{slug}/typing").status_code == 204
    assert api(ben).post(f"/api/rooms/{slug}/read", {"message_id": posted["id"]}).status_code == 204
    assert ana_api.patch(f"/api/rooms/{slug}", {"topic": "hush"}).status_code == 200
    assert api(ben).post(f"/api/rooms/{slug}/leave").status_code == 204

    seen = [e for e in ben_feed.take() if e["type"] != "presence"]
    assert [e["type"] for e in seen] == ["room", "message", "typing", "receipt", "room", "room"]
    invited, message, typing, receipt, updated, left = seen

    assert set(invited) == {"type", "room", "action", "user", "data", "by"}
    assert (invited["room"], invited["action"]) == (slug, "invited")
    assert_ref(invited["user"], ben)
    assert_ref(invited["by"], ana)
    assert ROOM_KEYS <= set(invited["data"])
    assert invited["data"]["slug"] == slug and invited["data"]["is_private"] is True

    assert set(message) == {"type", "room", "message"}
    assert message["room"] == slug
    assert set(message["message"]) == MESSAGE_KEYS
    assert message["message"] == posted
    assert_ref(message["message"]["author"], ana)
    assert message["message"]["created_at"].endswith("Z")

    assert set(typing) == {"type", "room", "user"}
    assert typing["room"] == slug
    assert_ref(typing["user"], ana)

    assert set(receipt) == {"type", "room", "user", "message_id"}
    assert (receipt["room"], receipt["message_id"]) == (slug, posted["id"])
    assert_ref(receipt["user"], ben)

    assert (updated["action"], updated["data"]["topic"]) == ("updated", "hush")
    assert set(updated) >= {"type", "room", "action", "user", "data"}
    assert_ref(updated["user"], ana)
    assert (left["action"], left["room"]) == ("left", slug)
    assert_ref(left["user"], ben)

    # Eve shares no room with either of them: nothing at all, not even presence.
    assert eve_feed.take() == []
    # Ben left: what happens there now is no longer his to see.
    ana_api.post(f"/api/rooms/{slug}/messages", {"body": "after ben"})
    ana_api.post(f"/api/rooms/{slug}/typing")
    assert [e for e in ben_feed.take() if e["type"] != "presence"] == []
    assert eve_feed.take() == []


def test_public_room_events_reach_its_members_and_only_creation_reaches_everyone(api, make_user, feed):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_feed, eve_feed = feed(ana), feed(eve)
    ana_feed.take(), eve_feed.take()

    created = api(ana).post("/api/rooms", {"name": "lobby"}).json()["room"]
    slug = created["slug"]
    [event] = eve_feed.take("room")
    assert (event["action"], event["room"], event["data"]["slug"]) == ("created", slug, slug)
    assert set(event) == {"type", "room", "action", "user", "data"}
    assert ROOM_KEYS <= set(event["data"]) and event["data"]["member_count"] == 1
    assert_ref(event["user"], ana)
    api(ana).post("/api/rooms", {"name": "hidden", "is_private": True})
    assert eve_feed.take("room") == []

    ana_feed.take()
    ben_api = api(ben)
    assert ben_api.post(f"/api/rooms/{slug}/join").status_code == 200
    message_id = ben_api.post(f"/api/rooms/{slug}/messages", {"body": "hi all"}).json()["message"]["id"]
    ben_api.post(f"/api/rooms/{slug}/typing")
    api(ana).post(f"/api/rooms/{slug}/read", {"message_id": message_id})
    ben_api.post(f"/api/rooms/{slug}/leave")

    types = [(e["type"], e.get("action")) for e in ana_feed.take() if e["type"] != "presence"]
    assert types == [("room", "joined"), ("message", None), ("typing", None), ("receipt", None), ("room", "left")]
    # Eve is no member: a public room's chatter reaches her only when she asks for history.
    assert eve_feed.take() == []


def test_room_events_carry_the_room_as_everyone_sees_it_not_as_the_actor_does(api, make_user, feed):
    ana, ben, cat = make_user("Ana"), make_user("Ben"), make_user("Cat")
    slug = api(ana).post("/api/rooms", {"name": "den", "is_private": True}).json()["room"]["slug"]
    api(ana).post(f"/api/rooms/{slug}/messages", {"body": "unread by ben"})
    ben_feed, cat_feed = feed(ben), feed(cat)

    api(ana).post(f"/api/rooms/{slug}/invite", {"user_id": ben.id})
    [invited] = ben_feed.take("room")
    assert invited["data"]["member_count"] == 2  # counted after the invitation, not before
    assert "is_member" not in invited["data"]  # whose? the inviter's answer is not Ben's

    api(cat).post("/api/rooms", {"name": "open"})
    cat_feed.take()
    ana_feed = feed(ana)
    api(ana).post("/api/rooms/open/join")
    [joined] = cat_feed.take("room")
    assert joined["data"]["member_count"] == 2
    assert "is_member" not in joined["data"]
    api(ana).post("/api/rooms/open/leave")
    [left] = cat_feed.take("room")
    assert left["data"]["member_count"] == 1
    assert [e["action"] for e in ana_feed.take("room")] == ["joined", "left"]


@pytest.mark.parametrize("how", ["invite", "dm"])
def test_a_poll_waiting_from_before_an_invitation_wakes_with_it_and_the_rooms_messages(make_user, room_factory, how):
    import threading

    from rooms import messaging, selectors, services
    from rooms.hub import hub

    ana, ben = make_user("Ana"), make_user("Ben")
    hub.refresh()
    cursor, rooms_before = hub.head, selectors.room_ids_of(ben.id)
    answer = {}
    waiting = threading.Thread(
        target=lambda: answer.update(result=hub.wait(ben.id, rooms_before, cursor, 10)), daemon=True
    )
    waiting.start()
    try:
        if how == "dm":
            room, _ = services.dm_open(user=ana, other=ben)
        else:
            room = room_factory(ana, "inner circle", is_private=True)
            services.room_invite(room=room, inviter=ana, invitee=ben)
        messaging.message_post(room=room, author=ana, body="now you see it")
        services.typing_notify(room=room, user=ana)
        hub.refresh()  # the fetch loop's job in production
        waiting.join(5)
    finally:
        hub.release_all()
        waiting.join(5)
    found, _ = answer["result"]
    assert [(e["type"], e.get("action")) for e in found] == [("room", "invited"), ("message", None), ("typing", None)]
    assert {e["room"] for e in found} == {room.slug}


# Direct messages --------------------------------------------------------------------------


def test_a_dm_is_one_room_per_pair_and_the_other_user_sees_it_and_its_messages_live(api, make_user, feed):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_api, ben_api = api(ana), api(ben)
    ben_feed, eve_feed = feed(ben), feed(eve)
    eve_feed.take()

    response = ana_api.post("/api/dms", {"user_id": ben.id})
    assert response.status_code == 201
    room = response.json()["room"]
    assert room["kind"] == "dm" and room["is_private"] is True
    assert ROOM_KEYS <= set(room)
    assert sorted(u["id"] for u in room["dm_users"]) == sorted([ana.id, ben.id])
    for ref in room["dm_users"]:
        assert set(ref) == REF_KEYS

    again = ana_api.post("/api/dms", {"user_id": ben.id})
    assert (again.status_code, again.json()["room"]["id"]) == (200, room["id"])
    reverse = ben_api.post("/api/dms", {"user_id": ana.id})
    assert (reverse.status_code, reverse.json()["room"]["id"]) == (200, room["id"])

    [invited] = ben_feed.take("room")
    assert (invited["action"], invited["room"]) == ("invited", room["slug"])
    assert_ref(invited["user"], ben)
    assert invited["data"]["kind"] == "dm"
    assert sorted(u["id"] for u in invited["data"]["dm_users"]) == sorted([ana.id, ben.id])

    ana_api.post(f"/api/rooms/{room['slug']}/messages", {"body": "psst"})
    ana_api.post(f"/api/rooms/{room['slug']}/typing")
    assert [(e["type"], e["room"]) for e in ben_feed.take() if e["type"] != "presence"] == [
        ("message", room["slug"]), ("typing", room["slug"])
    ]
    assert eve_feed.take() == []
    assert api(eve).get(f"/api/rooms/{room['slug']}").status_code == 404
    assert api(eve).get(f"/api/rooms/{room['slug']}/messages").status_code == 404
    assert room["slug"] not in rooms_of(api(eve))

    listed = rooms_of(ben_api)[room["slug"]]
    assert listed["kind"] == "dm" and listed["is_member"] is True and listed["unread_count"] == 1
    assert sorted(u["id"] for u in listed["dm_users"]) == sorted([ana.id, ben.id])


def test_a_dm_can_be_reopened_after_leaving_it(api, make_user, feed):
    ana, ben = make_user("Ana"), make_user("Ben")
    slug = api(ana).post("/api/dms", {"user_id": ben.id}).json()["room"]["slug"]
    api(ana).post(f"/api/rooms/{slug}/messages", {"body": "still here"})
    assert api(ana).post(f"/api/rooms/{slug}/leave").status_code == 204
    ben_feed = feed(ben)

    response = api(ana).post("/api/dms", {"user_id": ben.id})
    assert response.status_code == 200
    assert response.json()["room"]["slug"] == slug
    assert response.json()["room"]["member_count"] == 2
    assert sorted(u["id"] for u in response.json()["room"]["dm_users"]) == sorted([ana.id, ben.id])
    assert [m["body"] for m in api(ana).get(f"/api/rooms/{slug}/messages").json()["messages"]] == ["still here"]
    assert [(e["action"], e["user"]["id"]) for e in ben_feed.take("room")] == [("joined", ana.id)]


@pytest.mark.parametrize("payload, status", [
    ({"user_id": "2"}, 400),
    ({}, 400),
    ({"user_id": 999_999}, 400),
])
def test_bad_dm_requests_are_400(api, make_user, payload, status):
    response = api(make_user()).post("/api/dms", payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == "invalid"


def test_a_dm_with_yourself_or_a_pending_user_is_refused(api, make_user):
    ana, pending = make_user("Ana"), make_user("Pat", approved=False)
    assert api(ana).post("/api/dms", {"user_id": ana.id}).status_code == 400
    assert api(ana).post("/api/dms", {"user_id": pending.id}).status_code == 400


def test_the_sidebar_lists_rooms_and_dms_in_a_constant_number_of_queries(
    api, make_user, room_factory, django_assert_max_num_queries
):
    from rooms import services

    ana = make_user("Ana")
    client = api(ana)
    client.get("/api/rooms")  # warm up whatever runs once per process

    def count_queries():
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/rooms").status_code == 200
        return len(captured)

    room_factory(ana, "first")
    services.dm_open(user=ana, other=make_user())
    few = count_queries()
    for n in range(4):
        room = room_factory(ana, f"room {n}")
        for _ in range(3):
            services.room_join(room=room, user=make_user())
        services.dm_open(user=ana, other=make_user())
    assert count_queries() == few
    with django_assert_max_num_queries(6):
        client.get("/api/rooms")


# Invitations -------------------------------------------------------------------------------


def test_a_member_invites_from_a_private_rooms_member_list_and_the_invitee_gets_the_room_live(
    api, make_user, feed
):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_api, ben_api = api(ana), api(ben)
    slug = ana_api.post("/api/rooms", {"name": "plans", "is_private": True}).json()["room"]["slug"]
    ana_api.post(f"/api/rooms/{slug}/messages", {"body": "before ben"})
    assert ben_api.get(f"/api/rooms/{slug}").status_code == 404
    assert ben_api.post(f"/api/rooms/{slug}/join").status_code == 404
    ben_feed, eve_feed = feed(ben), feed(eve)
    eve_feed.take()

    directory = ana_api.get("/api/users", {"q": "ben"}).json()["users"]
    assert [u["id"] for u in directory] == [ben.id]
    response = ana_api.post(f"/api/rooms/{slug}/invite", {"user_id": directory[0]["id"]})
    assert response.status_code == 200
    assert response.json()["room"]["slug"] == slug and response.json()["room"]["member_count"] == 2

    [invited] = ben_feed.take("room")
    assert (invited["action"], invited["room"], invited["data"]["name"]) == ("invited", slug, "plans")
    ana_api.post(f"/api/rooms/{slug}/messages", {"body": "welcome ben"})
    assert [e["message"]["body"] for e in ben_feed.take("message")] == ["welcome ben"]
    history = ben_api.get(f"/api/rooms/{slug}/messages").json()["messages"]
    assert [m["body"] for m in history] == ["before ben", "welcome ben"]
    members = ben_api.get(f"/api/rooms/{slug}").json()["members"]
    assert sorted(m["id"] for m in members) == sorted([ana.id, ben.id])

    # Inviting a member again changes nothing and tells no one.
    assert ana_api.post(f"/api/rooms/{slug}/invite", {"user_id": ben.id}).status_code == 200
    assert ben_feed.take("room") == []
    assert eve_feed.take() == []


def test_only_members_invite_and_never_into_a_dm(api, make_user):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    slug = api(ana).post("/api/rooms", {"name": "closed", "is_private": True}).json()["room"]["slug"]
    assert api(eve).post(f"/api/rooms/{slug}/invite", {"user_id": eve.id}).status_code == 404
    api(ana).post("/api/rooms", {"name": "open"})
    assert api(eve).post("/api/rooms/open/invite", {"user_id": ben.id}).status_code == 403
    assert api(ana).post(f"/api/rooms/{slug}/invite", {"user_id": str(ben.id)}).status_code == 400
    assert api(ana).post(f"/api/rooms/{slug}/invite", {"user_id": 999_999}).status_code == 400
    dm = api(ana).post("/api/dms", {"user_id": ben.id}).json()["room"]["slug"]
    assert api(ana).post(f"/api/rooms/{dm}/invite", {"user_id": eve.id}).status_code == 403
    assert Event.objects.filter(type=Event.ROOM, subject=eve).count() == 0
