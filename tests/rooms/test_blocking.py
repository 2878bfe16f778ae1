"""What blocking someone does (issue 9, item 4): no DMs or invitations from them, and their messages hidden.

Hidden means: not in the blocker's history, search, unread counts or poll, in
every room (DMs and shared rooms alike); everyone else still sees them, and so
does their author. The list of blocks itself is tests/users/test_blocks.py.
"""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rooms import messaging, services
from rooms.models import Event, Membership, Room
from tests.conftest import error_of

pytestmark = pytest.mark.django_db


def block(client, user):
    response = client.post("/api/blocks", {"user_id": user.id})
    assert response.status_code in (200, 201), response.content


def bodies(messages):
    return [m["body"] for m in messages]


def history(client, slug):
    response = client.get(f"/api/rooms/{slug}/messages")
    assert response.status_code == 200, response.content
    return bodies(response.json()["messages"])


# DMs --------------------------------------------------------------------------------------------


def test_opening_a_dm_with_someone_who_blocked_you_is_403_and_creates_nothing(api, make_user, feed):
    ana, bob = make_user("Ana"), make_user("Bob")
    block(api(ana), bob)
    ana_feed = feed(ana)
    ana_feed.take()
    for _ in range(3):
        error_of(api(bob).post("/api/dms", {"user_id": ana.id}), 403, "forbidden")
    assert not Room.objects.filter(kind=Room.DM).exists()
    assert ana_feed.take("room") == []


def test_opening_an_existing_dm_with_someone_who_blocked_you_is_403_and_does_not_bring_them_back(
    api, make_user
):
    ana, bob = make_user("Ana"), make_user("Bob")
    slug = api(ana).post("/api/dms", {"user_id": bob.id}).json()["room"]["slug"]
    assert api(ana).post(f"/api/rooms/{slug}/leave").status_code == 204
    block(api(ana), bob)
    error_of(api(bob).post("/api/dms", {"user_id": ana.id}), 403, "forbidden")
    assert not Membership.objects.filter(room__slug=slug, user=ana).exists()


def test_in_an_existing_dm_the_blocked_users_new_messages_reach_the_blocker_nowhere(api, make_user, feed):
    ana, bob = make_user("Ana"), make_user("Bob")
    ana_api, bob_api = api(ana), api(bob)
    slug = ana_api.post("/api/dms", {"user_id": bob.id}).json()["room"]["slug"]
    assert bob_api.post(f"/api/rooms/{slug}/messages", {"body": "before the block"}).status_code == 201
    block(ana_api, bob)
    ana_feed = feed(ana)
    ana_feed.take()

    # Bob is not told: his message is taken as usual, and he sees it.
    assert bob_api.post(f"/api/rooms/{slug}/messages", {"body": "are you there?"}).status_code == 201
    assert history(bob_api, slug) == ["before the block", "are you there?"]
    assert ana_feed.take("message") == []
    assert history(ana_api, slug) == []
    [room] = [r for r in ana_api.get("/api/rooms").json()["rooms"] if r["slug"] == slug]
    assert room["unread_count"] == 0
    # Ana's own messages still go through.
    assert ana_api.post(f"/api/rooms/{slug}/messages", {"body": "bye"}).status_code == 201
    assert history(ana_api, slug) == ["bye"]


# Invitations ------------------------------------------------------------------------------------


def test_someone_you_blocked_cannot_invite_you_and_is_told_only_that_they_cannot(api, make_user, feed, room_factory):
    ana, bob = make_user("Ana"), make_user("Bob")
    room = room_factory(bob, "bait", is_private=True)
    block(api(ana), bob)
    ana_feed = feed(ana)
    ana_feed.take()
    error = error_of(api(bob).post(f"/api/rooms/{room.slug}/invite", {"user_id": ana.id}), 403, "forbidden")
    assert error["message"] == "You cannot invite this user."
    assert not room.memberships.filter(user=ana).exists()
    assert not Event.objects.filter(type=Event.ROOM, subject=ana, room=room).exists()
    assert ana_feed.take() == []
    # Others invite her as before, into the same room.
    carl = make_user("Carl")
    services.room_invite(room=room, inviter=bob, invitee=carl)
    assert api(carl).post(f"/api/rooms/{room.slug}/invite", {"user_id": ana.id}).status_code == 200


# Messages in shared rooms -----------------------------------------------------------------------


@pytest.fixture
def shared(api, make_user, room_factory):
    """Ana blocks Bob; both are in a public room with Carl; each has said something."""
    ana, bob, carl = make_user("Ana"), make_user("Bob"), make_user("Carl")
    room = room_factory(carl, "commons")
    for user in (ana, bob):
        services.room_join(room=room, user=user)
    for author, body in ((ana, "ana says hello"), (bob, "bob says hello"), (carl, "carl says hello")):
        messaging.message_post(room=room, author=author, body=body)
    block(api(ana), bob)
    return ana, bob, carl, room


def test_the_blocked_users_messages_are_absent_from_the_blockers_history_only(api, shared):
    ana, bob, carl, room = shared
    assert history(api(ana), room.slug) == ["ana says hello", "carl says hello"]
    everything = ["ana says hello", "bob says hello", "carl says hello"]
    assert history(api(bob), room.slug) == everything
    assert history(api(carl), room.slug) == everything


