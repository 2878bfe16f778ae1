"""Invitations from strangers (issue 9, item 4): the invitee is a member at once, and may refuse.

An invitation from someone the invitee shares no other room with is marked on
the invitee's room (`invited_by`, `invitation_from_stranger`), so that the
client can offer Stay / Leave / Leave and block. Joining the room (Stay)
accepts it; leaving refuses it.
"""
import pytest

from rooms import services

pytestmark = pytest.mark.django_db


def listed(client, slug):
    response = client.get("/api/rooms")
    assert response.status_code == 200, response.content
    return next(room for room in response.json()["rooms"] if room["slug"] == slug)


def detail(client, slug):
    response = client.get(f"/api/rooms/{slug}")
    assert response.status_code == 200, response.content
    return response.json()["room"]


def test_an_invitation_from_a_stranger_is_marked_on_the_invitees_room_only(api, make_user, feed, room_factory):
    ana, mallory = make_user("Ana"), make_user("Mallory")
    room = room_factory(mallory, "free crypto", is_private=True)
    ana_feed = feed(ana)
    ana_feed.take()
    response = api(mallory).post(f"/api/rooms/{room.slug}/invite", {"user_id": ana.id})
    assert response.status_code == 200
    assert "invitation_from_stranger" not in response.json()["room"]  # the inviter's view of the room

    [event] = ana_feed.take("room")
    assert (event["action"], event["by"]["id"]) == ("invited", mallory.id)
    for room_json in (listed(api(ana), room.slug), detail(api(ana), room.slug)):
        assert room_json["invitation_from_stranger"] is True
        assert room_json["invited_by"] == {"id": mallory.id, "display_name": mallory.display_name, "is_bot": False}
    assert "invitation_from_stranger" not in listed(api(mallory), room.slug)


def test_an_invitation_from_someone_who_shares_a_room_is_not_from_a_stranger(api, make_user, room_factory):
    ana, bob = make_user("Ana"), make_user("Bob")
    services.room_join(room=room_factory(bob, "team"), user=ana)
    room = room_factory(bob, "project", is_private=True)
    assert api(bob).post(f"/api/rooms/{room.slug}/invite", {"user_id": ana.id}).status_code == 200
    room_json = listed(api(ana), room.slug)
    assert "invitation_from_stranger" not in room_json and "invited_by" not in room_json


def test_a_shared_dm_makes_the_inviter_no_stranger(api, make_user, room_factory):
    ana, bob = make_user("Ana"), make_user("Bob")
    services.dm_open(user=bob, other=ana)
    room = room_factory(bob, "after our chat", is_private=True)
    assert api(bob).post(f"/api/rooms/{room.slug}/invite", {"user_id": ana.id}).status_code == 200
    assert "invitation_from_stranger" not in listed(api(ana), room.slug)


def test_joining_the_room_accepts_a_strangers_invitation(api, make_user, feed, room_factory):
    ana, mallory = make_user("Ana"), make_user("Mallory")
    room = room_factory(mallory, "meetup", is_private=True)
    services.room_invite(room=room, inviter=mallory, invitee=ana)
    mallory_feed = feed(mallory)
    mallory_feed.take()
    assert listed(api(ana), room.slug)["invitation_from_stranger"] is True
    response = api(ana).post(f"/api/rooms/{room.slug}/join")
    assert response.status_code == 200
    assert "invitation_from_stranger" not in response.json()["room"]
    assert "invitation_from_stranger" not in listed(api(ana), room.slug)
    assert mallory_feed.take("room") == []  # she was a member already: nothing to tell


def test_leaving_and_blocking_refuses_a_strangers_invitation_for_good(api, make_user, room_factory):
    ana, mallory = make_user("Ana"), make_user("Mallory")
    rooms = [room_factory(mallory, f"spam {n}", is_private=True) for n in range(2)]
    services.room_invite(room=rooms[0], inviter=mallory, invitee=ana)
    client = api(ana)
    assert listed(client, rooms[0].slug)["invited_by"]["id"] == mallory.id
    assert client.post(f"/api/rooms/{rooms[0].slug}/leave").status_code == 204
    assert client.post("/api/blocks", {"user_id": mallory.id}).status_code == 201
    assert api(mallory).post(f"/api/rooms/{rooms[1].slug}/invite", {"user_id": ana.id}).status_code == 403
    assert not rooms[1].memberships.filter(user=ana).exists()


def test_the_room_list_with_a_strangers_invitation_costs_no_more_queries(
    api, make_user, room_factory, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ana = make_user("Ana")
    client = api(ana)
    room_factory(ana, "mine")
    client.get("/api/rooms")
    with CaptureQueriesContext(connection) as plain:
        client.get("/api/rooms")
    for n in range(3):
        stranger = make_user(f"Stranger{n}")
        services.room_invite(room=room_factory(stranger, f"from stranger {n}"), inviter=stranger, invitee=ana)
    with CaptureQueriesContext(connection) as invited:
        rooms = client.get("/api/rooms").json()["rooms"]
    assert sum(1 for room in rooms if room.get("invitation_from_stranger")) == 3
    assert len(invited) == len(plain)


def test_a_room_a_stranger_put_you_in_does_not_make_them_a_friend(api, make_user, room_factory):
    """Otherwise a second invitation from the same stranger would come unmarked."""
    ana, mallory = make_user("Ana"), make_user("Mallory")
    first, second = (room_factory(mallory, f"trap {n}", is_private=True) for n in range(2))
    services.room_invite(room=first, inviter=mallory, invitee=ana)
    assert api(mallory).post(f"/api/rooms/{second.slug}/invite", {"user_id": ana.id}).status_code == 200
    assert listed(api(ana), second.slug)["invitation_from_stranger"] is True
    # Once Ana stays in the first, Mallory is someone she shares a room with.
    third = room_factory(mallory, "trap 3", is_private=True)
    assert api(ana).post(f"/api/rooms/{first.slug}/join").status_code == 200
    services.room_invite(room=third, inviter=mallory, invitee=ana)
    assert "invitation_from_stranger" not in listed(api(ana), third.slug)
