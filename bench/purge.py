"""Benchmark the retention purge on PostgreSQL: 1,000,000 messages in 1,000 rooms.

    python -m bench.purge [--rooms 1000] [--per-room 1000] [--batch-size 2000]
                          [--writer-interval 0.02] [--keep-db] [--admin-url URL]

What it does, in a fresh database it drops afterwards:
1. migrates it, then fills it on the server side with generate_series: one
   author, the rooms, and per room `--per-room` messages interleaved in time
   across the rooms, each with its stream event (the JSON the app stores,
   body included), positions in id order as the app hands them out. Then
   VACUUM ANALYZE and CHECKPOINT, so the purge pays for its own work only.
2. runs `python manage.py purge_messages` as a child process with the default
   window (PARLEY_RETENTION_MESSAGES, 500), timing it and taking the child's
   own peak RSS from os.wait4 (Linux ru_maxrss, KiB); meanwhile it samples the
   purge's PostgreSQL backend in /proc (peak private memory, RssAnon), counts
   the WAL it writes, and a writer thread posts through rooms.services at a
   steady pace into one of the rooms being purged, timing every post.
3. checks the result: every room holds exactly its newest 500 (the writer's
   room: a newest window of at least 500), 500,000 reported deleted, no event
   left without its message, and pruned_through covering every deleted event.
4. runs the purge again with nothing to do: the baseline RSS of the command.

Nothing here talks to anything but 127.0.0.1; everything stops by itself.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("PARLEY_BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
KEEP = 500  # PARLEY_RETENTION_MESSAGES's default, which the purge child uses


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--per-room", type=int, default=1000, help="messages per room before the purge")
    parser.add_argument("--batch-size", type=int, default=None, help="passed to purge_messages (default: its own)")
    parser.add_argument("--writer-interval", type=float, default=0.02,
                        help="seconds between the writer's posts during the purge; 0 turns the writer off")
    parser.add_argument("--baseline", type=float, default=5.0,
                        help="seconds the writer posts before the purge starts, to compare with")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument("--admin-url", default=ADMIN_URL)
    parser.add_argument("--json", action="store_true", help="print the results as JSON too")
    args = parser.parse_args(argv)
    if args.per_room <= KEEP:
        parser.error(f"--per-room must be above the kept {KEEP} for the purge to have work")

    name = f"parley_bench_purge_{uuid.uuid4().hex[:8]}"
    admin_sql(args.admin_url, f"CREATE DATABASE {name}")
    url = args.admin_url.rsplit("/", 1)[0] + "/" + name
    env = {
        **os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "PARLEY_BACKGROUND_THREADS": "off", "PARLEY_RATE_LIMITS": "off",
    }
    env.pop("PARLEY_RETENTION_MESSAGES", None)
    env.pop("PARLEY_RETENTION_DAYS", None)
    try:
        results = run(args, url, env)
    finally:
        if args.keep_db:
            print(f"kept database: {url}")
        else:
            admin_sql(args.admin_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print_results(results)
    if args.json:
        print(json.dumps(results, indent=2))
    return 0 if results["checks"] == "ok" else 1


def admin_sql(admin_url, sql, attempts=20):
    """Run one statement as the admin, waiting out a full or restarting server (a shared machine)."""
    import psycopg2

    for attempt in range(attempts):
        try:
            admin = psycopg2.connect(admin_url, connect_timeout=5)
        except psycopg2.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(3)
            continue
        try:
            admin.autocommit = True
            admin.cursor().execute(sql)
            return
        finally:
            admin.close()


def run(args, url, env):
    import psycopg2

    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    db = psycopg2.connect(url)
    db.autocommit = True
    cursor = db.cursor()
    results = {"rooms": args.rooms, "messages": args.rooms * args.per_room}
    started = time.monotonic()
    author, writer_room = fill(cursor, args.rooms, args.per_room)
    results["fill_seconds"] = round(time.monotonic() - started, 1)
    results["size_before"] = sizes(cursor)
    expected_pruned = scalar(cursor, """
        SELECT max(e.position) FROM rooms_event e JOIN (
            SELECT id, row_number() OVER (PARTITION BY room_id ORDER BY id DESC) AS newest FROM rooms_message
        ) m ON m.id = e.message_id WHERE m.newest > %s""", [KEEP])

    command = [sys.executable, "manage.py", "purge_messages", "-v", "2"]
    if args.batch_size:
        command += ["--batch-size", str(args.batch_size)]
    wal_before = scalar(cursor, "SELECT pg_current_wal_lsn()")
    writer = Writer(env, author, writer_room, args.writer_interval) if args.writer_interval > 0 else None
    if writer:
        writer.start()
        time.sleep(args.baseline)  # the same writer with no purge running, to compare with
    backend = BackendSampler(cursor.connection.dsn, os.path.basename(url), exclude=db.get_backend_pid())
    backend.start()
    busy_before = machine_busy_seconds()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        # wait4, not wait: the rusage of this child alone (migrate, also a child, is bigger).
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    busy = machine_busy_seconds() - busy_before
    backend.stop()
    if writer:
        writer.stop()
    if process.returncode:
        raise SystemExit(f"purge failed ({process.returncode}):\n{stderr.decode()}")
    results["purge_seconds"] = round(seconds, 2)
    results["purge_peak_rss_mib"] = rss_mib(usage)
    results["purge_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 1)
    # How busy the machine was: the purge, its backend, and everything else (a shared machine).
    others = busy - results["purge_cpu_seconds"] - backend.cpu_seconds
    results["cpu_cores_busy"] = {
        "purge": round(results["purge_cpu_seconds"] / seconds, 2),
        "its_backend": round(backend.cpu_seconds / seconds, 2),
        "everything_else": round(max(others, 0) / seconds, 2),
    }
    results["wal_mib"] = round(float(scalar(cursor, "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), %s)",
                                            [wal_before])) / 2**20, 1)
    results["backend"] = backend.summary()
    results["size_after"] = sizes(cursor)
    results["command"] = " ".join(["python", "manage.py"] + command[2:])
    output = stdout.decode()
    total = re.search(r"Deleted (\d+) message\(s\) in (\d+) room\(s\)", output)
    results["reported_deleted"] = int(total.group(1)) if total else None
    results["reported_rooms"] = int(total.group(2)) if total else None
    if writer:
        results["writer_before"] = writer.summary(started - args.baseline + 0.5, started)
        results["writer"] = writer.summary(started, started + seconds)
    results["checks"] = check(cursor, args, results, writer_room, expected_pruned, writer)

    # The same command with nothing left to do: what Django and the command cost on their own.
    began = time.monotonic()
    idle = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, _, idle_usage = os.wait4(idle.pid, 0)
    idle.returncode = 0
    results["idle_purge_seconds"] = round(time.monotonic() - began, 2)
    results["idle_purge_peak_rss_mib"] = rss_mib(idle_usage)
    db.close()
    return results


def fill(cursor, rooms, per_room):
    """Fill the tables on the server side; return (author id, the writer's room id)."""
    cursor.execute(
        "INSERT INTO users_user (password, is_superuser, email, first_name, last_name, is_staff, is_active,"
        " is_approved, date_joined, is_online) VALUES ('!', false, 'bench-purge@example.com', 'Bench', 'Purge',"
        " false, true, true, now(), false) RETURNING id"
    )
    author = cursor.fetchone()[0]
    cursor.execute(
        "INSERT INTO rooms_room (name, slug, topic, kind, is_private, is_ephemeral, created_at, created_by_id)"
        " SELECT 'bench ' || g, 'bench-' || g, '', 'room', false, false, now(), %s FROM generate_series(1, %s) g",
        [author, rooms],
    )
    cursor.execute(
        "INSERT INTO rooms_membership (room_id, user_id, joined_at, last_read_message_id)"
        " SELECT id, %s, now(), 0 FROM rooms_room", [author],
    )
    total = rooms * per_room
    # Bulk-load speed-ups, undone below: no per-row foreign-key triggers (the
    # rows are consistent by construction; needs a superuser, else skipped),
    # and the full-text index built once at the end rather than row by row.
    superuser = scalar(cursor, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    if superuser:
        cursor.execute("SET session_replication_role = replica")
    cursor.execute("SET maintenance_work_mem = '256MB'")
    gin = scalar(cursor, "SELECT pg_get_indexdef('message_body_fts'::regclass)")
    cursor.execute("DROP INDEX message_body_fts")
    # Message g goes to room g mod rooms: the rooms' histories interleave in time as in real use.
    cursor.execute(
        """
        INSERT INTO rooms_message (room_id, author_id, body, created_at)
        SELECT r.first + (g - 1) %% %(rooms)s, %(author)s,
               'message ' || g || ' about the release, the deploy and what lunch is today',
               now() - (%(total)s - g) * interval '100 milliseconds'
        FROM generate_series(1, %(total)s) g, (SELECT min(id) AS first FROM rooms_room) r
        """,
        {"rooms": rooms, "author": author, "total": total},
    )
    cursor.execute(
        """
        INSERT INTO rooms_event (position, type, room_id, message_id, is_public, data, created_at)
        SELECT m.id, 'message', m.room_id, m.id, false,
               jsonb_build_object('type', 'message', 'room', r.slug, 'message', jsonb_build_object(
                   'id', m.id, 'room', r.slug, 'author', jsonb_build_object('id', m.author_id,
                   'display_name', 'Bench P.'), 'body', m.body, 'created_at', m.created_at, 'client_id', NULL)),
               m.created_at
        FROM rooms_message m JOIN rooms_room r ON r.id = m.room_id
        """
    )
    cursor.execute(gin)
    cursor.execute("RESET maintenance_work_mem")
    if superuser:
        cursor.execute("RESET session_replication_role")
    cursor.execute("UPDATE rooms_stream SET last_position = (SELECT max(position) FROM rooms_event) WHERE id = 1")
    cursor.execute("UPDATE rooms_room r SET last_message_id = (SELECT max(id) FROM rooms_message m WHERE m.room_id = r.id)")
    cursor.execute("VACUUM ANALYZE")
    cursor.execute("CHECKPOINT")
    return author, scalar(cursor, "SELECT min(id) FROM rooms_room")


def check(cursor, args, results, writer_room, expected_pruned, writer):
    problems = []
    cursor.execute(
        "SELECT room_id, count(*) FROM rooms_message GROUP BY room_id HAVING room_id <> %s AND count(*) <> %s",
        [writer_room, KEEP],
    )
    wrong = cursor.fetchall()
    if wrong:
        problems.append(f"{len(wrong)} rooms do not hold exactly {KEEP}: {wrong[:5]}")
    rooms = scalar(cursor, "SELECT count(DISTINCT room_id) FROM rooms_message")
    if rooms != args.rooms:
        problems.append(f"{rooms} rooms have messages, not {args.rooms}")
    if writer:
        posted = sorted(writer.ids)
        kept = [row[0] for row in query(cursor, "SELECT id FROM rooms_message WHERE room_id = %s ORDER BY id",
                                         [writer_room])]
        if len(kept) < KEEP or any(i not in set(kept) for i in posted if i >= kept[0]):
            problems.append("the writer's room lost a message of its newest window")
    expected_deleted = args.rooms * (args.per_room - KEEP)
    writer_extra = (len(writer.ids) if writer else 0)
    deleted = results["reported_deleted"]
    if deleted is None or not expected_deleted <= deleted <= expected_deleted + writer_extra:
        problems.append(f"reported {deleted} deleted, expected {expected_deleted} (+ up to {writer_extra})")
    orphans = scalar(cursor, "SELECT count(*) FROM rooms_event e LEFT JOIN rooms_message m ON m.id = e.message_id"
                             " WHERE e.message_id IS NOT NULL AND m.id IS NULL")
    if orphans:
        problems.append(f"{orphans} events lost their message")
    pruned = scalar(cursor, "SELECT pruned_through FROM rooms_stream WHERE id = 1")
    if pruned < expected_pruned:
        problems.append(f"pruned_through {pruned} is below the last deleted position {expected_pruned}")
    results["pruned_through"] = pruned
    return "; ".join(problems) or "ok"


class Writer(threading.Thread):
    """Posts through rooms.services at a steady pace and times each post (the app's own write path)."""

    def __init__(self, env, author_id, room_id, interval):
        super().__init__(daemon=True)
        for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE", "SECRET_KEY", "PARLEY_BACKGROUND_THREADS"):
            os.environ[key] = env[key]
        import django

        django.setup()
        self.author_id, self.room_id, self.interval = author_id, room_id, interval
        self.samples = []  # (finished at, seconds)
        self.ids = []
        self.errors = []
        self._halt = threading.Event()

    def run(self):
        from django.db import connection

        from rooms import messaging
        from rooms.models import Room
        from users.models import User

        room, author = Room.objects.get(id=self.room_id), User.objects.get(id=self.author_id)
        n = 0
        while not self._halt.is_set() and n < 1_000_000:
            began = time.monotonic()
            try:
                message, _ = messaging.message_post(room=room, author=author, body=f"during the purge {n}")
                self.ids.append(message.id)
            except Exception as error:  # noqa: BLE001 - a benchmark reports, it does not stop
                self.errors.append(repr(error))
            ended = time.monotonic()
            self.samples.append((ended, ended - began))
            n += 1
            self._halt.wait(self.interval)
        connection.close()

    def stop(self):
        self._halt.set()
        self.join(30)

    def summary(self, start, end):
        during = sorted(seconds for at, seconds in self.samples if start <= at <= end)
        if not during:
            return {"posts": 0, "errors": len(self.errors)}
        return {
            "posts": len(during),
            "errors": len(self.errors),
            "median_ms": round(statistics.median(during) * 1000, 1),
            "p99_ms": round(during[min(len(during) - 1, int(len(during) * 0.99))] * 1000, 1),
            "max_ms": round(during[-1] * 1000, 1),
        }


class BackendSampler(threading.Thread):
    """Samples the purge's PostgreSQL backend (same machine): peak private memory and its reads."""

    def __init__(self, dsn, database, exclude):
        super().__init__(daemon=True)
        self.dsn, self.database, self.exclude = dsn, database, exclude
        self.pids = set()
        self.peak_anon_kib = 0
        self.ticks = {}
        self.readable = True
        self._halt = threading.Event()

    def run(self):
        import psycopg2

        watch = psycopg2.connect(self.dsn)
        watch.autocommit = True
        cursor = watch.cursor()
        while not self._halt.wait(0.1):
            # The purge's connection is the one running DELETEs (the writer's post INSERTs).
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid NOT IN (%s, pg_backend_pid())"
                " AND query ILIKE 'DELETE%%'", [self.database, self.exclude],
            )
            for (pid,) in cursor.fetchall():
                self.pids.add(pid)
            for pid in self.pids:
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                found = re.search(r"RssAnon:\s+(\d+) kB", status)
                if found:
                    self.peak_anon_kib = max(self.peak_anon_kib, int(found.group(1)))
                try:
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.ticks[pid] = int(fields[11]) + int(fields[12])  # utime + stime
        watch.close()

    def stop(self):
        self._halt.set()
        self.join(10)

    @property
    def cpu_seconds(self):
        return sum(self.ticks.values()) / os.sysconf("SC_CLK_TCK")

    def summary(self):
        if not self.pids or not self.peak_anon_kib:
            return {"note": "PostgreSQL backend not visible in /proc (another host or user?)"}
        return {"peak_private_mib": round(self.peak_anon_kib / 1024, 1), "cpu_seconds": round(self.cpu_seconds, 1)}


def machine_busy_seconds():
    """CPU seconds all cores have spent busy since boot (/proc/stat: all but idle and iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def sizes(cursor):
    return {
        table: round(scalar(cursor, "SELECT pg_total_relation_size(%s)", [table]) / 2**20, 1)
        for table in ("rooms_message", "rooms_event")
    }


def scalar(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()[0]


def query(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchall()


def rss_mib(usage):
    return round(usage.ru_maxrss / 1024, 1)  # Linux: KiB


def print_results(r):
    print(f"purge of {r['messages']:,} messages in {r['rooms']:,} rooms (keep {KEEP} each)")
    print(f"  fill (generate_series, VACUUM ANALYZE, CHECKPOINT): {r['fill_seconds']} s")
    print(f"  command: {r['command']}")
    print(f"  wall time: {r['purge_seconds']} s; reported {r['reported_deleted']:,} deleted in "
          f"{r['reported_rooms']} rooms")
    print(f"  peak RSS of the purge process: {r['purge_peak_rss_mib']} MiB; its CPU: {r['purge_cpu_seconds']} s")
    print(f"  cores busy during the purge (of {os.cpu_count()}): {r['cpu_cores_busy']}")
    print(f"  the same command with nothing left to delete: {r['idle_purge_seconds']} s, "
          f"{r['idle_purge_peak_rss_mib']} MiB (Python, Django and the room scan)")
    print(f"  PostgreSQL backend: {r['backend']}; WAL written: {r['wal_mib']} MiB")
    print(f"  table sizes before {r['size_before']} after {r['size_after']} (MiB; space is reused, not returned)")
    if "writer" in r:
        print(f"  a writer posting into a purged room, before the purge: {r['writer_before']}")
        print(f"                                       during the purge: {r['writer']}")
    print(f"  checks: {r['checks']}")


if __name__ == "__main__":
    sys.exit(main())
