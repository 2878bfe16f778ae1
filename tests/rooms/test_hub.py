"""The per-process Hub (rooms/hub.py): who is woken, the buffer and its floor, the rooms it keeps, floods.

No server: the tests drive hub.refresh() themselves (background loops are off in
tests). They run on SQLite and on PostgreSQL. Tests where a poll waits are
transactional: a waiting poll closes its database connection, as it must in
production, which would end the test's own transaction.
"""
import threading
import time

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.test.utils import CaptureQueriesContext

from rooms import hub as hub_module
from rooms import floods, polling, presence, selectors, services
from rooms.hub import Waiter, hub
from tests.live import wait_for
from tests.rooms.polls import bodies, head, poll, post

pytestmark = pytest.mark.django_db
waits = pytest.mark.django_db(transaction=True)


def registered(user, rooms):
    waiter = Waiter(user.id, frozenset(room.id for room in rooms))
    hub._register(waiter)
    return waiter


# Waking ------------------------------------------------------------------------------


def test_a_wake_reaches_only_the_waiters_the_new_events_concern(make_user, room_factory):
    ana, ben, cara, dan = (make_user(name) for name in ("Ana", "Ben", "Cara", "Dan"))
    red = room_factory(ana, "red", is_private=True)
    blue = room_factory(ben, "blue", is_private=True)
    services.room_invite(room=red, inviter=ana, invitee=cara)
    hub.refresh()
    waiters = {
        "ana": registered(ana, [red]), "ben": registered(ben, [blue]),
        "cara": registered(cara, [red]), "dan": registered(dan, []),
    }

    def woken():
        found = {name for name, waiter in waiters.items() if waiter.event.is_set()}
        for waiter in waiters.values():
            waiter.event.clear()
        return found

    post(red, ana, "in red")
    hub.refresh()
    assert woken() == {"ana", "cara"}

    services.typing_notify(room=blue, user=ben)
    hub.refresh()
    assert woken() == {"ben"}

    # A join wakes the joining user's polls (by user) and the room's members.
    services.room_invite(room=blue, inviter=ben, invitee=dan)
    hub.refresh()
    assert woken() == {"ben", "dan"}

    # Presence goes to the members of the user's rooms (its audience) and the user.
    presence._set_status(cara, online=True, now=timezone.now())
    hub.refresh()
    assert woken() == {"ana", "cara"}

    # A public room's creation is for everyone.
    room_factory(dan, "lobby")
    hub.refresh()
    assert woken() == {"ana", "ben", "cara", "dan"}

    # Nothing new: nobody.
    hub.refresh()
    assert woken() == set()


def test_one_read_per_wake_is_shared_by_every_waiter_of_the_room(make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, "busy")
    hub.refresh()
    waiters = [registered(ana, [room]) for _ in range(200)]
    post(room, ana, "hello all")
    with CaptureQueriesContext(connection) as queries:
        hub.refresh()
    assert len(queries) == 2, [q["sql"] for q in queries]  # the stream head, then the new events
    assert all(waiter.event.is_set() for waiter in waiters)

    # Polls that arrive after the wake find the buffer loaded: no read of their own.
    with CaptureQueriesContext(connection) as queries:
        hub.ensure_loaded(head())
    assert len(queries) == 1  # only head() above


@waits
def test_a_waiting_poll_returns_with_the_event_that_woke_it(make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "live")
    services.room_join(room=room, user=ben)
    cursor = head()
    hub.refresh()
    answer = {}

    def wait():
        answer["result"] = poll(ben, cursor, timeout=10)
        answer["at"] = time.monotonic()
        connection.close()

    thread = threading.Thread(target=wait)
    thread.start()
    deadline = time.monotonic() + 5
    while ben.id not in hub.waiting_user_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ben.id in hub.waiting_user_ids
    post(room, ana, "psst")
    sent = time.monotonic()
    hub.refresh()
    thread.join(5)
    assert not thread.is_alive()
    found, new_cursor = answer["result"]
    assert bodies(found) == ["psst"]
    assert answer["at"] - sent < 0.5
    assert new_cursor == head()


