"""`python -m bench`: run a delivery benchmark against a real gunicorn + PostgreSQL server.

Steps: create a fresh PostgreSQL database and migrate it; make the users,
rooms and memberships (bulk through Django by default, or through the API);
start gunicorn -c config/gunicorn.py on a free loopback port; measure its
memory before any client; ramp up the long-polling clients; let the senders
post for --duration seconds; wait up to --grace seconds for every expected
copy; stop everything and print (and optionally write as JSON) the numbers.
See docs/benchmarks.md for what each number means and the recorded results.
"""
import argparse
import json
import multiprocessing
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
import uuid
from multiprocessing.connection import wait as wait_pipes
from pathlib import Path

from . import load, report
from .server import (
    ROOT, Sampler, Server, StubServer, create_database, drop_database, migrate, postmaster_pid, wait_for_quiet,
)

PRESETS = {
    # 10,000 idle pollers: memory and CPU per waiting client.
    "idle": dict(clients=10_000, rooms=100, senders=0, rate=0.0, duration=40, settle=10,
                 ramp_rate=500, ramp_concurrency=16),
    # A lively chat: 200 people in 20 rooms, one sender per room, 50 messages/s in all.
    "chat": dict(clients=200, rooms=20, senders=20, rate=50.0, duration=30, settle=3,
                 ramp_rate=1000, ramp_concurrency=32),
    # A burst: 500 people in 5 rooms (100 each), 100 senders, 500 messages/s in all.
    "burst": dict(clients=500, rooms=5, senders=100, rate=500.0, duration=30, settle=3,
                  ramp_rate=1000, ramp_concurrency=32),
}

TARGETS = {
    "idle": "10,000 polls held at < 30 KB server memory per client and < 0.5 of one core",
    "chat": "delay p99 < 50 ms, 0 lost, 0 duplicated",
    "burst": "every offered send taken, POST p99 < 250 ms, 0 lost, 0 duplicated, delivery p99 < 2 s (issue 15)",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="chat")
    parser.add_argument("--clients", type=int, help="long-polling users (N)")
    parser.add_argument("--rooms", type=int, help="rooms (M); user i joins room i %% M")
    parser.add_argument("--senders", type=int, help="users who also post (S), the first S users")
    parser.add_argument("--rate", type=float, help="messages per second in all (R)")
    parser.add_argument("--duration", type=float, help="seconds of sending (and of the idle CPU window)")
    parser.add_argument("--workers", type=int, default=os.cpu_count(), help="gunicorn workers (WEB_CONCURRENCY)")
    parser.add_argument("--database-url", help="use this PostgreSQL database (migrated, then added to) "
                        "instead of creating a fresh one on 127.0.0.1:5432")
    parser.add_argument("--timeout", type=int, default=25, help="each poll's timeout parameter (seconds)")
    parser.add_argument("--grace", type=float, default=10, help="seconds after the last send to wait for deliveries")
    parser.add_argument("--settle", type=float, help="seconds between the end of the ramp and the measured window")
    parser.add_argument("--ramp-rate", type=float, help="new client connections per second")
    parser.add_argument("--ramp-timeout", type=float, metavar="SECONDS",
                        help="how long clients may take to get their first cursor (default clients/ramp-rate + 60)")
    parser.add_argument("--ramp-concurrency", type=int,
                        help="at most this many clients' first polls in flight at once (per load generator)")
    parser.add_argument("--procs", type=int, default=1, help="load-generator processes (clients are split)")
    parser.add_argument("--setup", choices=("bulk", "api"), default="bulk",
                        help="make users through Django in bulk (default) or register+login through the API")
    parser.add_argument("--cold-presence", action="store_true",
                        help="bulk setup: start users offline, so each first poll writes an 'online' event "
                        "(default: online, as when clients reconnect after a restart)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server (repeatable)")
    parser.add_argument("--profile", metavar="DIR", help="py-spy record every worker during the window into DIR")
    parser.add_argument("--stub", action="store_true",
                        help="run against bench/stub.py (an in-memory stand-in) to calibrate the load generator")
    parser.add_argument("--stub-fault", metavar="drop:N|duplicate:N",
                        help="with --stub: lose or duplicate every Nth message, to see the counts catch it")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    parser.add_argument("--quiet-wait", type=float, default=300, metavar="SECONDS",
                        help="first wait up to this long for the machine to be idle (other processes < 0.3 cores)")
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database it created")
    args = parser.parse_args(argv)
    for name, value in PRESETS[args.preset].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.senders > args.clients:
        parser.error("--senders cannot exceed --clients (senders are the first S clients)")
    if args.senders and args.rate <= 0:
        parser.error("--rate must be positive when there are senders")
    if args.rooms < 1 or args.clients < 1:
        parser.error("need at least one client and one room")
    if args.profile and not Path(sys.executable).with_name("py-spy").exists():
        parser.error(f"--profile needs py-spy in the venv: {Path(sys.executable).parent}/pip install py-spy")
    return args


