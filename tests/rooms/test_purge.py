"""Retention: the purge command, per-room overrides, what purged messages leave behind, ephemeral rooms."""
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.utils import timezone

from rooms import maintenance, messaging, retention, services, stream
from rooms.management.commands import purge_messages as purge_command
from rooms.models import Event, Message, Stream
from tests.live import ROOT, Http, server_env

pytestmark = pytest.mark.django_db


def post(room, author, count, prefix="message"):
    return [messaging.message_post(room=room, author=author, body=f"{prefix} {n}")[0] for n in range(count)]


def ids_in(room):
    return list(Message.objects.filter(room=room).order_by("id").values_list("id", flat=True))


def purge(*args, **options):
    out = io.StringIO()
    call_command("purge_messages", *args, stdout=out, stderr=out, **options)
    return out.getvalue()


# What is kept ------------------------------------------------------------------------


def test_each_room_keeps_its_newest_messages_by_its_own_or_the_global_count(make_user, room_factory, settings):
    settings.PARLEY_RETENTION_MESSAGES = 4
    ana = make_user("Ana")
    default = room_factory(ana, "default")
    override = room_factory(ana, "override", retention_messages=7)
    small = room_factory(ana, "small")
    post(default, ana, 10)
    post(override, ana, 10)
    post(small, ana, 4)
    before = {room.slug: ids_in(room) for room in (default, override, small)}

    report = retention.purge_messages()

    assert report == {default.slug: 6, override.slug: 3}
    assert ids_in(default) == before[default.slug][-4:]
    assert ids_in(override) == before[override.slug][-7:]
    assert ids_in(small) == before[small.slug]
    assert retention.purge_messages() == {}, "a second run finds nothing"


def test_the_day_limit_removes_older_messages_even_within_the_count(make_user, room_factory, settings):
    settings.PARLEY_RETENTION_DAYS = 30
    now = timezone.now()
    ana = make_user("Ana")
    default = room_factory(ana, "thirty days")
    override = room_factory(ana, "two days", retention_days=2)
    for room in (default, override):
        Message.objects.bulk_create([
            Message(room=room, author=ana, body=f"{age} days old", created_at=now - timedelta(days=age, seconds=1))
            for age in (40, 31, 10, 3, 1, 0)
        ])

    assert retention.purge_messages(now=now) == {default.slug: 2, override.slug: 4}

    def bodies(room):
        return list(Message.objects.filter(room=room).order_by("id").values_list("body", flat=True))

    assert bodies(default) == ["10 days old", "3 days old", "1 days old", "0 days old"]
    assert bodies(override) == ["1 days old", "0 days old"]


def test_ephemeral_rooms_are_not_the_count_purges_business(make_user, room_factory, settings):
    settings.PARLEY_RETENTION_MESSAGES = 2
    ana = make_user("Ana")
    room = room_factory(ana, is_ephemeral=True)
    post(room, ana, 5)
    assert retention.purge_messages() == {}
    assert len(ids_in(room)) == 5  # purge_transient's, by age (below)


# What purged messages leave behind ------------------------------------------------------


def test_purged_messages_disappear_from_history_and_search(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, retention_messages=3)
    for n in range(8):
        messaging.message_post(room=room, author=ana, body=f"needle number{n}")
    client = api(ana)
    assert len(client.get("/api/search", {"q": "needle"}).json()["messages"]) == 8

    retention.purge_messages()

    history = client.get(f"/api/rooms/{room.slug}/messages").json()
    assert [m["body"] for m in history["messages"]] == ["needle number5", "needle number6", "needle number7"]
    assert history["has_more"] is False
    found = client.get("/api/search", {"q": "needle"}).json()["messages"]
    assert sorted(m["body"] for m in found) == ["needle number5", "needle number6", "needle number7"]
    assert client.get("/api/search", {"q": "number0"}).json()["messages"] == []
    assert not Event.objects.filter(type=Event.MESSAGE, data__message__body="needle number0").exists()


