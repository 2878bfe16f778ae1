"""Posts that arrive together share one transaction (rooms/group_commit.py), and keep commit order.

The first test drives GroupCommit with a stand-in writer, no database. The
others post through messaging.message_post on PostgreSQL, from threads, with
the first batch held open until the others have queued behind it: what a
burst does to a worker, made deterministic.
"""
import threading

import pytest
from django.db import connection, connections

from rooms import messaging
from rooms.group_commit import GroupCommit
from rooms.models import Event, Mention, Message, Room
from tests.live import wait_for


def _run(target, *args):
    def body():
        try:
            target(*args)
        finally:
            connections.close_all()

    thread = threading.Thread(target=body)
    thread.start()
    return thread


def test_rows_that_arrive_during_a_batch_are_written_together_in_arrival_order():
    written, release = [], threading.Event()

    def write(rows):
        written.append(list(rows))
        if len(written) == 1:
            release.wait(10)
        return [f"id-{row}" for row in rows]

    group = GroupCommit(write)
    results = {}
    first = threading.Thread(target=lambda: results.update(a=group.write("a")))
    first.start()
    wait_for(lambda: written, 10, "the first row never reached the writer")
    others = []
    for row in ("b", "c", "d"):
        others.append(threading.Thread(target=lambda row=row: results.update({row: group.write(row)})))
        others[-1].start()
        wait_for(lambda n=len(others): len(group._queue) == n, 10, "a row did not queue behind the batch")
    release.set()
    for thread in [first, *others]:
        thread.join(10)
    assert written == [["a"], ["b", "c", "d"]]
    assert results == {"a": "id-a", "b": "id-b", "c": "id-c", "d": "id-d"}
    assert (group.batches, group.rows) == (2, 4)
    assert not group._busy and not group._queue


def test_a_failed_batch_tells_each_of_its_rows_to_be_written_alone():
    def write(rows):
        raise RuntimeError("one of them broke the statement")

    group = GroupCommit(write)
    assert group.write("a") is None
    assert not group._busy  # and the next one leads again
    assert group.write("b") is None


def _needs_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("batches are PostgreSQL's (DATABASE_URL=postgres://...)")


def _hold_first_batch(monkeypatch):
    """Make the group's first batch wait for the returned event before it writes."""
    group, real, release = messaging.group_commit, messaging._insert_batch, threading.Event()
    calls = []

    def held(rows):
        calls.append(len(rows))
        if len(calls) == 1:
            release.wait(10)
        return real(rows)

    monkeypatch.setattr(group, "_write_batch", held)
    return group, release, calls


def _post_while_held(monkeypatch, room, author, posts):
    """Post `posts` [(body, client_id)] from threads, all but the first queued behind the first's batch."""
    group, release, calls = _hold_first_batch(monkeypatch)
    results = {}

    def post(body, client_id):
        results[body] = messaging.message_post(room=Room.objects.get(pk=room.pk), author=author, body=body,
                                               client_id=client_id)

    threads = [_run(post, *posts[0])]
    wait_for(lambda: calls, 10, "the first post never reached the batch writer")
    for n, (body, client_id) in enumerate(posts[1:], 1):
        threads.append(_run(post, body, client_id))
        wait_for(lambda n=n: len(group._queue) == n, 10, "a post did not queue behind the batch")
    release.set()
    for thread in threads:
        thread.join(30)
    return results, calls


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_posts_queued_behind_a_commit_are_one_batch_with_positions_and_ids_in_arrival_order(
    monkeypatch, make_user, room_factory
):
    _needs_postgres()
    ana = make_user("Ana")
    room = room_factory(ana, "burst")
    start = Event.objects.order_by("-position").values_list("position", flat=True).first()
    posts = [("first", None), ("second", "c-2"), (f"third @**{ana.display_name}**", None), ("fourth", "c-4")]
    results, calls = _post_while_held(monkeypatch, room, ana, posts)
    assert calls == [1, 3]  # the three that came during the first commit went in one
    assert all(created for _, created in results.values())
    events = list(Event.objects.filter(position__gt=start, type=Event.MESSAGE).order_by("position"))
    assert [event.data["message"]["body"] for event in events] == [body for body, _ in posts]
    positions = [event.position for event in events]
    assert positions == list(range(positions[0], positions[0] + 4))  # no gaps, arrival order
    ids = [event.message_id for event in events]
    assert ids == sorted(ids) and [event.data["message"]["id"] for event in events] == ids
    assert ids == [results[body][0].id for body, _ in posts]
    assert list(Mention.objects.filter(message_id=ids[2]).values_list("user_id", flat=True)) == [ana.id]
    assert Room.objects.get(pk=room.pk).last_message_id == ids[-1]
    assert Message.objects.get(pk=ids[3]).client_id == "c-4"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_repeated_client_id_in_a_batch_gets_the_first_message_and_the_others_are_still_written(
    monkeypatch, make_user, room_factory
):
    _needs_postgres()
    ana = make_user("Ana")
    room = room_factory(ana, "resend")
    original, _ = messaging.message_post(room=room, author=ana, body="sent once", client_id="again")
    start = Event.objects.order_by("-position").values_list("position", flat=True).first()
    results, calls = _post_while_held(
        monkeypatch, room, ana, [("lead", None), ("before", None), ("sent once", "again"), ("after", None)]
    )
    assert calls == [1, 3]  # the batch of three failed on the repeat, and each was written alone
    assert (results["sent once"][0].id, results["sent once"][1]) == (original.id, False)
    assert results["before"][1] and results["after"][1]
    bodies = list(Event.objects.filter(position__gt=start, type=Event.MESSAGE).order_by("position")
                  .values_list("data__message__body", flat=True))
    assert sorted(bodies[1:]) == ["after", "before"] and bodies[0] == "lead"
    positions = list(Event.objects.filter(position__gt=start).order_by("position").values_list("position", flat=True))
    assert positions == list(range(start + 1, start + 4))  # the failed batch left no gap