def test_a_history_page_of_the_blocker_is_full_and_has_more_is_true(api, shared):
    ana, bob, carl, room = shared
    for n in range(3):
        messaging.message_post(room=room, author=bob, body=f"bob {n}")
    response = api(ana).get(f"/api/rooms/{room.slug}/messages", {"limit": 1})
    assert bodies(response.json()["messages"]) == ["carl says hello"]
    assert response.json()["has_more"] is True


def test_the_blocked_users_messages_are_absent_from_the_blockers_search(api, shared):
    ana, bob, carl, room = shared
    found = api(ana).get("/api/search", {"q": "hello"}).json()["messages"]
    assert sorted(bodies(found)) == ["ana says hello", "carl says hello"]
    assert len(api(carl).get("/api/search", {"q": "hello"}).json()["messages"]) == 3


def test_the_blocked_users_new_messages_and_typing_never_reach_the_blockers_poll(api, shared, feed):
    ana, bob, carl, room = shared
    ana_feed, carl_feed = feed(ana), feed(carl)
    ana_feed.take(), carl_feed.take()
    services.typing_notify(room=room, user=bob)
    messaging.message_post(room=room, author=bob, body="can you hear me")
    messaging.message_post(room=room, author=carl, body="carl again")
    assert [e["message"]["body"] for e in ana_feed.take("message")] == ["carl again"]
    assert ana_feed.take("typing") == []
    assert [e["message"]["body"] for e in carl_feed.take("message")] == ["can you hear me", "carl again"]


def test_the_blocked_users_messages_do_not_count_as_unread_for_the_blocker(api, shared):
    ana, bob, carl, room = shared
    services.room_mark_read(room=room, user=ana, message_id=room.last_message_id)
    messaging.message_post(room=room, author=bob, body="unread?")
    messaging.message_post(room=room, author=carl, body="unread!")
    [listed] = [r for r in api(ana).get("/api/rooms").json()["rooms"] if r["slug"] == room.slug]
    assert listed["unread_count"] == 1


def test_unblocking_shows_the_messages_again(api, shared):
    ana, bob, carl, room = shared
    assert api(ana).client.delete(f"/api/blocks/{bob.id}").status_code == 204
    assert history(api(ana), room.slug) == ["ana says hello", "bob says hello", "carl says hello"]
    assert api(bob).post("/api/dms", {"user_id": ana.id}).status_code == 201


def test_hiding_blocked_users_costs_history_and_the_poll_no_query(api, make_user, room_factory, feed):
    """The blocker's list comes with the user the request already has (users.models.User.blocked_ids)."""
    ana, bob, cy = make_user("Ana"), make_user("Bob"), make_user("Cy")
    room = room_factory(cy, "quiet")
    services.room_join(room=room, user=ana)
    messaging.message_post(room=room, author=cy, body="hi")
    client = api(ana)
    cursor = client.get("/api/events").json()["cursor"]

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/api/rooms/{room.slug}/messages").status_code == 200
            assert client.get("/api/events", {"cursor": cursor, "timeout": "0"}).status_code == 200
        return len(captured)

    queries()  # the first poll marks Ana online and loads the hub
    before = queries()
    block(client, bob)
    assert queries() == before


def test_a_poll_whose_user_comes_from_the_token_cache_hides_a_new_block_at_once(
    api, shared, feed, monkeypatch, django_capture_on_commit_callbacks
):
    """Polls take their user from users/tokencache.py; a block saves the user, which every process forgets."""
    from parley import listen
    from rooms.hub import hub

    ana, bob, carl, room = shared
    monkeypatch.setattr(listen, "current", lambda: True)
    monkeypatch.setattr(type(hub), "current", property(lambda self: True))
    with django_capture_on_commit_callbacks(execute=True):
        assert api(ana).client.delete(f"/api/blocks/{bob.id}").status_code == 204
    ana_feed = feed(ana)
    ana_feed.take()  # her user is now in the cache, blocking nobody
    with django_capture_on_commit_callbacks(execute=True):
        block(ana_feed.client, bob)
    messaging.message_post(room=room, author=bob, body="still here")
    assert ana_feed.take("message") == []


@pytest.mark.django_db(transaction=True)
def test_a_poll_already_waiting_when_its_user_blocks_someone_does_not_bring_their_next_message(api, make_user,
                                                                                              room_factory):
    """The block changes the user, which a waiting poll re-checks before it answers (rooms/api.py)."""
    import threading

    from rooms.hub import hub
    from tests.live import wait_for

    ana, mallory = make_user("Ana"), make_user("Mallory")
    room = room_factory(ana, "open")
    services.room_join(room=room, user=mallory)
    ana_client = api(ana)
    cursor = ana_client.get("/api/events").json()["cursor"]
    hub.refresh()
    answers = []

    def wait():
        cursor_now = cursor
        while not any(event["type"] == "message" for _, events in answers for event in events):
            response = ana_client.get("/api/events", {"cursor": cursor_now, "timeout": "5"})
            cursor_now = response.json()["cursor"]
            answers.append((cursor_now, response.json()["events"]))
            if len(answers) > 3:
                break
        connection.close()

    thread = threading.Thread(target=wait)
    thread.start()
    wait_for(lambda: ana.id in hub.waiting_user_ids, 5, "the poll never waited")
    block(api(ana), mallory)
    messaging.message_post(room=room, author=mallory, body="you cannot block me")
    messaging.message_post(room=room, author=ana, body="watch me")
    hub.refresh()
    thread.join(20)
    seen = [event["message"]["body"] for _, events in answers for event in events if event["type"] == "message"]
    assert seen == ["watch me"]
