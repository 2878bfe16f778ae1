"""Faults: nothing lost, nothing hangs.

- The database going away is a 503 JSON answer with Retry-After, wherever it
  is met (a view, or a middleware looking up a token or a session).
- kill -9 of a worker while polls wait and sends are in flight: clients that
  retry as ours do (same cursor, same client_id) end with every message once.
- PostgreSQL going away mid-traffic: 503s, no 500s, no hangs, recovery by
  itself, and no message acknowledged with 201 is lost. By default the test
  cuts off only its own database (every connection terminated, new ones
  refused for 2 s), which is the outage as the app sees it and harms no one
  else on a shared server. PARLEY_TEST_PG_RESTART=1 restarts the cluster
  instead (pg_ctlcluster); run it on its own, since a restart also breaks
  the connections the rest of a test session holds (conftest's postgres_url
  keeps one for its final DROP DATABASE).
- Abandoned polls leave no waiter, greenlet or file descriptor behind
  (bench/abandoned.py measures memory over 10,000).
- SIGTERM answers waiting polls at once.
- Without gevent (a sync worker) polls answer within a second, with a warning.

Real servers log a "parley-stats" line (PARLEY_STATS_SECONDS, parley/server/worker.py)
that these tests read for waiting polls, greenlets and file descriptors.
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid

import pytest
from django.db import InterfaceError, OperationalError

from tests.live import (
    PASSWORD,
    ROOT,
    live_stats,
    server_env,
    stats_lines,
    wait_for,
    worker_pids,
)

# Helpers ----------------------------------------------------------------------------------------


def make_people(database_url, *names):
    """Create active users with API tokens straight in the server's database (no slow password hashing per request)."""
    code = (
        "import json, uuid\n"
        "from users.models import User\n"
        "from users.services import token_create\n"
        "out = []\n"
        f"for name in {list(names)!r}:\n"
        "    email = f'{name.lower()}-{uuid.uuid4().hex[:8]}@example.com'\n"
        f"    user = User.objects.create_user(email, {PASSWORD!r}, first_name=name, last_name='Live')\n"
        "    out.append({'email': email, 'token': token_create(user=user), 'id': user.id, 'name': name})\n"
        "print(json.dumps(out))\n"
    )
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                          env=server_env(database_url), capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


class Outcome:
    """One request's fate: status (None when the connection failed), JSON body, how long it took."""

    __slots__ = ("kind", "status", "body", "content_type", "seconds", "error")

    def __init__(self, kind, status, body, content_type, seconds, error=None):
        self.kind, self.status, self.body = kind, status, body
        self.content_type, self.seconds, self.error = content_type, seconds, error

    def __repr__(self):
        return f"<{self.kind} {self.status} {self.seconds:.1f}s {self.error or ''}>"


def call(base_url, token, method, path, data=None, timeout=30, kind=None):
    body = None if data is None else json.dumps(data).encode()
    request = urllib.request.Request(base_url + path, data=body, method=method, headers={
        "Content-Type": "application/json", "Authorization": f"Token {token}"})
    started = time.monotonic()
    try:
        try:
            answer = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as error:
            answer = error
        with answer:
            raw = answer.read()
            status, content_type = answer.status, answer.headers.get("Content-Type", "")
    except (OSError, http.client.HTTPException) as error:  # reset, refused, cut short, timed out
        return Outcome(kind or method, None, None, "", time.monotonic() - started, repr(error))
    try:
        parsed = json.loads(raw) if raw else None
    except ValueError:
        parsed = None
    return Outcome(kind or method, status, parsed, content_type, time.monotonic() - started)


def run_database_url(request):
    """This run's database kind, as the live_server_url fixture chooses it."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("sqlite_url")


# In-process: where a database outage is met ----------------------------------------------------


@pytest.fixture
def lenient_client(make_user, api):
    """An API client that gets Django's error answers instead of exceptions."""
    client = api(make_user())
    client.client.raise_request_exception = False
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("error", [OperationalError("server closed the connection unexpectedly"),
                                   InterfaceError("connection already closed")])