def test_an_event_landing_between_the_final_check_and_the_wait_is_not_missed(
    make_user, room_factory, monkeypatch
):
    """Hazard 4: the waiter is registered before its last check, so the wake finds it."""
    ana = make_user("Ana")
    room = room_factory(ana, "race")
    cursor = head()
    hub.refresh()
    collect = hub.collect
    calls = []

    def collect_then_race(user_id, rooms, after):
        result = collect(user_id, rooms, after)
        if not calls:
            # The check found nothing; now an event commits and the fetch loop
            # runs, before the poll gets to wait.
            post(room, ana, "just in time")
            hub.refresh()
        calls.append(result)
        return result

    monkeypatch.setattr(hub, "collect", collect_then_race)
    started = time.monotonic()
    found, _ = hub.wait(ana.id, {room.id}, cursor, timeout=5)
    assert bodies(found) == ["just in time"]
    assert time.monotonic() - started < 1, "the wake was lost: the poll waited out its timeout"
    assert calls[0][0] == []


def test_release_all_answers_waiting_polls_at_once(make_user):
    ana = make_user("Ana")
    cursor = head()
    hub.refresh()
    answer = {}
    thread = threading.Thread(target=lambda: answer.setdefault("r", hub.wait(ana.id, set(), cursor, 10)))
    thread.start()
    deadline = time.monotonic() + 5
    while ana.id not in hub.waiting_user_ids and time.monotonic() < deadline:
        time.sleep(0.01)
    hub.release_all()
    thread.join(2)
    assert answer["r"] == ([], cursor)


# The buffer and the database path ------------------------------------------------------


def test_cursors_older_than_the_trimmed_buffer_are_served_from_the_database(
    make_user, room_factory, monkeypatch
):
    monkeypatch.setattr(hub_module, "BUFFER_SIZE", 5)
    monkeypatch.setattr(polling, "CATCH_UP_LIMIT", 7)
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "history")
    other = room_factory(ana, "elsewhere", is_private=True)  # ben never sees these
    services.room_join(room=room, user=ben)
    start = head()
    hub.refresh()
    sent = []
    for n in range(30):
        sent.append(post(room, ana, f"m{n}").body)
        post(other, ana, f"secret{n}")
        hub.refresh()  # the buffer trims itself as it grows
    assert hub.floor > start, "the buffer should no longer reach back to the start"
    assert len(hub._entries) <= 2 * hub_module.BUFFER_SIZE

    seen, cursor, rounds = [], start, 0
    while len(seen) < len(sent) and rounds < 50:
        found, cursor = poll(ben, cursor)
        seen += bodies(found)
        assert all("secret" not in body for body in bodies(found))
        rounds += 1
    assert seen == sent  # all of them, once each, in order, across pages of CATCH_UP_LIMIT
    assert rounds > 2
    assert cursor == head()

    # A cursor right at the buffer's floor is served from memory.
    with CaptureQueriesContext(connection) as queries:
        assert hub.collect(ben.id, {room.id}, hub.floor) is not None
    assert len(queries) == 0
    assert hub.collect(ben.id, {room.id}, hub.floor - 1) is None


@waits
def test_the_database_path_pages_through_events_the_user_does_not_see(make_user, room_factory, monkeypatch):
    monkeypatch.setattr(hub_module, "BUFFER_SIZE", 2)
    monkeypatch.setattr(polling, "CATCH_UP_LIMIT", 3)
    ana, ben = make_user("Ana"), make_user("Ben")
    room_factory(ana, "secret", is_private=True)
    start = head()
    now = timezone.now()
    for n in range(12):
        # Presence has no room, so SQL cannot narrow it to ben; he sees none of it.
        presence._set_status(ana, online=n % 2 == 0, now=now, cutoff=now + timedelta(days=1))
        hub.refresh()
    assert hub.floor > start
    cursor, rounds = start, 0
    while cursor != head() and rounds < 20:
        found, new_cursor = poll(ben, cursor)
        assert found == []
        assert new_cursor > cursor
        cursor, rounds = new_cursor, rounds + 1
    assert cursor == head()
    assert rounds >= 2  # pages of CATCH_UP_LIMIT rows, each moving the cursor on