def test_a_cursor_from_before_purged_messages_gets_410_and_one_after_them_does_not(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, retention_messages=2)
    client = api(ana)
    old_cursor = int(client.get("/api/events").json()["cursor"])
    messages = post(room, ana, 5)
    position = dict(Event.objects.filter(message__in=messages).values_list("message_id", "position"))
    last_purged = position[messages[2].id]

    retention.purge_messages()

    assert stream.stream_state()[1] == last_purged
    for cursor in (old_cursor, position[messages[0].id], last_purged - 1):
        response = client.get("/api/events", {"cursor": str(cursor), "timeout": "0"})
        assert response.status_code == 410, cursor
        assert response.json()["error"]["code"] == "cursor_expired"
    # A client that had seen the purged ones still gets the rest.
    response = client.get("/api/events", {"cursor": str(last_purged), "timeout": "0"})
    assert response.status_code == 200
    kept = [e["message"]["id"] for e in response.json()["events"] if e["type"] == "message"]
    assert kept == [messages[3].id, messages[4].id]


def test_each_batch_is_bounded_and_marks_the_stream_in_its_own_transaction(make_user, room_factory, monkeypatch):
    ana = make_user("Ana")
    room = room_factory(ana, retention_messages=5)
    messages = post(room, ana, 28)
    position = dict(Event.objects.filter(message__in=messages).values_list("message_id", "position"))
    real_delete, real_mark = retention._delete_messages, stream.mark_pruned
    outside = len(connection.atomic_blocks)  # pytest-django's test transaction
    steps = []

    def delete(ids):
        steps.append(("delete", list(ids), len(connection.atomic_blocks)))
        return real_delete(ids)

    def mark(last, *, rooms=None):
        steps.append(("mark", last, len(connection.atomic_blocks)))
        assert rooms == {room.id: last}
        return real_mark(last, rooms=rooms)

    monkeypatch.setattr(retention, "_delete_messages", delete)
    monkeypatch.setattr(stream, "mark_pruned", mark)
    assert retention.purge_messages(batch_size=4) == {room.slug: 23}

    batches = [step[1] for step in steps[::2]]
    assert [len(batch) for batch in batches] == [4, 4, 4, 4, 4, 3]
    assert [i for batch in batches for i in batch] == [m.id for m in messages[:23]]
    # Each batch: its deletes, then the mark of its last position, inside one atomic block of its own.
    assert steps[1::2] == [("mark", max(position[i] for i in batch), outside + 1) for batch in batches]
    assert all(step[0] == "delete" and step[2] == outside + 1 for step in steps[::2])
    assert Stream.objects.get(id=1).pruned_through == position[messages[22].id]
    room.refresh_from_db()
    assert room.pruned_through == position[messages[22].id]


def test_a_batch_gathers_several_rooms_and_the_report_counts_each(make_user, room_factory, monkeypatch):
    ana = make_user("Ana")
    rooms = [room_factory(ana, f"room {n}", retention_messages=2) for n in range(3)]
    expired = [[m.id for m in post(room, ana, 5)][:3] for room in rooms]
    real_delete = retention._delete_messages
    batches = []
    monkeypatch.setattr(retention, "_delete_messages", lambda ids: batches.append(list(ids)) or real_delete(ids))

    assert retention.purge_messages(batch_size=4) == {room.slug: 3 for room in rooms}
    assert batches == [expired[0] + expired[1][:1], expired[1][1:] + expired[2][:2], expired[2][2:]]


# The command --------------------------------------------------------------------------


def test_dry_run_prints_each_room_and_deletes_nothing(make_user, room_factory):
    ana = make_user("Ana")
    first = room_factory(ana, "first", retention_messages=2)
    second = room_factory(ana, "second", retention_messages=3)
    post(first, ana, 5)
    post(second, ana, 4)
    counts = Message.objects.count(), Event.objects.count(), Stream.objects.get(id=1).pruned_through

    out = purge("--dry-run")

    assert f"Would delete 3 message(s) in {first.slug}" in out
    assert f"Would delete 1 message(s) in {second.slug}" in out
    assert "Would delete 4 message(s) in 2 room(s)." in out
    assert (Message.objects.count(), Event.objects.count(), Stream.objects.get(id=1).pruned_through) == counts


def test_verbosity_two_lists_the_rooms_and_one_gives_the_total(make_user, room_factory):
    ana = make_user("Ana")
    first = room_factory(ana, "first", retention_messages=1)
    second = room_factory(ana, "second", retention_messages=1)
    post(first, ana, 3)
    post(second, ana, 2)

    out = purge(verbosity=2)
    assert f"Deleted 2 message(s) in {first.slug}" in out
    assert f"Deleted 1 message(s) in {second.slug}" in out
    assert "Deleted 3 message(s) in 2 room(s)." in out

    post(first, ana, 2)
    out = purge()
    assert out.strip() == "Deleted 2 message(s) in 1 room(s)."
    assert purge(verbosity=0) == ""


