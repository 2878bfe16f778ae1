"""Create the benchmark's users, rooms and memberships directly through Django (the fast setup).

Run as a subprocess before the server starts, with DATABASE_URL set:
    python -m bench.seed --users N --rooms M --prefix RUN --out FILE

Why not the API: registering and logging in hashes the password twice with
Django's PBKDF2 (1,000,000 iterations, about 0.5 s of CPU each here), so
10,000 users through the API would take over an hour of CPU, and even 500
would take minutes. Here one password hash is made once and shared, users and
memberships are bulk-inserted, and each user's token is made by
users.services.token_create, exactly as login makes it. The rows are the same
ones the API would make, minus the "joined" events (no server is running yet
and no client holds a cursor from before them).

Users start online (last_seen now), as they are when a server restarts under
clients that were polling a moment ago; --offline starts them offline, so
each one's first poll writes an "online" presence event (the cold start).
"""
import argparse
import json
import os
import sys
import time


def seed(*, users, rooms, prefix, password, online=True):
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from rooms import services as room_services
    from rooms.models import Membership
    from users.models import User
    from users.services import token_create

    from django.utils import timezone

    started = time.monotonic()
    hashed = make_password(password)
    now = timezone.now()
    with transaction.atomic():
        people = User.objects.bulk_create(
            [
                User(email=f"{prefix}-{i}@bench.example", first_name=f"Bench{i}", last_name=prefix,
                     password=hashed, is_approved=True, is_online=online, last_seen=now if online else None)
                for i in range(users)
            ],
            batch_size=2000,
        )
        if not people or people[0].pk is None:  # backends that return no ids
            people = list(User.objects.filter(last_name=prefix).order_by("id"))
        # A separate owner creates the rooms (and so is a member of all of them) but never polls,
        # so every client is in exactly one room: client i joins room i % M.
        owner = User.objects.create(email=f"{prefix}-owner@bench.example", first_name="Owner",
                                    last_name=prefix, password=hashed, is_approved=True)
        room_list = [room_services.room_create(creator=owner, name=f"{prefix} room {j}") for j in range(rooms)]
        Membership.objects.bulk_create(
            [Membership(room=room_list[i % rooms], user=person) for i, person in enumerate(people)],
            batch_size=5000,
        )
        tokens = [token_create(user=person) for person in people]
        if online:
            # Seen now, as the seed ends: the presence window starts with the clients, not before
            # the tokens (making 10,000 takes a while: login also clears the user's expired ones).
            User.objects.filter(last_name=prefix).update(last_seen=timezone.now())
    return {
        "setup": "bulk",
        "seconds": round(time.monotonic() - started, 2),
        "rooms": [room.slug for room in room_list],
        "users": [
            {"id": person.pk, "token": token, "rooms": [room_list[i % rooms].slug]}
            for i, (person, token) in enumerate(zip(people, tokens))
        ],
    }


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.seed")
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--rooms", type=int, required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--password", default="bench-password-7431")
    parser.add_argument("--out", required=True)
    parser.add_argument("--offline", action="store_true",
                        help="start users offline, so each one's first poll publishes 'online' (a write)")
    args = parser.parse_args(argv)
    if args.rooms < 1 or args.users < 1:
        sys.exit("need at least one user and one room")
    result = seed(users=args.users, rooms=args.rooms, prefix=args.prefix, password=args.password,
                  online=not args.offline)
    with open(args.out, "w") as handle:
        json.dump(result, handle)


if __name__ == "__main__":
    main()
