"""One poll (rooms/polling.py): joins and leaves inside a batch, purges during a read, users changed meanwhile.

Polls go through polling.fetch_events() and Wait.complete(), as production runs
them. Tests where a poll waits are transactional: a waiting poll closes its
database connection, which would end the test's own transaction.
"""
import threading

import pytest
from django.db import connection

from rooms import hub as hub_module
from rooms import polling, selectors, services, visibility
from rooms.hub import hub
from tests.live import wait_for
from tests.rooms.polls import bodies, head, poll, post, trim_buffer_past

pytestmark = pytest.mark.django_db
waits = pytest.mark.django_db(transaction=True)


# Joining and leaving in the middle of a batch -------------------------------------------


@pytest.mark.parametrize("from_database", [False, True], ids=["buffer", "database"])
def test_a_leave_mid_batch_keeps_what_came_before_it_and_hides_what_came_after(
    make_user, room_factory, monkeypatch, from_database
):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "leaving")
    services.room_join(room=room, user=ben)
    cursor = head()
    hub.refresh()
    post(room, ana, "before you go")
    services.room_leave(room=room, user=ben)
    post(room, ana, "after you left")
    if from_database:
        trim_buffer_past(cursor, ana, room_factory, monkeypatch)
        assert hub.collect(ben.id, set(), cursor) is None
    found, _ = poll(ben, cursor)
    assert bodies(found) == ["before you go"]
    assert [e["action"] for e in found if e["type"] == "room" and e["user"]["id"] == ben.id] == ["left"]


@pytest.mark.parametrize("from_database", [False, True], ids=["buffer", "database"])
def test_an_invitation_mid_batch_shows_what_comes_after_it_only(
    make_user, room_factory, monkeypatch, from_database
):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "private", is_private=True)
    cursor = head()
    hub.refresh()
    post(room, ana, "before the invitation")
    services.room_invite(room=room, inviter=ana, invitee=ben)
    post(room, ana, "welcome")
    if from_database:
        trim_buffer_past(cursor, ana, room_factory, monkeypatch)
        assert hub.collect(ben.id, set(), cursor) is None
    found, _ = poll(ben, cursor)
    assert bodies(found) == ["welcome"]
    assert [e["action"] for e in found if e["type"] == "room" and e["room"] == room.slug] == ["invited"]


def test_a_join_or_leave_between_the_rooms_and_the_head_neither_leaks_nor_loses(make_user, room_factory):
    """The view reads the rooms, then the head: a join or leave may fall in between."""
    ana, ben = make_user("Ana"), make_user("Ben")
    private = room_factory(ana, "private", is_private=True)
    public = room_factory(ana, "public")
    services.room_join(room=public, user=ben)
    cursor = head()
    post(private, ana, "not for ben")
    post(public, ana, "for ben")
    rooms_before = selectors.room_ids_of(ben.id)
    # Between the view's rooms and its head: ben is invited in, and leaves public.
    services.room_invite(room=private, inviter=ana, invitee=ben)
    services.room_leave(room=public, user=ben)
    found, _ = polling._now(ben.id, rooms_before, cursor, head())  # fetch_events() without its own reads
    assert bodies(found) == ["for ben"]


def test_changing_a_room_one_is_not_a_member_of_shows_none_of_its_messages(make_user, room_factory):
    ana, boss = make_user("Ana"), make_user("Boss", staff=True)
    room = room_factory(ana, "private", is_private=True)
    cursor = head()
    hub.refresh()
    services.room_update(room=room, by=boss, topic="moderated")
    post(room, ana, "private talk")
    found, _ = poll(boss, cursor)
    assert bodies(found) == []


def test_a_purge_landing_during_a_catch_up_read_gives_410_not_a_silent_gap(api, make_user, room_factory, monkeypatch):
    from rooms import messaging
    from rooms.models import Room, Stream

    ana = make_user("Ana")
    room = room_factory(ana, "busy")
    client = api(ana)
    cursor = int(client.get("/api/events").json()["cursor"])
    messaging.message_post(room=room, author=ana, body="soon purged")
    monkeypatch.setattr(hub_module, "BUFFER_SIZE", 0)  # force the database path
    hub.reset()
    real = visibility.load_entries

    def purge_meanwhile(queryset):
        # What a purge of the room's messages commits: the room's mark and the stream's.
        Room.objects.filter(id=room.id).update(pruned_through=cursor + 1)
        Stream.objects.filter(id=1).update(pruned_through=cursor + 1)
        return real(queryset)

    monkeypatch.setattr(polling, "load_entries", purge_meanwhile)
    response = client.get("/api/events", {"cursor": str(cursor), "timeout": "0"})
    assert response.status_code == 410
    assert response.json()["error"]["code"] == "cursor_expired"


# A user changed while their poll waits --------------------------------------------------------------


@waits
@pytest.mark.parametrize("change", ["deactivated", "token revoked"])
def test_a_waiting_poll_gives_nothing_to_a_user_deactivated_or_logged_out_meanwhile(api, make_user, room_factory,
                                                                                    change):
    """The poll authenticated its user when it arrived; anything that could change that is re-checked
    before it answers with events: it answers with none, and the client's next poll is refused."""
    from users.models import ApiToken

    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "live")
    services.room_join(room=room, user=ben)
    client = api(ben)
    cursor = client.get("/api/events").json()["cursor"]
    hub.refresh()
    answer = {}

    def wait():
        answer["response"] = client.get("/api/events", {"cursor": cursor, "timeout": "10"})
        connection.close()

    thread = threading.Thread(target=wait)
    thread.start()
    wait_for(lambda: ben.id in hub.waiting_user_ids, 5, "the poll never waited")
    if change == "deactivated":
        ben.is_active = False
        ben.save()
    else:
        ApiToken.objects.filter(user=ben).delete()
    post(room, ana, "not for ben any more")
    hub.refresh()
    thread.join(5)
    assert not thread.is_alive()
    response = answer["response"]
    assert response.status_code == 200
    assert bodies(response.json()["events"]) == []
    assert response.json()["cursor"] == cursor, "nothing was skipped: a client that is let back in sees it all"
    assert client.get("/api/events", {"cursor": cursor, "timeout": "0"}).status_code == 401


def test_a_waiting_poll_keeps_no_connection_object():
    """Each waiting greenlet would keep its closed DatabaseWrapper (about 3 KB) for the whole wait."""
    from django.db import connections

    seen = {}

    def in_own_thread():  # a thread (a greenlet under gevent) has its own connection object, outside any transaction
        before = connections["default"]
        polling.release_connection()
        seen["same"] = connections["default"] is before
        connections["default"].close()

    thread = threading.Thread(target=in_own_thread)
    thread.start()
    thread.join()
    assert seen == {"same": False}