def machine_facts():
    facts = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                facts["cpu"] = line.split(":", 1)[1].strip()
                break
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal"):
                facts["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        for package in ("django", "gunicorn", "gevent", "greenlet", "psycopg2-binary"):
            facts[package] = version(package)
    except Exception:
        pass
    return facts


def code_version():
    """Return the commit measured and whether the server's files differed from it (others edit the tree)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "config", "rooms", "users"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.split("\n")
        return {"commit": head, "uncommitted_server_files": sorted(line[3:] for line in dirty if line.strip())}
    except Exception:
        return None


def postgres_version(url):
    try:
        import psycopg2

        conn = psycopg2.connect(url)
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            answer = cursor.fetchone()[0]
        conn.close()
        return answer
    except Exception:
        return None


def seed_bulk(database_url, args, run_id, workdir):
    out = Path(workdir) / "seed.json"
    subprocess.run(
        [sys.executable, "-m", "bench.seed", "--users", str(args.clients), "--rooms", str(args.rooms),
         "--prefix", run_id, "--out", str(out)] + (["--offline"] if args.cold_presence else []),
        cwd=ROOT, check=True,
        env={**os.environ, "DATABASE_URL": database_url, "PARLEY_BACKGROUND_THREADS": "off",
             "DJANGO_SETTINGS_MODULE": "config.settings", "LOG_LEVEL": "WARNING"},
    )
    setup = json.loads(out.read_text())
    out.unlink()  # tokens: no need to leave them lying around
    return setup


def run_child(context, target, config):
    parent_end, child_end = context.Pipe()
    process = context.Process(target=target, args=(child_end, config), daemon=True)
    process.start()
    child_end.close()
    return process, parent_end


def expect(pipe, kind, timeout):
    if not pipe.poll(timeout):
        raise RuntimeError(f"load generator sent no {kind!r} within {timeout:.0f}s")
    message = pipe.recv()
    if message[0] == "error":
        raise RuntimeError(f"load generator failed: {message[1]} {message[2] if len(message) > 2 else ''}")
    if message[0] != kind:
        raise RuntimeError(f"load generator said {message[0]!r}, expected {kind!r}")
    return message[1:]


def gather(pipes, kind, timeout):
    """Wait for `kind` from every pipe; return the answers in pipe order."""
    answers = {}
    deadline = time.monotonic() + timeout
    while len(answers) < len(pipes):
        remaining = deadline - time.monotonic()
        ready = wait_pipes([p for p in pipes if id(p) not in answers], timeout=max(remaining, 0))
        if not ready:
            raise RuntimeError(f"load generators sent no {kind!r} within {timeout:.0f}s")
        for pipe in ready:
            answers[id(pipe)] = expect(pipe, kind, 0)
    return [answers[id(p)] for p in pipes]


def start_profiles(server, directory, seconds, preset):
    Path(directory).mkdir(parents=True, exist_ok=True)
    py_spy = Path(sys.executable).with_name("py-spy")
    if not py_spy.exists():
        raise RuntimeError(f"--profile needs py-spy in the venv: {Path(sys.executable).parent}/pip install py-spy")
    profilers = []
    for n, pid in enumerate(server.worker_pids()):
        out = Path(directory) / f"{preset}-worker{n}.txt"
        profilers.append(subprocess.Popen(
            [str(py_spy), "record", "-p", str(pid), "-d", str(int(seconds)), "-r", "100", "-f", "raw",
             "--nonblocking", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        ))
    return profilers


def warm_up(server, tokens):
    """Send a few concurrent requests so every worker has imported the views before the baseline."""
    import concurrent.futures
    import urllib.request

    def hit(token):
        request = urllib.request.Request(server.url + "/api/me", headers={"Authorization": f"Token {token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            answer.read()

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(hit, (tokens * 64)[:64]))


def main(argv=None):
    try:
        return run(argv)
    except RuntimeError as error:
        print(f"\nbench aborted: {error}", file=sys.stderr, flush=True)
        return 2


def run(argv=None):
    args = parse_args(argv)
    command = "python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    run_id = f"b{uuid.uuid4().hex[:8]}"
    workdir = tempfile.mkdtemp(prefix=f"parley-bench-{args.preset}-")
    context = multiprocessing.get_context("spawn")
    server = sampler = None
    children = []
    created = None
    log = lambda text: print(f"[bench {time.strftime('%H:%M:%S')}] {text}", flush=True)  # noqa: E731
    try:
        quiet_before = wait_for_quiet(args.quiet_wait, log=log) if args.quiet_wait > 0 else None
        if args.stub:
            database_url = database = None
            server = StubServer(rooms=args.rooms, log_path=Path(workdir) / "server.log", fault=args.stub_fault)
            server.wait_ready()
            setup = {"setup": "stub", "seconds": 0, "rooms": [f"room-{j}" for j in range(args.rooms)],
                     "users": [{"id": i, "token": f"stub{i}", "rooms": [f"room-{i % args.rooms}"]}
                               for i in range(args.clients)]}
            log(f"stub server on {server.url} (calibration: no Parley, no database)")
        elif args.database_url:
            database_url = args.database_url
            database = database_url.rsplit("/", 1)[1].split("?")[0]
        else:
            database_url, database = create_database()
            created = database
        if not args.stub:
            log(f"database {database}; migrating")
            migrate(database_url)
            setup = None
            if args.setup == "bulk":
                log(f"bulk-creating {args.clients} users, {args.rooms} rooms, memberships and tokens through Django")
                setup = seed_bulk(database_url, args, run_id, workdir)
            server_env = dict(item.split("=", 1) for item in args.server_env)
            server = Server(database_url, workers=args.workers, log_path=Path(workdir) / "server.log", env=server_env)
            server.wait_ready()
            log(f"server on {server.url}, workers {server.worker_pids()}; log {server.log_path}")
        if args.setup == "api" and not args.stub:
            log(f"registering and logging in {args.clients} users through the API (PBKDF2: slow by design)")
            process, pipe = run_child(context, load.api_setup_main, {
                "host": "127.0.0.1", "port": server.port, "run_id": run_id, "password": "bench-password-7431",
                "users": args.clients, "rooms": args.rooms,
            })
            (setup,) = expect(pipe, "done", 3600)
            process.join(10)
        log(f"setup ({setup['setup']}) took {setup['seconds']}s")
        users = setup["users"]
        warm_up(server, [u["token"] for u in users[:16]])

        sampler = Sampler(server.process.pid, postmaster_pid(database_url) if database_url else None, database)
        sampler.start()
        rss_before, pss_before = sampler.memory_now(settle=2.0)
        log(f"server RSS before clients: {rss_before / 2**20:.1f} MiB (PSS {pss_before / 2**20:.1f} MiB)")

        # Clients and senders, split across the load-generator processes.
        procs = max(1, min(args.procs, args.clients))
        per_room = {}
        for user in users:
            for slug in user["rooms"]:
                per_room[slug] = per_room.get(slug, 0) + 1
        configs = [{
            "host": "127.0.0.1", "port": server.port, "run_id": run_id, "poll_timeout": args.timeout,
            "ramp_rate": args.ramp_rate / procs, "ramp_concurrency": args.ramp_concurrency,
            "clients": [], "senders": [],
            "ready_timeout": args.ramp_timeout or args.clients / args.ramp_rate + 60,
        } for _ in range(procs)]
        for index, user in enumerate(users):
            configs[index % procs]["clients"].append((index, user))
        for index in range(args.senders):
            user = users[index]
            configs[index % procs]["senders"].append({
                "index": index, "token": user["token"], "room": user["rooms"][0],
                "rate": args.rate / args.senders, "phase": index / args.rate,
            })
        log(f"starting {procs} load generator(s): {args.clients} pollers, ramp {args.ramp_rate:.0f}/s")
        ramp_start = time.time()
        cpu_before_ramp = sampler.cpu_snapshot()
        for config in configs:
            children.append(run_child(context, load.child_main, config))
        pipes = [pipe for _, pipe in children]
        readies = gather(pipes, "ready", (args.ramp_timeout or args.clients / args.ramp_rate + 60) + 120)
        ramp_seconds = time.time() - ramp_start
        cpu_after_ramp = sampler.cpu_snapshot()
        with_cursor = sum(r[0]["with_cursor"] for r in readies)
        if with_cursor < args.clients:
            log(f"WARNING: only {with_cursor} of {args.clients} clients got a cursor within the ramp timeout; "
                f"going on (the report shows it)")
        log(f"{with_cursor} clients polling after {ramp_seconds:.1f}s; settling {args.settle:.0f}s")
        time.sleep(args.settle)
        rss_after_ramp, pss_after_ramp = sampler.memory_now(settle=1.0)

        send_start = time.time() + 0.5
        send_end = send_start + args.duration
        profilers = start_profiles(server, args.profile, args.duration, args.preset) if args.profile else []
        for pipe in pipes:
            pipe.send(("go", send_start, send_end))
        time.sleep(max(0, send_start - time.time()))
        cpu_start = sampler.cpu_snapshot()
        log(f"window of {args.duration:.0f}s: {args.senders} senders at {args.rate:g} msg/s in all")
        time.sleep(max(0, send_end - time.time()))
        cpu_end = sampler.cpu_snapshot()
        answers = gather(pipes, "sent", load.SEND_TIMEOUT + 60)
        sent = [record for records, _ in answers for record in records]
        skipped = sum(n for _, n in answers)
        sends_done = time.time()
        expected = {}
        for record in sent:
            if record["id"] is not None:
                expected.setdefault(record["room"], []).append(record["id"])
        deadline = time.time() + args.grace
        for pipe in pipes:
            pipe.send(("expect", expected, deadline))
        log(f"{len(sent)} sends; waiting up to {args.grace:.0f}s for deliveries")
        dones = [done for (done,) in gather(pipes, "done", args.grace + 60)]
        cpu_final = sampler.cpu_snapshot()
        for profiler in profilers:
            try:
                profiler.wait(args.duration + 30)
            except subprocess.TimeoutExpired:
                profiler.kill()
        sampler.stop()
        result = report.build(
            args=args, command=command, machine={**machine_facts(), "postgresql": postgres_version(database_url) if database_url else None}, code=code_version(),
            setup=setup, per_room=per_room, readies=[r[0] for r in readies], ramp_seconds=ramp_seconds,
            sampler=sampler, rss_before=rss_before, pss_before=pss_before, rss_after_ramp=rss_after_ramp,
            pss_after_ramp=pss_after_ramp, cpu_before_ramp=cpu_before_ramp, cpu_after_ramp=cpu_after_ramp,
            cpu_start=cpu_start, cpu_end=cpu_end, cpu_final=cpu_final, send_start=send_start, send_end=send_end,
            sends_done=sends_done, sent=sent, skipped=skipped, dones=dones, server_log=server.log_path,
            profile_dir=args.profile, target=TARGETS[args.preset], quiet_before=quiet_before,
        )
        print(report.table(result), flush=True)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
            log(f"wrote {args.json}")
        return 0 if result["verdict"]["pass"] else 1
    finally:
        for process, pipe in children:
            process.join(5)
            if process.is_alive():
                process.terminate()
                process.join(5)
        if sampler is not None and sampler.is_alive():
            sampler.stop()
        if server is not None:
            server.stop()
        if created and not args.keep_db:
            try:
                drop_database(created)
            except Exception as error:
                print(f"could not drop database {created}: {error}", file=sys.stderr)