def test_a_database_outage_in_a_view_is_a_503_json_with_retry_after(lenient_client, monkeypatch, error):
    from rooms import polling

    def down():
        raise error

    monkeypatch.setattr(polling, "stream_state", down)
    response = lenient_client.get("/api/events")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert response["Retry-After"] == "2"
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_a_database_outage_met_by_the_token_middleware_is_a_503_json(lenient_client, monkeypatch):
    from users.models import User

    def down(key):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(User.objects, "for_token", down)
    response = lenient_client.get("/api/me")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "unavailable"


@pytest.mark.django_db
def test_a_database_outage_on_a_page_is_a_503_not_a_500(client, make_user, monkeypatch):
    from rooms import selectors

    def down(*args, **kwargs):
        raise OperationalError("the database system is shutting down")

    client.force_login(make_user())
    client.raise_request_exception = False
    monkeypatch.setattr(selectors, "rooms_for", down)
    response = client.get("/rooms/")
    assert response.status_code == 503
    assert response["Retry-After"] == "2"


def test_other_server_errors_stay_500s(rf, settings):
    from parley.api import handler500

    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        response = handler500(rf.get("/api/me"))
    assert response.status_code == 500


# Traffic that retries as the real client does ---------------------------------------------------


class Traffic:
    """Senders and pollers in one room, each retrying like the browser client (static/js/parley/).

    A send that fails is resent with the same client_id until it gets 200 or
    201; a poll that fails is resent with the same cursor. Every outcome is kept.
    """

    def __init__(self, base_url, people, slug, *, messages_per_sender, senders_per_person=2,
                 pollers_per_person=2, poll_timeout=5, pause=0.03):
        self.base_url, self.people, self.slug = base_url, people, slug
        self.messages_per_sender = messages_per_sender
        self.poll_timeout, self.pause = poll_timeout, pause
        self.outcomes = []
        self.acked = {}  # client_id -> (message id, status)
        self.seen = {}  # poller name -> [message ids, in the order delivered]
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.senders = [threading.Thread(target=self._send, args=(person, f"{person['name']}{n}"), daemon=True)
                        for person in people for n in range(senders_per_person)]
        self.pollers = []
        for person in people:
            for n in range(pollers_per_person):
                name = f"{person['name']}-tab{n}"
                cursor = call(base_url, person["token"], "GET", "/api/events").body["cursor"]
                self.seen[name] = []
                self.pollers.append(threading.Thread(target=self._poll, args=(person, name, cursor), daemon=True))

    def start(self):
        for thread in self.pollers + self.senders:
            thread.start()
        return self

    def _record(self, outcome):
        with self.lock:
            self.outcomes.append(outcome)

    def _send(self, person, tag):
        for n in range(self.messages_per_sender):
            client_id, delay = f"{tag}-{n}-{uuid.uuid4().hex[:6]}", 0.1
            while not self.stop.is_set():
                outcome = call(self.base_url, person["token"], "POST", f"/api/rooms/{self.slug}/messages",
                               {"body": f"{tag} says {n}", "client_id": client_id}, timeout=15, kind="send")
                self._record(outcome)
                if outcome.status in (200, 201):
                    with self.lock:
                        self.acked[client_id] = (outcome.body["message"]["id"], outcome.status)
                    break
                time.sleep(delay * random.uniform(1, 1.5))  # back off, then resend the same client_id
                delay = min(delay * 2, 1)
            time.sleep(self.pause)

    def _poll(self, person, name, cursor):
        while not self.stop.is_set():
            outcome = call(self.base_url, person["token"], "GET",
                           f"/api/events?cursor={cursor}&timeout={self.poll_timeout}",
                           timeout=self.poll_timeout + 15, kind="poll")
            self._record(outcome)
            if outcome.status != 200:
                time.sleep(0.2 * random.uniform(1, 1.5))
                continue
            cursor = outcome.body["cursor"]
            ids = [event["message"]["id"] for event in outcome.body["events"] if event["type"] == "message"]
            with self.lock:
                self.seen[name] += ids

    def sent_count(self):
        with self.lock:
            return len(self.acked)

    def finish(self, timeout=60):
        """Wait for every send to be acknowledged and every poller to have seen them all; then stop."""
        total = len(self.senders) * self.messages_per_sender
        for thread in self.senders:
            thread.join(timeout)
        assert self.sent_count() == total, f"only {self.sent_count()} of {total} sends acknowledged"
        expected = {message_id for message_id, _ in self.acked.values()}

        def caught_up():
            with self.lock:
                return all(expected <= set(ids) for ids in self.seen.values())

        wait_for(caught_up, timeout, lambda: "pollers missed messages: " + repr(
            {name: sorted(expected - set(ids)) for name, ids in self.seen.items()}))
        self.stop.set()
        for thread in self.pollers:
            thread.join(self.poll_timeout + 20)
        sends = [o for o in self.outcomes if o.kind == "send"]
        print(f"traffic: {len(sends)} sends for {total} messages, slowest {max(o.seconds for o in sends):.2f}s, "
              f"{sum(o.kind == 'poll' for o in self.outcomes)} polls, failures: "
              f"{[o for o in self.outcomes if o.status not in (200, 201)]}")
        return expected

    def assert_exactly_once(self, expected):
        for name, ids in self.seen.items():
            assert len(ids) == len(set(ids)), f"{name} got duplicates"
            assert set(ids) == expected, name
            assert ids == sorted(ids), f"{name} got messages out of order"
        # The room's history holds each client_id once.
        person = self.people[0]
        history = call(self.base_url, person["token"], "GET", f"/api/rooms/{self.slug}/messages?limit=200")
        assert history.status == 200, history.body
        client_ids = [message["client_id"] for message in history.body["messages"]]
        assert sorted(client_ids) == sorted(self.acked)


