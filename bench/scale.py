"""Search and the room list at scale (issue 15's "scale" target), over HTTP against a real server.

    python -m bench.scale [--repeat 10] [--json FILE] [--fresh] [--keep-cache/--drop-cache]

The dataset, on the local PostgreSQL (bench/server.py's ADMIN_URL): one room of
200,000 messages ("scale-big") and 400 rooms of 500 ("scale-000" ...), 400,000
messages in all, written by 60 authors over a year, with one reader who is a
member of all 401 rooms. "project" is in every message of the big room (and
half of the others): the common word; forms of "deploy" are in 5 %; "zephyr"
in one message of 10,000: the rare word. 1 % carry a link, 0.5 % of the small
rooms' messages mention the reader, 0.1 % have a file (a row only: search
never reads the bytes).

It is built once with COPY and bulk_create into a template database named for
the migrations it was made with (parley_bench_scale_<hash>, about a minute),
then each run copies it (CREATE DATABASE ... TEMPLATE, seconds), so a rerun
takes a few minutes; --fresh builds it again, --drop-cache drops it at the end.
The template is VACUUM ANALYZEd, the steady state autovacuum keeps.

Then gunicorn as config/gunicorn.py runs it (WEB_CONCURRENCY=1) serves, and
one client, one request at a time, measures each request's time from send to
last byte: GET /api/search for a mix of words and filters, in the big room and
across all rooms (each query --repeat times after one unmeasured warm-up), and
GET /api/rooms for the reader in two read states: "all unread" (never opened
the 400 rooms: 200,000 unread) and "mostly read" (80 of them with a few unread).
"""
import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED_VERSION = 1
BIG_MESSAGES = 200_000
SMALL_ROOMS = 400
SMALL_MESSAGES = 500
AUTHORS = 60
READER_KEY = "bench-scale-reader-key-not-a-secret-0123456789"
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# The year the messages span: fixed, so a cached dataset and the queries' dates agree.
START = datetime(2025, 1, 1, tzinfo=timezone.utc)
SPAN = timedelta(days=365)
MIDDLE = (START + SPAN / 2).date().isoformat()
LATE = (START + SPAN * 0.9).date().isoformat()

BIG = "scale-big"
SEARCHES = [
    # (group, name, params)
    ("big room", "common word (200,000 matches)", {"q": "project", "room": BIG}),
    ("big room", "stemmed word (5 %)", {"q": "deploying", "room": BIG}),
    ("big room", "rare word", {"q": "zephyr", "room": BIG}),
    ("big room", "two words", {"q": "project release", "room": BIG}),
    ("big room", "common + from:", {"q": "project from:author7", "room": BIG}),
    ("big room", "common + before:", {"q": f"project before:{MIDDLE}", "room": BIG}),
    ("big room", "common + has:link", {"q": "project has:link", "room": BIG}),
    ("big room", "from: alone", {"q": "from:author7", "room": BIG}),
    ("big room", "common, by relevance", {"q": "project", "room": BIG, "order": "relevance"}),
    ("401 rooms", "common word", {"q": "project"}),
    ("401 rooms", "stemmed word", {"q": "deploying"}),
    ("401 rooms", "rare word", {"q": "zephyr"}),
    ("401 rooms", "two words", {"q": "meeting budget"}),
    ("401 rooms", "word + from:", {"q": "deploying from:author3"}),
    ("401 rooms", "word + in:", {"q": "project in:scale-007"}),
    ("401 rooms", "word + after:", {"q": f"release after:{LATE}"}),
    ("401 rooms", "has:file alone", {"q": "has:file"}),
    ("401 rooms", "is:mention alone", {"q": "is:mention"}),
]


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


# The dataset ------------------------------------------------------------------------


