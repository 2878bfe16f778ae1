"""`python -m bench.write_ceiling`: how many plain messages a second PostgreSQL takes, one commit each or batched.

Every write holds the stream row through its commit, WAL flush included
(rooms/stream.py), so one message per commit caps the server at about
1 / (statement + flush) whatever its CPU. This measures that ceiling without
the HTTP server: `--threads` threads call rooms.messaging.message_post outside
any transaction (as a view does) for `--seconds`, first with each message
written alone, then through the group commit (rooms/group_commit.py), on a
fresh database that is dropped at the end. docs/benchmarks.md, "Burst (issue 15)".
"""
import argparse
import os
import sys
import threading
import time

from .server import create_database, drop_database, migrate


def measure(mode, threads, seconds):
    from django.db import connections

    from rooms import messaging
    from rooms.models import Room
    from users.models import User

    author = User.objects.get(email="ceiling@bench.example")
    room = Room.objects.get(name="ceiling")
    group = messaging.group_commit
    real_write = group.write
    if mode == "alone":
        group.write = lambda row: None  # every post takes the one-statement path
    batches, rows = group.batches, group.rows
    stop = time.monotonic() + seconds
    counts = []

    def post():
        n = 0
        while time.monotonic() < stop:
            messaging.message_post(room=room, author=author, body=f"ceiling {n}")
            n += 1
        counts.append(n)
        connections.close_all()

    workers = [threading.Thread(target=post) for _ in range(threads)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    group.write = real_write
    batches, rows = group.batches - batches, group.rows - rows
    per_batch = f", {batches} batches of {rows / batches:.1f} on average" if batches else ""
    print(f"{mode:8} {sum(counts) / elapsed:8.0f} msg/s{per_batch}", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.write_ceiling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--rounds", type=int, default=2, help="alternate alone/batched this many times")
    args = parser.parse_args(argv)
    url, name = create_database()
    try:
        migrate(url)
        os.environ.update(DATABASE_URL=url, PARLEY_BACKGROUND_THREADS="off", PARLEY_RATE_LIMITS="off",
                          DJANGO_SETTINGS_MODULE="config.settings")
        import django

        django.setup()
        from django.db import connections

        from rooms import services
        from users.models import User

        owner = User.objects.create(email="ceiling@bench.example", first_name="Ceiling", is_approved=True)
        services.room_create(creator=owner, name="ceiling")
        print(f"{args.threads} threads posting for {args.seconds:g} s each, PostgreSQL database {name}", flush=True)
        for _ in range(args.rounds):
            measure("alone", args.threads, args.seconds)
            measure("batched", args.threads, args.seconds)
        connections.close_all()
    finally:
        drop_database(name)


if __name__ == "__main__":
    sys.exit(main())