def open_room(base_url, people):
    owner, *others = people
    room = call(base_url, owner["token"], "POST", "/api/rooms", {"name": f"faults {uuid.uuid4().hex[:8]}"})
    assert room.status == 201, room
    slug = room.body["room"]["slug"]
    for person in others:
        assert call(base_url, person["token"], "POST", f"/api/rooms/{slug}/join").status == 200
    return slug


# Worker killed ---------------------------------------------------------------------------------------


def park_polls(base_url, people, per_person, timeout):
    """Polls that nothing will wake (their people share no room with anyone): they wait until cut or timed out."""
    outcomes, threads = [], []
    for person in people:
        cursor = call(base_url, person["token"], "GET", "/api/events").body["cursor"]
        for _ in range(per_person):
            threads.append(threading.Thread(target=lambda token=person["token"], cursor=cursor: outcomes.append(
                call(base_url, token, "GET", f"/api/events?cursor={cursor}&timeout={timeout}",
                     timeout=timeout + 15, kind="quiet poll")), daemon=True))
    for thread in threads:
        thread.start()
    return threads, outcomes


@pytest.mark.server
@pytest.mark.postgres
def test_kill_9_of_a_worker_loses_and_duplicates_nothing(postgres_url, start_server):
    server = start_server(postgres_url, workers=2, PARLEY_STATS_SECONDS=0.2)
    people = make_people(postgres_url, "Ana", "Ben")
    slug = open_room(server.url, people)
    # Twenty polls that stay parked, so that the worker killed surely holds waiting polls: the traffic's own
    # polls return every few milliseconds and may all be between requests at the moment of the kill.
    quiet, parked = make_people(postgres_url, "Cy", "Di", "Ed", "Flo"), 20
    quiet_threads, quiet_outcomes = park_polls(server.url, quiet, per_person=parked // len(quiet), timeout=15)
    traffic = Traffic(server.url, people, slug, messages_per_sender=15, pollers_per_person=3).start()

    # Kill the worker holding the most waiting polls, while sends are in flight. Once twenty polls wait, at
    # least fourteen are quiet ones (the traffic has six pollers), and that worker holds at least four of them.
    wait_for(lambda: traffic.sent_count() >= 15, 30, "traffic did not start")

    def enough_waiting():
        stats = live_stats(server)
        return sum(worker.get("waiting", 0) for worker in stats.values()) >= parked and stats

    stats = wait_for(enough_waiting, 10, lambda: f"the quiet polls did not park: {live_stats(server)}")
    victim = max(stats, key=lambda pid: stats[pid]["waiting"])
    os.kill(victim, signal.SIGKILL)
    # gunicorn starts a new worker in its place.
    wait_for(lambda: len(worker_pids(server.process.pid)) == 2 and victim not in worker_pids(server.process.pid),
             20, "gunicorn did not replace the worker")

    expected = traffic.finish()
    traffic.assert_exactly_once(expected)
    for thread in quiet_threads:
        thread.join(30)
    cut = [outcome for outcome in quiet_outcomes if outcome.status is None]
    print(f"the kill cut {len(cut)} of {len(quiet_outcomes)} quiet polls")
    assert cut, f"the kill cut no waiting poll: {quiet_outcomes}"
    everything = traffic.outcomes + quiet_outcomes
    assert all(outcome.status in (None, 200, 201) for outcome in everything), [
        o for o in everything if o.status not in (None, 200, 201)]


# Database restarted ------------------------------------------------------------------------------------


def real_restart_wanted():
    if not os.environ.get("PARLEY_TEST_PG_RESTART"):
        return False
    assert shutil.which("pg_ctlcluster"), "PARLEY_TEST_PG_RESTART=1 needs a local Debian cluster (pg_ctlcluster)"
    return True


def restart_postgres():
    """Restart the local cluster: the real outage (only on request: it cuts every session's connections)."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=60)


def cut_off_database(url, seconds):
    """Refuse and drop every connection to this test's database for a while (touches no other database)."""
    import psycopg2

    from tests.conftest import PG_ADMIN_URL

    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS false")
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [name])
            time.sleep(seconds)
            cursor.execute(f"ALTER DATABASE {name} WITH ALLOW_CONNECTIONS true")
    finally:
        admin.close()