def cache_name(root):
    """The template's name: the seed's version and the schema it was made with (every migration file)."""
    digest = hashlib.sha256(str(SEED_VERSION).encode())
    for path in sorted(root.glob("*/migrations/0*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return f"parley_bench_scale_{digest.hexdigest()[:12]}"


def admin():
    import psycopg2

    conn = psycopg2.connect(ADMIN_URL)
    conn.autocommit = True
    return conn


def database_exists(name):
    with admin() as conn, conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        return cursor.fetchone() is not None


def url_of(name):
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def build_cache(name, log):
    from bench.server import ROOT, migrate, server_env

    conn = admin()
    conn.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    conn.cursor().execute(f"CREATE DATABASE {name}")
    conn.close()
    started = time.monotonic()
    try:
        migrate(url_of(name))
        subprocess.run([sys.executable, "-m", "bench.scale", "--seed-into", url_of(name)], cwd=ROOT,
                       env=server_env(url_of(name), PARLEY_BACKGROUND_THREADS="off"), check=True)
    except BaseException:
        conn = admin()
        conn.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.close()
        raise
    log(f"dataset built in {time.monotonic() - started:.0f} s: {name}")


def seed(database_url):
    """Fill the migrated database (run in a subprocess with Django set up for it)."""
    import io

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from rooms.models import Membership, Mention, Message, Room, Upload
    from users.models import ApiToken, User, token_hash

    rng = random.Random(15)
    started = time.monotonic()
    password = make_password("bench-password-7431")
    with transaction.atomic():
        reader = User.objects.create(email="reader@bench.example", first_name="Reader", last_name="Scale",
                                     password=password, is_approved=True)
        authors = User.objects.bulk_create([
            User(email=f"author{i}@bench.example", first_name=f"Author{i}", last_name="Scale",
                 password=password, is_approved=True)
            for i in range(AUTHORS)
        ])
        ApiToken.objects.create(user=reader, key_hash=token_hash(READER_KEY))
        big = Room.objects.create(name="Scale big", slug=BIG, created_by=reader, created_at=START)
        small = Room.objects.bulk_create([
            Room(name=f"Scale {j:03d}", slug=f"scale-{j:03d}", created_by=reader, created_at=START)
            for j in range(SMALL_ROOMS)
        ])
        members = {big.id: [reader.id] + [a.id for a in authors]}
        for room in small:
            members[room.id] = [reader.id] + [a.id for a in rng.sample(authors, 10)]
        Membership.objects.bulk_create(
            [Membership(room_id=room_id, user_id=user_id) for room_id, users in members.items() for user_id in users],
            batch_size=5000,
        )

    # Which room each message is in, interleaved in time as a live site's are.
    slots = [big.id] * BIG_MESSAGES + [room.id for room in small for _ in range(SMALL_MESSAGES)]
    rng.shuffle(slots)
    total = len(slots)
    filler = _filler_words(rng)
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) FROM rooms_message")
        first_id = cursor.fetchone()[0] + 1
    rows = io.StringIO()
    mentions, uploads, last = [], [], {}
    for n, room_id in enumerate(slots):
        message_id = first_id + n
        words = rng.choices(filler, k=rng.randint(6, 18))
        if room_id == big.id or rng.random() < 0.5:
            words.insert(rng.randrange(len(words) + 1), "project")
        for word, share in (("release", 0.03), ("meeting", 0.03), ("budget", 0.02)):
            if rng.random() < share:
                words.insert(rng.randrange(len(words) + 1), word)
        if rng.random() < 0.05:
            words.insert(rng.randrange(len(words) + 1), rng.choice(["deploy", "deployed", "deploys", "deploying"]))
        if rng.random() < 0.0001:
            words.insert(rng.randrange(len(words) + 1), "zephyr")
        text = " ".join(words).capitalize()
        html = f"<p>{text}</p>"
        if rng.random() < 0.01:
            url = f"https://example.com/docs/{n}"
            text += " " + url
            html = f'<p>{" ".join(words).capitalize()} <a href="{url}" target="_blank">{url}</a></p>'
        author = reader.id if rng.random() < 0.02 else rng.choice(members[room_id][1:])
        mentioned = []
        everyone = False
        if room_id != big.id and author != reader.id:
            if rng.random() < 0.005:
                mentioned = [reader.id]
                mentions.append(Mention(message_id=message_id, user_id=reader.id))
            elif rng.random() < 0.001:
                everyone, mentioned = True, sorted(members[room_id])
        if rng.random() < 0.001:
            image = rng.random() < 0.3
            uploads.append(Upload(
                id=uuid.UUID(int=rng.getrandbits(128)).hex, uploader_id=author, room_id=room_id,
                message_id=message_id, attachment_index=0, name="chart.png" if image else "notes.pdf",
                size=1000, content_type="image/png" if image else "application/pdf",
                file=f"uploads/xx/{n}",
            ))
        created = START + SPAN * (n / total)
        rows.write("\t".join([
            str(message_id), str(room_id), str(author), _copy(text), created.isoformat(), _copy(html),
            _copy(text), json.dumps(mentioned), "t" if everyone else "f",
        ]) + "\n")
        last[room_id] = message_id
    rows.seek(0)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.copy_expert(
            "COPY rooms_message (id, room_id, author_id, body, created_at, html, text, mentions,"
            " mentions_everyone) FROM STDIN", rows,
        )
        cursor.execute("SELECT setval(pg_get_serial_sequence('rooms_message', 'id'), %s)", [first_id + total])
        Mention.objects.bulk_create(mentions, batch_size=5000)
        Upload.objects.bulk_create(uploads, batch_size=5000)
        for room_id, message_id in last.items():
            Room.objects.filter(id=room_id).update(last_message_id=message_id)
    # The reader has read the big room but for its last 100 messages.
    big_read = Message.objects.filter(room=big).order_by("-id").values_list("id", flat=True)[100]
    Membership.objects.filter(room=big, user=reader).update(last_read_message_id=big_read)
    connection.cursor().execute("VACUUM ANALYZE")
    print(f"seeded {total} messages in {time.monotonic() - started:.0f} s", flush=True)


def _copy(value):
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def _filler_words(rng):
    syllables = ["ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "pe", "da", "gor", "lin", "mar", "tes", "bul"]
    words = {"".join(rng.choices(syllables, k=rng.randint(2, 3))) for _ in range(3000)}
    return sorted(words)


# The run --------------------------------------------------------------------------------


def read_state(database_url, state):
    """Set the reader's read marks in the 400 small rooms: "all unread" or "mostly read"."""
    import psycopg2

    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM users_user WHERE email = 'reader@bench.example'")
        reader = cursor.fetchone()[0]
        if state == "all unread":
            cursor.execute(
                "UPDATE rooms_membership m SET last_read_message_id = 0 FROM rooms_room r"
                " WHERE m.room_id = r.id AND r.slug <> %s AND m.user_id = %s", [BIG, reader])
        else:  # read to the end, then 80 rooms (one in five) with their last 1-10 messages unread
            cursor.execute(
                "UPDATE rooms_membership m SET last_read_message_id = coalesce((SELECT id FROM rooms_message x"
                " WHERE x.room_id = r.id ORDER BY id DESC OFFSET CASE WHEN r.id %% 5 = 0 THEN 1 + r.id %% 10"
                " ELSE 0 END LIMIT 1), 0) FROM rooms_room r"
                " WHERE m.room_id = r.id AND r.slug <> %s AND m.user_id = %s", [BIG, reader])
        cursor.execute("UPDATE users_apitoken SET last_used_at = now()")
    conn.close()


def timed(conn, path):
    started = time.perf_counter()
    status, body = conn.request("GET", path, timeout=120)
    elapsed = time.perf_counter() - started
    if status != 200:
        raise RuntimeError(f"GET {path}: {status} {body[:300]!r}")
    return elapsed, json.loads(body)


class Cpu:
    """CPU seconds spent by the server's processes and by the PostgreSQL backends serving its database.

    On a shared machine wall-clock times include waiting for a core; CPU time
    per request does not, so both are reported. The backends are found in
    pg_stat_activity by database name and read from /proc (the server keeps its
    pooled connections open, so they live across requests).
    """

    def __init__(self, server, database):
        from bench.server import TreeUsage

        self.server = TreeUsage(server.process.pid, relist=0)
        self.database = database
        self.admin = admin()

    def backends(self):
        with self.admin.cursor() as cursor:
            cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                           [self.database])
            return [row[0] for row in cursor.fetchall()]

    def now(self):
        from bench.server import read_stat

        pg = {}
        for pid in self.backends():
            stat = read_stat(pid)
            if stat:
                pg[pid] = stat[1]
        return self.server.sample()["cpu"], pg

    @staticmethod
    def spent(before, after):
        """(app seconds, database seconds) between two readings."""
        database = sum(cpu - before[1].get(pid, 0) for pid, cpu in after[1].items())
        return after[0] - before[0], database


def run(args, log):
    from bench.http import Connection
    from bench.server import ROOT, Server, drop_database, wait_for_quiet

    template = cache_name(ROOT)
    if args.fresh or not database_exists(template):
        log(f"building the dataset ({BIG_MESSAGES:,} + {SMALL_ROOMS} x {SMALL_MESSAGES} messages)")
        build_cache(template, log)
    name = f"parley_bench_scale_run_{uuid.uuid4().hex[:8]}"
    started = time.monotonic()
    conn = admin()
    conn.cursor().execute(f"CREATE DATABASE {name} TEMPLATE {template}")
    conn.close()
    log(f"copied the dataset in {time.monotonic() - started:.0f} s")
    url = url_of(name)
    work = Path(tempfile.mkdtemp(prefix="parley-scale-bench-"))
    server = Server(url, workers=1, log_path=work / "server.log")
    results = {"searches": [], "rooms": [], "template": template}
    try:
        server.wait_ready(60)
        idle = wait_for_quiet(60, log=log)
        results["machine_busy_cores_before"] = round(idle, 2)
        client = Connection("127.0.0.1", server.port, token=READER_KEY)
        cpu = Cpu(server, name)

        def measure(path, n):
            before = cpu.now()
            times = [timed(client, path)[0] for _ in range(n)]
            app, database = Cpu.spent(before, cpu.now())
            return times, {"app_cpu_ms": round(app * 1000 / n, 2), "db_cpu_ms": round(database * 1000 / n, 2)}

        for group, label, params in SEARCHES:
            path = "/api/search?" + urllib.parse.urlencode(params)
            _, answer = timed(client, path)  # warm-up; and what it finds
            times, spent = measure(path, args.repeat)
            results["searches"].append({"group": group, "query": label, "params": params, "times": times,
                                        "found": len(answer["messages"]), "has_more": answer.get("has_more"),
                                        **spent})
            log(f"  search {group:<9} {label:<32} p50 {percentile(times, 0.5) * 1000:7.1f} ms"
                f"  ({len(answer['messages'])} found)")
            if answer.get("next"):  # the second page, where the API has pages
                page_path = path + "&" + urllib.parse.urlencode({"page": answer["next"]})
                times, spent = measure(page_path, args.repeat)
                results["searches"].append({"group": group, "query": label + ", page 2", "params": params,
                                            "times": times, "found": None, "has_more": None, **spent})
        for state in ("all unread", "mostly read"):
            read_state(url, state)
            _, answer = timed(client, "/api/rooms")
            times, spent = measure("/api/rooms", args.repeat * 3)
            unread = sum(room.get("unread_count", 0) for room in answer["rooms"])
            mentions = sum(room.get("mention_count", 0) for room in answer["rooms"])
            results["rooms"].append({"state": state, "times": times, "rooms": len(answer["rooms"]),
                                     "unread": unread, "mentions": mentions, **spent})
            log(f"  GET /api/rooms, {state}: p50 {percentile(times, 0.5) * 1000:.1f} ms "
                f"({len(answer['rooms'])} rooms, {unread} unread, {mentions} mentions)")
        client.close()
        cpu.admin.close()
    finally:
        server.stop()
        drop_database(name)
        if args.drop_cache:
            drop_database(template)
    return results


def report(results):
    """Print wall-clock p50/p99 (ms) per query, and CPU ms per request: the app's and PostgreSQL's."""
    print()
    header = f"{'':<52} {'n':>4} {'p50 ms':>8} {'p99 ms':>8} {'app cpu':>8} {'db cpu':>8}"
    print(header)

    def line(label, rows):
        times = [t for row in rows for t in row["times"]]
        n = len(times)
        app = sum(row["app_cpu_ms"] * len(row["times"]) for row in rows) / n
        database = sum(row["db_cpu_ms"] * len(row["times"]) for row in rows) / n
        print(f"{label:<52} {n:>4} {percentile(times, 0.5) * 1000:>8.1f} {percentile(times, 0.99) * 1000:>8.1f}"
              f" {app:>8.1f} {database:>8.1f}")

    for group in ("big room", "401 rooms"):
        rows = [r for r in results["searches"] if r["group"] == group]
        for row in rows:
            line(f"  search, {group}: {row['query']}", [row])
        line(f"all searches, {group}", rows)
    line("all searches", results["searches"])
    for row in results["rooms"]:
        line(f"GET /api/rooms, {row['state']} ({row['unread']} unread)", [row])
    print(f"machine busy before the run: {results['machine_busy_cores_before']} cores of 2")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=10, help="measured requests per query (rooms: 3x)")
    parser.add_argument("--json", metavar="FILE", help="write every measurement here")
    parser.add_argument("--fresh", action="store_true", help="build the dataset again")
    parser.add_argument("--drop-cache", action="store_true", help="drop the cached dataset at the end")
    parser.add_argument("--prepare", action="store_true", help="only build the dataset if it is not cached")
    parser.add_argument("--seed-into", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed_into:
        seed(args.seed_into)
        return

    def log(line):
        print(line, file=sys.stderr, flush=True)

    if args.prepare:
        from bench.server import ROOT

        if args.fresh or not database_exists(cache_name(ROOT)):
            build_cache(cache_name(ROOT), log)
        log(f"dataset ready: {cache_name(ROOT)}")
        return
    results = run(args, log)
    report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
