"""Issue 14, unread and notifications: "mark all as read" and each member's notification level per room."""
import pytest

from rooms.models import Event, Membership

from tests.conftest import error_of

from .test_social import rooms_of

pytestmark = pytest.mark.django_db


def post(client, slug, body):
    response = client.post(f"/api/rooms/{slug}/messages", {"body": body})
    assert response.status_code == 201, response.content
    return response.json()["message"]["id"]


def unread(client):
    return {slug: (room["unread_count"], room["mention_count"]) for slug, room in rooms_of(client).items()}


# Mark all as read ------------------------------------------------------------------


def test_read_all_moves_every_room_of_mine_to_its_newest_message_with_one_receipt_each(api, make_user, feed):
    ana, ben, cy = make_user("Ana"), make_user("Ben"), make_user("Cy")
    ana_api, ben_api, cy_api = api(ana), api(ben), api(cy)
    talk = ana_api.post("/api/rooms", {"name": "talk"}).json()["room"]["slug"]
    news = ana_api.post("/api/rooms", {"name": "news"}).json()["room"]["slug"]
    quiet = ana_api.post("/api/rooms", {"name": "quiet"}).json()["room"]["slug"]
    dm = ben_api.post("/api/dms", {"user_id": ana.id}).json()["room"]["slug"]
    for slug in (talk, news, quiet):
        ben_api.post(f"/api/rooms/{slug}/join")
    cy_api.post(f"/api/rooms/{talk}/join")
    post(ben_api, talk, "one")
    last_talk = post(ben_api, talk, "@**Ana Tester** two")
    last_news = post(ben_api, news, "three")
    last_dm = post(ben_api, dm, "four")
    last_quiet = post(ana_api, quiet, "mine only")  # nothing unread for Ana, but her mark is behind
    assert unread(ana_api)[talk] == (2, 1)
    ben_feed, cy_feed = feed(ben), feed(cy)

    response = ana_api.post("/api/read-all")

    assert response.status_code == 200, response.content
    moved = {item["room"]: item["message_id"] for item in response.json()["read"]}
    assert moved == {talk: last_talk, news: last_news, dm: last_dm, quiet: last_quiet}
    assert all(counts == (0, 0) for counts in unread(ana_api).values())
    marks = dict(Membership.objects.filter(user=ana).values_list("room__slug", "last_read_message_id"))
    assert (marks[talk], marks[news], marks[dm]) == (last_talk, last_news, last_dm)
    # The usual receipts, to each room's members only: Ben is in all three, Cy only in talk.
    receipts = {(e["room"], e["user"]["id"], e["message_id"]) for e in ben_feed.take("receipt")}
    assert receipts == {(talk, ana.id, last_talk), (news, ana.id, last_news), (dm, ana.id, last_dm),
                        (quiet, ana.id, last_quiet)}
    assert [(e["room"], e["message_id"]) for e in cy_feed.take("receipt")] == [(talk, last_talk)]
    # Ben's own counts are his: untouched.
    assert unread(ben_api)[quiet] == (1, 0)
    assert Membership.objects.get(user=ben, room__slug=talk).last_read_message_id < last_talk

    # Again, with nothing to read: nothing moves, no event, no position taken.
    before = Event.objects.count()
    again = ana_api.post("/api/read-all")
    assert again.status_code == 200 and again.json() == {"read": []}
    assert Event.objects.count() == before