# The rooms the hub keeps for users who poll ---------------------------------------------------


def test_poll_state_reads_the_rooms_once_then_follows_joins_and_leaves_from_the_stream(make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    public = room_factory(ana, "public")
    private = room_factory(ana, "private", is_private=True)
    services.room_join(room=public, user=ben)
    assert polling.poll_state(ben.id)[0] == {public.id}
    # Kept: the next poll reads only the stream row.
    with CaptureQueriesContext(connection) as queries:
        rooms, now, _ = polling.poll_state(ben.id)
    assert rooms == {public.id} and now == head()
    assert len(queries) == 1, [query["sql"] for query in queries]
    # Joins and leaves reach the kept rooms through the events that make them.
    services.room_invite(room=private, inviter=ana, invitee=ben)
    assert polling.poll_state(ben.id)[0] == {public.id, private.id}
    services.room_leave(room=public, user=ben)
    services.room_update(room=private, by=ana, topic="changed")  # a room event about ben's room, not a move
    assert polling.poll_state(ben.id)[0] == {private.id} == selectors.room_ids_of(ben.id)
    found, _ = poll(ben, head())
    assert found == []


def test_a_kept_user_who_leaves_stops_seeing_the_room_and_one_invited_starts(make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    old, new = room_factory(ana, "old", is_private=True), room_factory(ana, "new", is_private=True)
    services.room_invite(room=old, inviter=ana, invitee=ben)
    cursor = head()
    assert poll(ben, cursor)[0] == []  # ben's rooms are now kept
    services.room_leave(room=old, user=ben)
    services.room_invite(room=new, inviter=ana, invitee=ben)
    cursor = head()
    post(old, ana, "after ben left")
    post(new, ana, "for ben")
    found, _ = poll(ben, cursor)
    assert bodies(found) == ["for ben"]


def test_rooms_read_at_an_older_head_are_rolled_forward_before_they_are_kept(make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "private", is_private=True)
    read_at = head()
    services.room_invite(room=room, inviter=ana, invitee=ben)  # after the snapshot: in the buffer only
    hub.ensure_loaded(head())
    hub.remember_rooms(ben.id, frozenset(), read_at)
    assert hub.rooms_of(ben.id) == {room.id}


def test_kept_rooms_of_users_who_stopped_polling_are_forgotten(make_user, room_factory, monkeypatch):
    ben = make_user("Ben")
    polling.poll_state(ben.id)
    assert hub.rooms_of(ben.id) == set()
    hub.forget_rooms(idle_seconds=60)
    assert hub.rooms_of(ben.id) == set()  # asked just now: kept
    later = time.monotonic() + 61
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: later)
    hub.forget_rooms(idle_seconds=60)
    assert hub.rooms_of(ben.id) is None


def test_a_poll_that_may_wait_asks_the_database_nothing_while_the_hub_is_current(make_user, room_factory, monkeypatch):
    ana = make_user("Ana")
    room = room_factory(ana, "general")
    polling.poll_state(ana.id)  # the buffer is loaded and ana's rooms kept
    monkeypatch.setattr(type(hub), "current", property(lambda self: True))  # as with the fetch loop and listener up
    with CaptureQueriesContext(connection) as queries:
        rooms, now, _ = polling.poll_state(ana.id, cursor=hub.head)
    assert (len(queries), rooms, now) == (0, {room.id}, hub.head)
    # A cursor past this process's head (from another worker) is checked against the database.
    post(room, ana, "through another worker")  # committed; this hub has not read it yet
    with CaptureQueriesContext(connection) as queries:
        rooms, now, _ = polling.poll_state(ana.id, cursor=head())
    assert now == head() == hub.head and len(queries) >= 1
    # And without a cursor (a poll that may not wait) the head is always read.
    monkeypatch.setattr(type(hub), "current", property(lambda self: False))
    with CaptureQueriesContext(connection) as queries:
        polling.poll_state(ana.id, cursor=hub.head)
    assert len(queries) == 1


# Floods -------------------------------------------------------------------------------------------


def test_a_flood_is_recognised_by_big_answers_in_quick_succession_and_wears_off(make_user, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(hub_module.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(type(hub), "busy", property(lambda self: True))
    hub.reset()  # the hub keeps time by the test's clock from here
    conversation, catch_up, flood = 1, 2, 3
    for _ in range(20):  # an event or two at a time, however fast: never held back
        hub.note_answer(conversation, 2)
        clock[0] += 0.1
    assert hub.gather_seconds(conversation) == 0
    hub.note_answer(catch_up, 3)
    clock[0] += 600
    hub.note_answer(catch_up, 400)  # one big answer after time away
    assert hub.gather_seconds(catch_up) == 0
    hub.note_answer(flood, 2)
    clock[0] += 0.3
    hub.note_answer(flood, floods.FLOOD_EVENTS)  # many events, soon after the last answer
    assert hub.gather_seconds(flood) == floods.GATHER_SECONDS
    clock[0] += 0.4
    assert hub.gather_seconds(flood) == pytest.approx(floods.GATHER_SECONDS - 0.4)
    clock[0] += floods.FLOOD_HOLD_SECONDS
    assert hub.gather_seconds(flood) == 0


@waits
def test_a_flooded_users_answer_waits_to_gather_and_carries_everything(api, make_user, room_factory, monkeypatch):
    monkeypatch.setattr(floods, "GATHER_SECONDS", 0.3)
    monkeypatch.setattr(type(hub), "busy", property(lambda self: True))
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana, "busy")
    services.room_join(room=room, user=ben)
    ana_client, ben_client = api(ana), api(ben)
    ana_cursor, ben_cursor = ana_client.get("/api/events").json()["cursor"], ben_client.get("/api/events").json()["cursor"]
    hub.note_answer(ben.id, 1)
    hub.note_answer(ben.id, floods.FLOOD_EVENTS)  # ben is flooded; ana is not
    post(room, ana, "first")
    started = time.monotonic()


    def meanwhile():  # once ben's poll waits to gather: another message, read as the fetch loop would
        wait_for(lambda: ben.id in hub.waiting_user_ids, 5, "ben's poll never waited")
        post(room, ana, "second")
        hub.refresh()
        connection.close()

    gathered = threading.Thread(target=meanwhile)
    gathered.start()
    answer = ben_client.get("/api/events", {"cursor": ben_cursor, "timeout": "5"}).json()
    waited = time.monotonic() - started
    gathered.join()
    assert bodies(answer["events"]) == ["first", "second"]
    assert 0.2 <= waited < 2
    started = time.monotonic()
    answer = ana_client.get("/api/events", {"cursor": ana_cursor, "timeout": "5"}).json()
    assert bodies(answer["events"]) == ["first", "second"] and time.monotonic() - started < 0.2


def test_a_server_that_keeps_up_answers_a_flooded_user_at_once(make_user):
    hub.note_answer(7, 1)
    hub.note_answer(7, 50)  # flooded...
    assert not hub.busy  # ...but this process answers few polls a second
    assert hub.gather_seconds(7) == 0
    for _ in range(floods.BUSY_ANSWERS_PER_SECOND * 2):
        hub.note_answer(8, 1)
    hub._rate_since -= 1.0  # a second of that many answers
    hub.note_answer(8, 1)
    assert hub.busy and hub.gather_seconds(7) > 0