@pytest.mark.django_db(transaction=True)  # the command closes its connection between rounds
def test_every_repeats_the_purge_until_stopped(make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, retention_messages=1)
    post(room, ana, 3)

    class Stop(Exception):
        pass

    rounds = []

    def sleep(seconds):
        rounds.append(seconds)
        if len(rounds) == 1:
            post(room, ana, 2)  # people keep posting between runs
            return
        raise Stop

    with mock.patch.object(purge_command.time, "sleep", side_effect=sleep), pytest.raises(Stop):
        purge("--every", "300", verbosity=2)
    assert rounds == [300, 300]
    assert len(ids_in(room)) == 1


@pytest.mark.django_db(transaction=True)  # the command closes its connection between rounds
def test_every_survives_a_database_error(make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, retention_messages=1)
    post(room, ana, 3)
    real = retention.purge_messages
    calls = iter([OperationalError("server closed the connection"), None, KeyboardInterrupt])

    def flaky(**kwargs):
        failure = next(calls)
        if failure is not None:
            raise failure
        return real(**kwargs)

    out = io.StringIO()
    with mock.patch.object(retention, "purge_messages", side_effect=flaky), \
            mock.patch.object(purge_command.time, "sleep"), pytest.raises(KeyboardInterrupt):
        call_command("purge_messages", "--every", "5", stdout=out, stderr=out)
    assert "Purge failed (server closed the connection); trying again in 5 s." in out.getvalue()
    assert "Deleted 2 message(s) in 1 room(s)." in out.getvalue()
    assert len(ids_in(room)) == 1


def test_without_every_a_database_error_is_an_error(monkeypatch):
    monkeypatch.setattr(retention, "purge_messages", mock.Mock(side_effect=OperationalError("down")))
    with pytest.raises(OperationalError):
        purge()


@pytest.mark.parametrize("args", [["--every", "0"], ["--every", "-3"], ["--batch-size", "0"]])
def test_nonsense_options_are_refused(db, args):
    with pytest.raises(CommandError):
        purge(*args)


# Per-room overrides through the API -----------------------------------------------------------


def test_the_creator_sets_and_clears_a_rooms_retention(api, make_user, room_factory, settings):
    settings.PARLEY_RETENTION_MESSAGES = 500
    settings.PARLEY_RETENTION_DAYS = None
    ana = make_user("Ana")
    room = room_factory(ana)
    client = api(ana)
    response = client.patch(f"/api/rooms/{room.slug}", {"retention_messages": 20, "retention_days": 7})
    assert response.status_code == 200, response.content
    assert (response.json()["room"]["retention_messages"], response.json()["room"]["retention_days"]) == (20, 7)
    room.refresh_from_db()
    assert (room.retention_messages, room.retention_days) == (20, 7)

    post(room, ana, 25)
    assert retention.purge_messages() == {room.slug: 5}

    response = client.patch(f"/api/rooms/{room.slug}", {"retention_messages": None})
    assert response.status_code == 200
    assert response.json()["room"]["retention_messages"] == 500  # back to the global setting
    room.refresh_from_db()
    assert (room.retention_messages, room.retention_days) == (None, 7)


def test_only_the_creator_may_change_retention(api, make_user, room_factory):
    ana, ben, eve = make_user("Ana"), make_user("Ben"), make_user("Eve")
    public = room_factory(ana, "public")
    private = room_factory(ana, "private", is_private=True)
    services.room_join(room=public, user=ben)
    response = api(ben).patch(f"/api/rooms/{public.slug}", {"retention_messages": 1})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert api(eve).patch(f"/api/rooms/{public.slug}", {"retention_days": 1}).status_code == 403
    assert api(eve).patch(f"/api/rooms/{private.slug}", {"retention_days": 1}).status_code == 404
    public.refresh_from_db()
    assert (public.retention_messages, public.retention_days) == (None, None)


