"""Read receipts and unread counts (issue 4) across two users, through the API."""
import pytest

from rooms.models import Event

from .test_social import rooms_of

pytestmark = pytest.mark.django_db


def unread(client, slug):
    return rooms_of(client)[slug]["unread_count"]


def post(client, slug, body):
    response = client.post(f"/api/rooms/{slug}/messages", {"body": body})
    assert response.status_code == 201
    return response.json()["message"]["id"]


def read(client, slug, message_id):
    return client.post(f"/api/rooms/{slug}/read", {"message_id": message_id})


def test_unread_counts_go_up_with_the_others_messages_and_down_when_read(api, make_user):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_api, ben_api, eve_api = api(ana), api(ben), api(eve)
    slug = ana_api.post("/api/rooms", {"name": "talk"}).json()["room"]["slug"]
    ben_api.post(f"/api/rooms/{slug}/join")
    assert (unread(ana_api, slug), unread(ben_api, slug)) == (0, 0)

    first, _second = post(ana_api, slug, "one"), post(ana_api, slug, "two")
    assert (unread(ana_api, slug), unread(ben_api, slug)) == (0, 2)  # not with your own
    reply = post(ben_api, slug, "three")
    assert (unread(ana_api, slug), unread(ben_api, slug)) == (1, 2)
    assert unread(eve_api, slug) == 0  # not a member: nothing is "unread" for her
    assert rooms_of(ben_api)[slug]["last_message_id"] == reply

    assert read(ben_api, slug, first).status_code == 204
    assert unread(ben_api, slug) == 1
    assert read(ben_api, slug, reply).status_code == 204
    assert read(ana_api, slug, reply).status_code == 204
    assert (unread(ana_api, slug), unread(ben_api, slug)) == (0, 0)
    detail = ana_api.get(f"/api/rooms/{slug}").json()
    assert detail["room"]["unread_count"] == 0
    assert {m["id"]: m["last_read_message_id"] for m in detail["members"]} == {ana.id: reply, ben.id: reply}

    post(ana_api, slug, "four")
    assert (unread(ana_api, slug), unread(ben_api, slug)) == (0, 1)


def test_receipts_are_monotonic_and_reach_members_only(api, make_user, feed):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    ana_api, ben_api = api(ana), api(ben)
    slug = ana_api.post("/api/dms", {"user_id": ben.id}).json()["room"]["slug"]
    first, second = post(ana_api, slug, "one"), post(ana_api, slug, "two")
    ana_feed, eve_feed = feed(ana), feed(eve)
    ana_feed.take(), eve_feed.take()

    assert read(ben_api, slug, second).status_code == 204
    [receipt] = ana_feed.take("receipt")
    assert (receipt["room"], receipt["user"]["id"], receipt["message_id"]) == (slug, ben.id, second)

    # Marking an older (or the same) message read changes nothing and tells no one.
    assert read(ben_api, slug, first).status_code == 204
    assert read(ben_api, slug, second).status_code == 204
    assert ana_feed.take("receipt") == []
    assert Event.objects.filter(type=Event.RECEIPT).count() == 1
    members = {m["id"]: m for m in ana_api.get(f"/api/rooms/{slug}").json()["members"]}
    assert members[ben.id]["last_read_message_id"] == second
    third = post(ana_api, slug, "three")
    assert unread(ben_api, slug) == 1
    assert eve_feed.take() == []
    assert third > second


@pytest.mark.parametrize("payload", [{"message_id": "1"}, {}, {"message_id": 0}, {"message_id": True}])
def test_a_malformed_read_is_400(api, make_user, room_factory, payload):
    ana = make_user("Ana")
    room = room_factory(ana, "r")
    response = api(ana).post(f"/api/rooms/{room.slug}/read", payload)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_reading_past_the_newest_message_or_as_a_non_member_is_refused(api, make_user):
    ana, eve = make_user("Ana"), make_user("Eve")
    slug = api(ana).post("/api/rooms", {"name": "r"}).json()["room"]["slug"]
    newest = post(api(ana), slug, "hi")
    assert read(api(ana), slug, newest + 1).status_code == 400
    assert read(api(eve), slug, newest).status_code == 403
    private = api(ana).post("/api/rooms", {"name": "p", "is_private": True}).json()["room"]["slug"]
    assert read(api(eve), private, newest).status_code == 404
    assert Event.objects.filter(type=Event.RECEIPT).count() == 0


def test_joining_a_room_starts_with_its_history_read(api, make_user, room_factory):
    from rooms import messaging

    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "busy")
    for n in range(3):
        messaging.message_post(room=room, author=ana, body=f"before {n}")
    assert api(ben).post(f"/api/rooms/{room.slug}/join").status_code == 200
    messaging.message_post(room=room, author=ana, body="after")
    rooms = {r["slug"]: r for r in api(ben).get("/api/rooms").json()["rooms"]}
    assert rooms[room.slug]["unread_count"] == 1


def test_read_positions_are_shown_to_the_rooms_members_only(api, make_user, room_factory):
    # Issue 9, item 8: anyone may read a public room's details, but where each
    # member has read up to is the members' business.
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve", staff=True)
    room = room_factory(ana, "public")
    assert api(ben).post(f"/api/rooms/{room.slug}/join").status_code == 200
    newest = post(api(ana), room.slug, "hi")
    assert read(api(ben), room.slug, newest).status_code == 204

    members = {m["id"]: m for m in api(ben).get(f"/api/rooms/{room.slug}").json()["members"]}
    assert members[ben.id]["last_read_message_id"] == newest

    for outsider in (make_user("Olga"), eve):  # staff are no exception: they are not in the room
        response = api(outsider).get(f"/api/rooms/{room.slug}")
        assert response.status_code == 200
        members = response.json()["members"]
        assert {m["id"] for m in members} == {ana.id, ben.id}
        assert all("last_read_message_id" not in m for m in members), members
