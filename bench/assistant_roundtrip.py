"""The assistant's answer time end to end: a question posted through the API to its answer in the asker's long poll.

    python -m bench.assistant_roundtrip [--questions 50] [--interval 0.5] [--database sqlite|postgres]

Everything is real and on this machine: a fresh database (SQLite by default;
`--database postgres` makes a throwaway database on the local PostgreSQL,
bench/server.py's ADMIN_URL), migrated; gunicorn as config/gunicorn.py runs it (one
gevent worker); `manage.py run_bots` as the Procfile's `bots:` line runs it
(`--interval`, default 0.5 s as in production, is how often it looks at the
stream). Alice posts in a room she shares with Bob; Bob asks the Assistant in
their DM, the questions cycling through every skill; each time runs from just
before Bob's POST to the moment his long poll returns the answer (the
message by the Assistant whose reply_to is his question).
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.http import Connection
from bench.server import ROOT, Server, create_database, drop_database, migrate, server_env

PASSWORD = "correct-horse-battery-9"
QUESTIONS = [
    ("help", "help"),
    ("summary", "what did I miss?"),
    ("find", "where did we talk about the release date?"),
    ("remind", "remind me in 2 hours to send the report"),
    ("summary", "summarise today"),
    ("find", "find deploy logs"),
    ("smalltalk", "thanks!"),
]
CHATTER = [
    "The release date moves to Friday, QA found a blocker in the installer.",
    "Deploy logs are in the ops bucket, under the date of the run.",
    "Standup is at ten tomorrow; the design review moves to Thursday.",
    "Can someone look at the flaky login test before the release?",
]


def call(conn, method, path, body=None, expect=(200, 201), timeout=None):
    status, raw = conn.request(method, path, body, timeout=timeout)
    data = json.loads(raw) if raw else None
    if status not in expect:
        raise RuntimeError(f"{method} {path}: {status} {data}")
    return data


def person(port, first_name):
    anonymous = Connection("127.0.0.1", port)
    email = f"{first_name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
    call(anonymous, "POST", "/api/auth/register",
         {"email": email, "password": PASSWORD, "first_name": first_name, "last_name": "Bench"})
    token = call(anonymous, "POST", "/api/auth/login", {"email": email, "password": PASSWORD})["token"]
    anonymous.close()
    return Connection("127.0.0.1", port, token=token), Connection("127.0.0.1", port, token=token)


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=50)
    parser.add_argument("--interval", type=float, default=0.5, help="run_bots --interval (default 0.5, production's)")
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="parley-assistant-bench-"))
    pg_name = None
    if args.database == "postgres":
        database_url, pg_name = create_database()
    else:
        database_url = f"sqlite:///{work / 'bench.sqlite3'}"
    migrate(database_url)
    server = Server(database_url, workers=1, log_path=work / "server.log")
    bots = None
    try:
        server.wait_ready()
        alice, _ = person(server.port, "Alice")
        bob, bob_poll = person(server.port, "Bob")
        slug = call(alice, "POST", "/api/rooms", {"name": f"bench {uuid.uuid4().hex[:6]}"})["room"]["slug"]
        call(bob, "POST", f"/api/rooms/{slug}/join", {})
        [assistant] = [u for u in call(bob, "GET", "/api/users?q=assistant")["users"] if u["is_bot"]]
        dm = call(bob, "POST", "/api/dms", {"user_id": assistant["id"]})["room"]["slug"]

        log_path = work / "bots.log"
        with open(log_path, "w") as log:
            bots = subprocess.Popen(
                [sys.executable, "manage.py", "run_bots", "--interval", str(args.interval)], cwd=ROOT,
                stdout=log, stderr=subprocess.STDOUT,
                env=server_env(database_url, PYTHONUNBUFFERED="1", PARLEY_SITE_URL=server.url),
            )
        started = time.monotonic()
        while "Sending bots' webhooks" not in log_path.read_text():
            if bots.poll() is not None or time.monotonic() - started > 120:
                raise RuntimeError(f"run_bots did not start; see {log_path}")
            time.sleep(0.05)
        warm_up = time.monotonic() - started

        cursor = call(bob_poll, "GET", "/api/events")["cursor"]
        times = {}
        for n in range(args.questions):
            skill, question = QUESTIONS[n % len(QUESTIONS)]
            call(alice, "POST", f"/api/rooms/{slug}/messages",
                 {"body": CHATTER[n % len(CHATTER)], "client_id": f"chatter-{n}"})
            t0 = time.perf_counter()
            asked = call(bob, "POST", f"/api/rooms/{dm}/messages", {"body": question, "client_id": f"q-{n}"})
            asked_id = asked["message"]["id"]
            answered = False
            while not answered:
                body = call(bob_poll, "GET", f"/api/events?cursor={cursor}&timeout=30", timeout=40)
                cursor = body["cursor"]
                for event in body["events"]:
                    message = event.get("message") or {}
                    if (event["type"] == "message" and message.get("author", {}).get("is_bot")
                            and (message.get("reply_to") or {}).get("id") == asked_id):
                        answered = True
                if time.perf_counter() - t0 > 60:
                    raise RuntimeError(f"no answer to {question!r} within 60 s; see {log_path}")
            times.setdefault(skill, []).append(time.perf_counter() - t0)
        everything = [t for values in times.values() for t in values]
        print(f"database: {args.database}; run_bots --interval {args.interval}; assistant ready "
              f"{warm_up:.1f} s after start; {len(everything)} questions")
        print(f"{'skill':<10} {'n':>3} {'median ms':>10} {'p99 ms':>8}")
        for skill, values in sorted(times.items()):
            print(f"{skill:<10} {len(values):>3} {statistics.median(values) * 1000:>10.0f} "
                  f"{percentile(values, 0.99) * 1000:>8.0f}")
        print(f"{'all':<10} {len(everything):>3} {statistics.median(everything) * 1000:>10.0f} "
              f"{percentile(everything, 0.99) * 1000:>8.0f}")
    finally:
        if bots is not None:
            bots.terminate()
            try:
                bots.wait(15)
            except subprocess.TimeoutExpired:
                bots.kill()
        server.stop()
        if pg_name:
            drop_database(pg_name)


if __name__ == "__main__":
    main()