@pytest.mark.parametrize("data", [
    {"retention_messages": "12"}, {"retention_messages": 1.5}, {"retention_messages": True},
    {"retention_messages": 0}, {"retention_messages": -1}, {"retention_messages": 1_000_001},
    {"retention_messages": [5]}, {"retention_days": "7"}, {"retention_days": False},
    {"retention_days": 0}, {"retention_days": 36_501}, {"retention_days": {"n": 1}},
])
def test_bad_retention_values_are_400(api, make_user, room_factory, data):
    ana = make_user("Ana")
    room = room_factory(ana)
    response = api(ana).patch(f"/api/rooms/{room.slug}", data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) == set(data)
    room.refresh_from_db()
    assert (room.retention_messages, room.retention_days) == (None, None)


# Ephemeral rooms and other transient data --------------------------------------------------------


def test_ephemeral_messages_are_gone_from_storage_within_a_minute(make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, is_ephemeral=True)
    lasting = room_factory(ana)
    [message] = post(room, ana, 1, prefix="whisper")
    post(lasting, ana, 1)
    sent = message.created_at
    # The maintenance loop runs at least every MAINTENANCE_GAP_SECONDS, so a run
    # that deletes everything older than the gap-shortened age comes within the minute.
    deadline = sent + timedelta(seconds=settings.PARLEY_EPHEMERAL_SECONDS)
    assert retention.ephemeral_cutoff(deadline - timedelta(seconds=retention.MAINTENANCE_GAP_SECONDS)) >= sent
    assert retention.MAINTENANCE_GAP_SECONDS >= maintenance.MAINTENANCE_SECONDS + 2

    assert retention.purge_transient(now=sent + timedelta(seconds=5))["ephemeral_messages"] == 0
    assert Message.objects.filter(id=message.id).exists()

    run_at = deadline - timedelta(seconds=retention.MAINTENANCE_GAP_SECONDS - 0.01)
    assert retention.purge_transient(now=run_at)["ephemeral_messages"] == 1
    assert not Message.objects.filter(id=message.id).exists()
    assert not Event.objects.filter(message_id=message.id).exists()
    assert not Event.objects.filter(data__message__body="whisper 0").exists(), "the event JSON held the body"
    assert Message.objects.filter(room=lasting).count() == 1
    assert Stream.objects.get(id=1).pruned_through == 0, "no cursor expires over ephemeral messages"


def test_purge_transient_clears_old_typing_and_other_events(make_user, room_factory):
    ana, ben = make_user("Ana"), make_user("Ben")
    room = room_factory(ana)
    services.typing_notify(room=room, user=ana)
    services.room_join(room=room, user=ben)
    [message] = post(room, ana, 1)
    now = timezone.now()

    report = retention.purge_transient(now=now + timedelta(seconds=settings.PARLEY_TYPING_SECONDS + 1))
    assert report == {"ephemeral_messages": 0, "typing_events": 1, "other_events": 0}

    later = now + timedelta(seconds=settings.PARLEY_EVENT_RETENTION_SECONDS + 1)
    report = retention.purge_transient(now=later)
    assert report["other_events"] == 4  # the room's creation and Ben's join, each with its membership event
    assert list(Event.objects.values_list("message_id", flat=True)) == [message.id]
    assert Stream.objects.get(id=1).pruned_through > 0


def test_every_app_process_clears_transient_data_in_its_maintenance_loop():
    """The promise 'gone within a minute' rests on this loop: it runs purge_transient every <= 12 s."""
    from rooms import presence

    class Stop(Exception):
        pass

    naps = []

    def sleep(seconds):
        naps.append(seconds)
        if len(naps) == 3:
            raise Stop

    with mock.patch.object(maintenance.time, "sleep", side_effect=sleep), \
            mock.patch.object(presence, "flush_seen"), mock.patch.object(presence, "sweep_offline"), \
            mock.patch.object(retention, "purge_transient") as purge_transient, \
            mock.patch.object(maintenance, "connection"), pytest.raises(Stop):
        maintenance.maintenance_loop()
    assert purge_transient.call_count == 2
    assert all(0 < nap <= retention.MAINTENANCE_GAP_SECONDS for nap in naps)


# Purging while people post ------------------------------------------------------------------------


