"""The load generator: one gevent process holding a share of the clients (and senders).

The parent (bench/cli.py) starts one or more of these with multiprocessing and
talks to each over a pipe, in this order:

    child -> ("ready", info)        every poller holds a cursor and has its next poll in flight
    parent -> ("go", start, end)    senders post from `start` to `end` (wall clock, time.time())
    child -> ("sent", records)      every send, confirmed or not, once the senders are done
    parent -> ("expect", {room: [message ids]}, deadline)
    child -> ("done", results)      when every local client has every expected message, or at deadline

Each poller is one user with its own keep-alive connection and its own cursor,
re-polling at once after each answer, as the browser client does. A message's body
carries its send time, so any process can time a delivery: delay = the time
the answer carrying it was read minus the time the POST started.
"""
import array
import bisect
import gc
import json
import random
import resource
import time
from collections import Counter

import gevent
from gevent import socket as gsocket
from gevent.event import Event
from gevent.lock import Semaphore
from gevent.pool import Pool

from .http import Connection

POLL_GRACE = 20  # seconds beyond the poll timeout before a poll counts as hung
SEND_TIMEOUT = 30
MAX_IN_FLIGHT_PER_SENDER = 8


def iter_until(first, rate, k, end):
    """Yield the schedule slots k, k+1, ... that fall before `end`."""
    while first + k / rate < end:
        yield k
        k += 1


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Received:
    """The message ids one client got in one room, sorted, with duplicates and reorderings counted."""

    __slots__ = ("ids", "duplicates", "out_of_order")

    def __init__(self):
        self.ids = array.array("q")
        self.duplicates = 0
        self.out_of_order = 0

    def add(self, message_id):
        ids = self.ids
        if not ids or message_id > ids[-1]:
            ids.append(message_id)
            return True
        at = bisect.bisect_left(ids, message_id)
        if at < len(ids) and ids[at] == message_id:
            self.duplicates += 1
            return False
        self.out_of_order += 1
        ids.insert(at, message_id)
        return True


