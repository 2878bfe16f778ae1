"""Send-to-delivery delay on a quiet server: one waiting poll, one sender, one message at a time.

    .venv/bin/python -m bench.latency [--database sqlite|postgres] [--messages 40]

It measures the floor the load presets stand on: the time from the start of
the POST to the moment the other user's waiting poll answers with the message
(through a real gunicorn gevent server; SQLite with one worker, or PostgreSQL
with two, so that sender and poller may be on different workers).
"""
import argparse
import statistics
import threading
import time
import uuid

import psycopg2

from tests.live import Http, Server, migrate

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--messages", type=int, default=40)
    options = parser.parse_args()
    admin = None
    if options.database == "postgres":
        name = f"parley_bench_latency_{uuid.uuid4().hex[:8]}"
        admin = psycopg2.connect(PG_ADMIN_URL)
        admin.autocommit = True
        admin.cursor().execute(f"CREATE DATABASE {name}")
        url, workers = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", 2
    else:
        url, workers = f"sqlite:////tmp/parley-bench-latency-{uuid.uuid4().hex[:8]}.sqlite3", 1
    migrate(url)
    server = Server(url, workers=workers)
    try:
        delays = measure(server.url, options.messages)
    finally:
        server.stop()
        if admin is not None:
            admin.cursor().execute(f"DROP DATABASE {name} WITH (FORCE)")
    delays.sort()
    print(f"{options.database}, {workers} worker(s): send-to-delivery over {len(delays)} messages: "
          f"p50 {statistics.median(delays):.1f} ms, p90 {delays[int(len(delays) * 0.9)]:.1f} ms, "
          f"max {delays[-1]:.1f} ms")


def measure(base_url, count):
    sender, reader = Http.signup(base_url, "Sender"), Http.signup(base_url, "Reader")
    slug = sender.post("/api/rooms", {"name": "latency"})[1]["room"]["slug"]
    reader.post(f"/api/rooms/{slug}/join")
    cursor = reader.get("/api/events")[1]["cursor"]
    cursor = reader.get(f"/api/events?cursor={cursor}&timeout=0")[1]["cursor"]
    delays = []
    for n in range(count):
        delivered = threading.Event()

        def poll():
            nonlocal cursor
            while not delivered.is_set():
                _, body = reader.get(f"/api/events?cursor={cursor}&timeout=20")
                cursor = body["cursor"]
                if any(event["type"] == "message" for event in body["events"]):
                    delivered.at = time.perf_counter()
                    delivered.set()

        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(0.15)  # the poll is waiting on the server before we send
        sent = time.perf_counter()
        sender.post(f"/api/rooms/{slug}/messages", {"body": f"message {n}"})
        poller.join(30)
        delays.append((delivered.at - sent) * 1000)
    return delays


if __name__ == "__main__":
    main()