def test_read_all_leaves_rooms_i_am_not_in_alone_and_refuses_other_methods(api, make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    ben_api = api(ben)
    public = room_factory(ben, "public")
    secret = room_factory(ben, "secret", is_private=True)
    post(ben_api, public.slug, "hello")
    post(ben_api, secret.slug, "psst")
    response = api(ana).post("/api/read-all")
    assert response.status_code == 200 and response.json() == {"read": []}
    assert not Membership.objects.filter(user=ana).exists()  # reading joins nothing
    error_of(api(ana).get("/api/read-all"), 405, "method_not_allowed")
    error_of(api().post("/api/read-all"), 401, "not_authenticated")


# Notification level per room -------------------------------------------------------


def test_a_members_level_is_in_their_room_dicts_and_changes_with_patch(api, make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    ana_api, ben_api = api(ana), api(ben)
    room = room_factory(ana, "talk")
    ben_api.post(f"/api/rooms/{room.slug}/join")
    assert rooms_of(ana_api)[room.slug]["notify"] is None  # null: my default

    response = ana_api.patch(f"/api/rooms/{room.slug}/membership", {"notify": "mentions"})
    assert response.status_code == 200, response.content
    assert response.json()["membership"]["notify"] == "mentions"
    assert rooms_of(ana_api)[room.slug]["notify"] == "mentions"
    assert ana_api.get(f"/api/rooms/{room.slug}").json()["room"]["notify"] == "mentions"
    assert ana_api.get(f"/api/rooms/{room.slug}/membership").json()["membership"]["notify"] == "mentions"
    assert rooms_of(ben_api)[room.slug]["notify"] is None  # hers, not the room's

    assert ana_api.patch(f"/api/rooms/{room.slug}/membership", {"notify": "none"}).json()["membership"]["notify"] == "none"
    assert ana_api.patch(f"/api/rooms/{room.slug}/membership", {"notify": None}).json()["membership"]["notify"] is None
    assert Membership.objects.get(room=room, user=ana).notify is None


def test_a_muted_room_still_counts_unread_messages_and_mentions(api, make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    ana_api, ben_api = api(ana), api(ben)
    room = room_factory(ana, "talk")
    ben_api.post(f"/api/rooms/{room.slug}/join")
    ana_api.patch(f"/api/rooms/{room.slug}/membership", {"notify": "none"})
    post(ben_api, room.slug, "hello")
    post(ben_api, room.slug, "@**Ana Tester** look")
    mine = rooms_of(ana_api)[room.slug]
    assert (mine["notify"], mine["unread_count"], mine["mention_count"]) == ("none", 2, 1)


@pytest.mark.parametrize("body", [
    {"notify": "loud"}, {"notify": "ALL"}, {"notify": 1}, {"notify": ["all"]}, {"notify": True}, {"notify": ""}, {},
])
def test_a_bad_level_is_400_and_changes_nothing(api, make_user, room_factory, body):
    ana = make_user("Ana")
    room = room_factory(ana, "talk")
    ana_api = api(ana)
    ana_api.patch(f"/api/rooms/{room.slug}/membership", {"notify": "mentions"})
    error = error_of(ana_api.patch(f"/api/rooms/{room.slug}/membership", body), 400, "invalid")
    assert "notify" in error["fields"]
    assert Membership.objects.get(room=room, user=ana).notify == "mentions"


def test_a_non_member_gets_404_for_a_public_or_private_room_alike_and_changes_nothing(api, make_user, room_factory):
    ana, eve = make_user("Ana"), make_user("Eve")
    public = room_factory(ana, "public")
    secret = room_factory(ana, "secret", is_private=True)
    eve_api = api(eve)
    answers = []
    for slug in (public.slug, secret.slug, "no-such-room"):
        answers.append(error_of(eve_api.patch(f"/api/rooms/{slug}/membership", {"notify": "none"}), 404, "not_found"))
        error_of(eve_api.get(f"/api/rooms/{slug}/membership"), 404, "not_found")
    assert len({a["message"] for a in answers}) == 1  # a private room's existence is not given away
    assert not Membership.objects.filter(user=eve).exists()
    assert set(Membership.objects.values_list("notify", flat=True)) == {None}
    # A non-member's room dict (a public room listed for her) carries no level.
    assert "notify" not in rooms_of(eve_api)[public.slug]
    error_of(api().patch(f"/api/rooms/{public.slug}/membership", {"notify": "none"}), 401, "not_authenticated")


def test_room_events_carry_no_members_level(api, make_user, room_factory, feed):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "talk")
    api(ana).patch(f"/api/rooms/{room.slug}/membership", {"notify": "none"})
    ana_feed = feed(ana)
    api(ben).post(f"/api/rooms/{room.slug}/join")
    [event] = ana_feed.take("room")
    assert "notify" not in event["data"]


def test_the_level_column_left_the_membership_triggers_in_place(api, make_user, room_factory):
    """Migration 0011 adds a nullable column: SQLite adds it in place instead of rebuilding the table,
    which would drop the triggers that write membership events (migration 0005)."""
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "talk")
    before = Event.objects.filter(type="membership").count()
    api(ben).post(f"/api/rooms/{room.slug}/join")
    api(ben).patch(f"/api/rooms/{room.slug}/membership", {"notify": "none"})
    api(ben).post(f"/api/rooms/{room.slug}/leave")
    actions = list(Event.objects.filter(type="membership").order_by("position").values_list("data", flat=True))
    assert [(e["user_id"], e["action"]) for e in actions[before:]] == [(ben.id, "joined"), (ben.id, "left")]