class Runner:
    def __init__(self, pipe, config):
        self.pipe = pipe
        self.config = config
        self.host = config["host"]
        self.port = config["port"]
        self.prefix = config["run_id"] + "-"
        self.poll_timeout = config["poll_timeout"]
        self.stopping = False
        self.ready = 0
        self.ready_event = Event()
        self.ramp_gate = Semaphore(config["ramp_concurrency"])
        self.received = {}  # (client index, room slug) -> Received
        self.delays = array.array("d")  # ms, one per delivered copy
        self.recv_times = array.array("d")  # wall clock, one per delivered copy
        self.recv_ids = array.array("q")  # message id, one per delivered copy
        self.counts = Counter()
        self.poll_latency_sum = 0.0
        self.sent = []
        self._complete_pairs = set()
        self.failing = set()  # clients whose last poll failed

    # Messages from the parent. ------------------------------------------------

    def receive(self):
        gsocket.wait_read(self.pipe.fileno())
        return self.pipe.recv()

    # Pollers. ---------------------------------------------------------------

    def poller(self, index, client):
        conn = Connection(self.host, self.port, client["token"], timeout=self.poll_timeout + POLL_GRACE)
        rooms = client["rooms"]
        for slug in rooms:
            self.received[(index, slug)] = Received()
        cursor = None
        backoff = 0.5
        first = True
        self.ramp_gate.acquire()  # a bounded ramp: at most ramp_concurrency first polls at once
        counts = self.counts
        path_wait = f"&timeout={self.poll_timeout}"
        while not self.stopping:
            path = "/api/events" if cursor is None else f"/api/events?cursor={cursor}{path_wait}"
            started = time.time()
            try:
                status, body = conn.request("GET", path)
            except Exception as error:  # broken connection, timeout, refused
                conn.close()
                if self.stopping:
                    break
                counts["poll_errors"] += 1
                counts[f"poll_error:{type(error).__name__}"] += 1
                self.failing.add(index)
                gevent.sleep(backoff * random.uniform(1, 1.5))
                backoff = min(backoff * 2, 5)
                continue
            now = time.time()
            counts["polls"] += 1
            if status == 200:
                self.failing.discard(index)
                backoff = 0.5
                data = json.loads(body)
                cursor = data["cursor"]
                events = data["events"]
                if events:
                    counts["poll_answers_with_events"] += 1
                    self.take(index, events, now)
                else:
                    counts["poll_answers_empty"] += 1
                if first:
                    first = False
                    self.ramp_gate.release()
                    self.ready += 1
                    if self.ready == self.total_clients:
                        self.ready_event.set()
                else:
                    self.poll_latency_sum += now - started
            elif status == 410:
                counts["cursor_expired"] += 1
                cursor = None
            else:
                counts["poll_errors"] += 1
                counts[f"poll_status:{status}"] += 1
                self.failing.add(index)
                gevent.sleep(backoff * random.uniform(1, 1.5))
                backoff = min(backoff * 2, 5)
        conn.close()
        if first:
            self.ramp_gate.release()

    def take(self, index, events, now):
        counts = self.counts
        prefix = self.prefix
        for event in events:
            if event.get("type") != "message":
                counts[f"events:{event.get('type')}"] += 1
                continue
            message = event["message"]
            client_id = message.get("client_id") or ""
            if not client_id.startswith(prefix):
                counts["foreign_messages"] += 1
                continue
            received = self.received.get((index, event["room"]))
            if received is None:
                counts["messages_from_unexpected_room"] += 1
                continue
            if received.add(message["id"]):
                sent_at = float(message["body"].split(" ", 1)[0])
                self.delays.append((now - sent_at) * 1000.0)
                self.recv_times.append(now)
                self.recv_ids.append(message["id"])
                counts["delivered"] += 1

    # Senders. ---------------------------------------------------------------

    def sender(self, spec, start, end):
        rate = spec["rate"]
        slug = spec["room"]
        path = f"/api/rooms/{slug}/messages"
        idle = []
        gate = Semaphore(MAX_IN_FLIGHT_PER_SENDER)
        jobs = []

        def send_one(k, scheduled):
            try:
                client_id = f"{self.prefix}{spec['index']}-{k}"
                conn = idle.pop() if idle else Connection(self.host, self.port, spec["token"], timeout=SEND_TIMEOUT)
                sent_at = time.time()
                body = json.dumps({"body": f"{sent_at:.6f} {client_id}", "client_id": client_id}).encode()
                record = {"room": slug, "client_id": client_id, "sent_at": sent_at,
                          "lag": sent_at - scheduled, "id": None, "status": None, "tries": 0}
                deadline = end + SEND_TIMEOUT  # nothing of a send outlives this
                while True:
                    record["tries"] += 1
                    try:
                        status, answer = conn.request("POST", path, body,
                                                      timeout=max(1.0, min(SEND_TIMEOUT, deadline - time.time())))
                    except Exception as error:
                        conn.close()
                        status, answer = None, repr(error)
                    record["status"] = status
                    if status in (200, 201):
                        record["id"] = json.loads(answer)["message"]["id"]
                        record["latency"] = time.time() - sent_at
                        break
                    if time.time() > deadline or status in (400, 401, 403, 404):
                        record["error"] = answer if isinstance(answer, str) else answer[:200].decode("utf-8", "replace")
                        break
                    gevent.sleep(0.2 * record["tries"])  # same client_id: a retry never makes a second copy
                idle.append(conn)
                self.sent.append(record)
            finally:
                gate.release()

        k = 0
        phase = spec["phase"]
        while True:
            scheduled = start + phase + k / rate
            if scheduled >= end:
                break
            delay = scheduled - time.time()
            if delay > 0:
                gevent.sleep(delay)
            if not gate.acquire(timeout=max(0.0, end - time.time())):
                # The server is not taking posts as fast as they are offered: every one of this
                # sender's connections is busy until the window closes. Count what was not sent.
                self.counts["sends_skipped"] += sum(1 for _ in iter_until(start + phase, rate, k, end))
                break
            jobs.append(gevent.spawn(send_one, k, scheduled))
            k += 1
        gevent.joinall(jobs)
        for conn in idle:
            conn.close()

    # The run. -----------------------------------------------------------------

    def run(self):
        clients = self.config["clients"]
        self.total_clients = len(clients)
        cpu_start = cpu_seconds()
        ramp_rate = self.config["ramp_rate"]
        pollers = []
        started = time.time()
        for n, (index, client) in enumerate(clients):
            pollers.append(gevent.spawn(self.poller, index, client))
            # Spread the connects: a ramp, not ten thousand SYNs at once.
            pause = started + (n + 1) / ramp_rate - time.time()
            if pause > 0:
                gevent.sleep(pause)
        if clients:
            # Not all in time is a result too (the server refused or stalled): report it, go on.
            self.ready_event.wait(self.config["ready_timeout"])
        ramp_seconds = time.time() - started
        gc.freeze()  # the long-lived setup objects need not be scanned again
        self.pipe.send(("ready", {"ramp_seconds": ramp_seconds, "cpu": cpu_seconds() - cpu_start,
                                  "clients": len(clients), "with_cursor": self.ready,
                                  "counts": dict(self.counts)}))

        message = self.receive()
        assert message[0] == "go", message
        _, send_start, send_end = message
        cpu_go = cpu_seconds()
        counts_at_go = Counter(self.counts)
        senders = [gevent.spawn(self.sender, spec, send_start, send_end) for spec in self.config["senders"]]
        gevent.sleep(max(0, send_end - time.time()))
        cpu_send_end = cpu_seconds()
        failing_at_end = len(self.failing)
        window_counts = Counter(self.counts)
        window_counts.subtract(counts_at_go)
        gevent.joinall(senders)
        self.pipe.send(("sent", self.sent, self.counts.get("sends_skipped", 0)))

        message = self.receive()
        assert message[0] == "expect", message
        _, expected, deadline = message
        expected_sets = {slug: set(ids) for slug, ids in expected.items()}
        while time.time() < deadline and not self.complete(expected):
            gevent.sleep(0.1)
        finished = time.time()
        self.stopping = True
        gevent.killall(pollers, block=True, timeout=5)

        lost = 0
        duplicates = 0
        out_of_order = 0
        for (index, slug), received in self.received.items():
            want = expected_sets.get(slug, set())
            if want:
                lost += len(want.difference(received.ids))
            duplicates += received.duplicates
            out_of_order += received.out_of_order
        self.pipe.send(("done", {
            "finished": finished,
            "lost": lost,
            "duplicated": duplicates,
            "out_of_order": out_of_order,
            "counts": dict(self.counts),
            "poll_latency_sum": self.poll_latency_sum,
            "delays": self.delays.tobytes(),
            "recv_times": self.recv_times.tobytes(),
            "recv_ids": self.recv_ids.tobytes(),
            "cpu": {"total": cpu_seconds() - cpu_start, "send_window": cpu_send_end - cpu_go},
            "ramp_seconds": ramp_seconds,
            "failing_at_window_end": failing_at_end,
            "window_counts": {k: v for k, v in window_counts.items() if v},
        }))

    def complete(self, expected):
        """Say whether every local client has every expected message (exact; finished pairs are remembered)."""
        done = self._complete_pairs
        for key, received in self.received.items():
            if key in done:
                continue
            want = expected.get(key[1])
            if want:
                if len(received.ids) < len(want):
                    return False
                have = set(received.ids)
                if any(message_id not in have for message_id in want):
                    return False
            done.add(key)
        return True