@pytest.fixture
def live_database_url(request):
    """This run's kind of database, as a file or server the real processes share."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("sqlite_url")


KEEP = 20
BACKLOG = 300

SETUP = """
import json, sys, uuid
import django
django.setup()
from rooms import messaging, services
from users.models import User
from users.services import token_create
# Two users with tokens, made here: signing up over HTTP spends seconds on password hashing.
users = [User.objects.create(email=f"{name}-{uuid.uuid4().hex}@example.com", first_name=name, last_name="Live")
         for name in ("Ana", "Ben")]
room = services.room_create(creator=users[0], name=f"busy {uuid.uuid4().hex}")
services.room_join(room=room, user=users[1])
# A backlog, posted the way the app posts (with its events), faster than over HTTP.
ids = [messaging.message_post(room=room, author=users[0], body=f"seed {n}")[0].id for n in range(int(sys.argv[1]))]
print(json.dumps({"slug": room.slug, "tokens": [token_create(user=user) for user in users], "ids": ids}))
"""


def run(database_url, *args, timeout=120):
    """Run a Python process on the shared database (the way cron runs the purge)."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=server_env(database_url), capture_output=True, text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.server
def test_the_purge_keeps_the_newest_window_exactly_while_people_post(start_server, live_database_url):
    """Writers post through a real server while `manage.py purge_messages` runs as its own process."""
    server = start_server(live_database_url)
    made = json.loads(run(live_database_url, "-c", SETUP, str(BACKLOG)))
    slug = made["slug"]
    ana, ben = (Http(server.url, token) for token in made["tokens"])
    # The room's creator sets its window through the API.
    assert ben.request("PATCH", f"/api/rooms/{slug}", {"retention_messages": KEEP})[0] == 403
    assert ana.request("PATCH", f"/api/rooms/{slug}", {"retention_messages": KEEP})[0] == 200
    posted = {i: (f"seed {n}", 0.0) for n, i in enumerate(made["ids"])}
    lock, stop, failures = threading.Lock(), threading.Event(), []

    def write(client, name):
        for n in range(3000):
            if stop.is_set():
                return
            status, answer = client.post(f"/api/rooms/{slug}/messages", {"body": f"{name} {n}"})
            if status != 201:
                failures.append((status, answer))
                return
            with lock:
                posted[answer["message"]["id"]] = (f"{name} {n}", time.monotonic())

    writers = [threading.Thread(target=write, args=(client, f"{name}-{k}"))
               for client, name in ((ana, "ana"), (ben, "ben")) for k in range(2)]
    for writer in writers:
        writer.start()

    def wait_for(count):
        deadline = time.monotonic() + 60
        while len(posted) < count and not failures and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(posted) >= count, failures

    try:
        wait_for(BACKLOG + 8)
        started = time.monotonic()
        output = run(live_database_url, "manage.py", "purge_messages", "-v", "2", "--batch-size", "5")
        finished = time.monotonic()
        wait_for(len(posted) + 8)  # and people go on posting after it
    finally:
        stop.set()
        for writer in writers:
            writer.join(30)
    assert not failures, failures
    during = [i for i, (_, at) in posted.items() if started < at < finished]
    assert len(during) >= 5, "the writers must have been posting while the purge ran"

    all_ids = sorted(posted)
    remaining = history(ana, slug)
    kept = [m["id"] for m in remaining]
    # Exactly a newest window: nothing kept was deleted, nothing newer than a deleted one is gone.
    assert kept == all_ids[len(all_ids) - len(kept):]
    assert KEEP <= len(kept) < len(all_ids) - BACKLOG // 2
    assert [m["body"] for m in remaining] == [posted[i][0] for i in kept], "kept messages are untouched"
    reported = re.search(rf"Deleted (\d+) message\(s\) in {re.escape(slug)}\n", output)
    assert reported and int(reported.group(1)) == len(all_ids) - len(kept), output

    # Once the posting stops, the next run leaves exactly the newest KEEP.
    run(live_database_url, "manage.py", "purge_messages")
    assert [m["id"] for m in history(ana, slug)] == all_ids[-KEEP:]


def history(client, slug):
    """Every message of the room, oldest first, paging back with before/has_more."""
    pages, before = [], ""
    for _ in range(100):
        status, page = client.get(f"/api/rooms/{slug}/messages?limit=200{before}")
        assert status == 200, page
        pages.append(page["messages"])
        if not page["has_more"]:
            return [m for page in reversed(pages) for m in page]
        before = f"&before={page['messages'][0]['id']}"
    raise AssertionError("has_more never became false")