@pytest.mark.server
@pytest.mark.postgres
def test_postgres_going_away_mid_traffic_is_503s_then_recovery_with_nothing_lost(postgres_url, start_server):
    server = start_server(postgres_url, workers=2)
    people = make_people(postgres_url, "Ana", "Ben")
    slug = open_room(server.url, people)
    traffic = Traffic(server.url, people, slug, messages_per_sender=30, poll_timeout=4, pause=0.05).start()

    wait_for(lambda: traffic.sent_count() >= 15, 30, "traffic did not start")
    if real_restart_wanted():
        restart_postgres()
    else:
        cut_off_database(postgres_url, seconds=2)
    # The app recovers by itself: the next requests are served.
    wait_for(lambda: call(server.url, people[0]["token"], "GET", "/healthz", timeout=5).status == 200, 30,
             "the app did not recover")

    expected = traffic.finish(timeout=90)
    traffic.assert_exactly_once(expected)
    failed = [outcome for outcome in traffic.outcomes if outcome.status not in (200, 201)]
    assert failed, "the outage should have been felt"
    for outcome in failed:
        # Clean failures only: 503 JSON saying so, never a 500, an HTML page or a dropped connection.
        assert outcome.status == 503, outcome
        assert outcome.content_type == "application/json" and outcome.body, outcome
        assert outcome.body["error"]["code"] == "unavailable"
    # Nothing hung: sends answer in seconds, polls within their timeout and a little.
    assert max(o.seconds for o in traffic.outcomes if o.kind == "send") < 10
    assert max(o.seconds for o in traffic.outcomes if o.kind == "poll") < traffic.poll_timeout + 5


# Abandoned polls ------------------------------------------------------------------------------------


def abandon_polls(port, token, cursor, count, timeout):
    """Open a connection, send a poll, and vanish; half with FIN, half with RST."""
    request = (f"GET /api/events?cursor={cursor}&timeout={timeout} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Token {token}\r\n\r\n").encode()
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        if n % 2:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()