def child_main(pipe, config):
    """Entry point of a load-generator process (multiprocessing, spawn)."""
    raise_fd_limit()
    try:
        Runner(pipe, config).run()
    except Exception as error:  # report, don't hang the parent
        import traceback

        pipe.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}", {}))


def api_setup_main(pipe, config):
    """Make users, rooms and memberships through the HTTP API (register, login, create, join).

    Slow by design of the product: register and login each hash the password
    (PBKDF2, about 0.5 s of CPU here), so this suits a few dozen users.
    """
    raise_fd_limit()
    try:
        pipe.send(("done", api_setup(config)))
    except Exception as error:
        import traceback

        pipe.send(("error", f"{type(error).__name__}: {error}\n{traceback.format_exc()}", {}))


def api_setup(config):
    host, port, prefix, password = config["host"], config["port"], config["run_id"], config["password"]
    users, rooms = config["users"], config["rooms"]
    started = time.monotonic()

    def call(conn, method, path, body=None, expect=(200, 201)):
        status, answer = conn.request(method, path, body, timeout=120)
        if status not in expect:
            raise RuntimeError(f"{method} {path} answered {status}: {answer[:300]!r}")
        return json.loads(answer) if answer else None

    def signup(i):
        conn = Connection(host, port, timeout=120)
        email = f"{prefix}-{i}@bench.example"
        call(conn, "POST", "/api/auth/register",
             {"email": email, "password": password, "first_name": f"Bench{i}", "last_name": prefix})
        body = call(conn, "POST", "/api/auth/login", {"email": email, "password": password})
        conn.close()
        return {"id": body["user"]["id"], "token": body["token"]}

    owner = signup("owner")
    conn = Connection(host, port, owner["token"], timeout=120)
    slugs = [call(conn, "POST", "/api/rooms", {"name": f"{prefix} room {j}"})["room"]["slug"] for j in range(rooms)]
    conn.close()
    pool = Pool(config.get("concurrency", 8))
    people = list(pool.imap(signup, range(users)))

    def join(i):
        person = people[i]
        conn = Connection(host, port, person["token"], timeout=120)
        call(conn, "POST", f"/api/rooms/{slugs[i % rooms]}/join")
        conn.close()
        person["rooms"] = [slugs[i % rooms]]

    list(pool.imap(join, range(users)))
    return {"setup": "api", "seconds": round(time.monotonic() - started, 2), "rooms": slugs, "users": people}