@pytest.mark.server
def test_abandoned_polls_leave_no_waiter_greenlet_or_descriptor_behind(request, start_server):
    database_url = run_database_url(request)
    pool = 4  # on PostgreSQL the pool (config/wsgi.py) keeps up to this many connections open, on purpose
    count, timeout = 1000, 5
    # One user from one address abandons them all: lift the caps on waiting polls that would refuse most.
    server = start_server(database_url, PARLEY_STATS_SECONDS=0.5, PARLEY_DB_CONNECTIONS_PER_WORKER=pool,
                          PARLEY_POLL_CONCURRENCY=count, PARLEY_POLL_CONCURRENCY_IP="off")
    kept = pool if database_url.startswith("postgres") else 0
    (person,) = make_people(database_url, "Ana")
    cursor = call(server.url, person["token"], "GET", "/api/events").body["cursor"]
    (pid,) = worker_pids(server.process.pid)
    # Settle first: one ordinary poll (it starts the background loops), then a stats line surely taken after it.
    call(server.url, person["token"], "GET", f"/api/events?cursor={cursor}&timeout=0")
    lines = stats_lines(server.log_path, pid)
    wait_for(lambda: stats_lines(server.log_path, pid) >= lines + 2, 10, "no fresh stats line")
    baseline = live_stats(server)[pid]

    abandon_polls(server.port, person["token"], cursor, count, timeout)
    # They do wait (how many at once depends on how fast this machine serves them).
    peak = wait_for(lambda: (live_stats(server)[pid]["waiting"] >= 100) and live_stats(server)[pid],
                    30, lambda: f"the abandoned polls did not wait: {live_stats(server)}")

    def settled():
        stats = live_stats(server)[pid]
        return (stats["waiting"] == 0 and stats["greenlets"] <= baseline["greenlets"] + 2
                and stats["fds"] <= baseline["fds"] + kept + 2) and stats

    wait_for(settled, 90, lambda: f"left behind: {live_stats(server)[pid]} vs {baseline}")
    time.sleep(1.1)  # two more stats lines: still nothing left
    after = wait_for(settled, 1, lambda: f"left behind: {live_stats(server)[pid]} vs {baseline}")
    # And the server answers as before.
    assert call(server.url, person["token"], "GET", f"/api/events?cursor={cursor}&timeout=0").status == 200
    print(f"abandoned polls: baseline {baseline}, peak {peak}, after {after}")


# Graceful shutdown ---------------------------------------------------------------------------------------


@pytest.mark.server
def test_sigterm_answers_a_waiting_poll_at_once(sqlite_url, start_server):
    server = start_server(sqlite_url, PARLEY_STATS_SECONDS=0.1)
    (person,) = make_people(sqlite_url, "Ana")
    cursor = call(server.url, person["token"], "GET", "/api/events").body["cursor"]
    answers = []
    poll = threading.Thread(target=lambda: answers.append(call(
        server.url, person["token"], "GET", f"/api/events?cursor={cursor}&timeout=50", timeout=60)))
    poll.start()
    wait_for(lambda: any(s.get("waiting") for s in live_stats(server).values()), 10, "the poll is not waiting")

    signalled = time.monotonic()
    server.process.send_signal(signal.SIGTERM)
    poll.join(10)
    assert answers and answers[0].status == 200, answers
    assert answers[0].body["events"] == []
    assert time.monotonic() - signalled < 2
    server.process.wait(15)


# No gevent -------------------------------------------------------------------------------------------------


@pytest.mark.server
def test_sync_workers_get_short_polls_and_a_warning_instead_of_starving(sqlite_url, start_server):
    server = start_server(sqlite_url, GUNICORN_CMD_ARGS="--worker-class sync")
    ana, ben = make_people(sqlite_url, "Ana", "Ben")
    slug = open_room(server.url, [ana, ben])
    cursors = {p["name"]: call(server.url, p["token"], "GET", "/api/events").body["cursor"] for p in (ana, ben)}

    # Three polls asking for 25 s and a send, at once, on one single-threaded worker.
    outcomes = []
    threads = [threading.Thread(target=lambda p=p: outcomes.append(call(
        server.url, p["token"], "GET", f"/api/events?cursor={cursors[p['name']]}&timeout=25", timeout=60)))
        for p in (ana, ben, ben)]
    for thread in threads:
        thread.start()
    sent = call(server.url, ana["token"], "POST", f"/api/rooms/{slug}/messages", {"body": "hello", "client_id": "s1"})
    for thread in threads:
        thread.join(30)
    assert sent.status == 201 and sent.seconds < 5
    assert [o.status for o in outcomes] == [200, 200, 200]
    assert max(o.seconds for o in outcomes) < 5, outcomes

    # Short polls still deliver everything: Ben's next polls bring the message.
    cursor, got = cursors["Ben"], []
    deadline = time.monotonic() + 10
    while not got and time.monotonic() < deadline:
        outcome = call(server.url, ben["token"], "GET", f"/api/events?cursor={cursor}&timeout=25")
        assert outcome.status == 200 and outcome.seconds < 3
        cursor = outcome.body["cursor"]
        got = [e["message"]["body"] for e in outcome.body["events"] if e["type"] == "message"]
    assert got == ["hello"]

    log = server.log_path.read_text()
    assert log.count("short-poll mode") == 1  # one worker, one warning
