"""The floor: one empty poll next to the cheapest request the same gunicorn can answer (issue 15).

    python -m bench.floor [--concurrency 32] [--seconds 10] [--quiet-wait 60] [--json FILE]

Starts, one after the other, `gunicorn -c config/gunicorn.py` (the same
config and gevent worker as Parley's, one worker) serving

- `hello`: bench/hello.py, a WSGI app that answers `{}` and does nothing else;
- `poll, Django`: Parley with PARLEY_LEAN_POLL=off, every poll through Django's handler;
- `poll, lean`: Parley as shipped, polls on rooms/events_wsgi.py's path;

and keeps `--concurrency` keep-alive clients asking back to back for
`--seconds`: the hello app gets `GET /`, Parley an empty poll,
`GET /api/events?cursor=<head>&timeout=0` with each client's own token
(nothing is posted, so every answer is `{"cursor": ..., "events": []}`; a
poll with timeout=0 reads the stream head, one short query). It reports
requests per second and the server's CPU per request (utime+stime of the
gunicorn tree from /proc, as `python -m bench` counts it). The load
generator is this process (gevent), on the other core.
"""
from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import gevent  # noqa: E402

from bench.http import Connection  # noqa: E402
from bench.server import (  # noqa: E402
    Server, TreeUsage, create_database, drop_database, machine_busy_cores, machine_cpu, migrate, wait_for_quiet,
)


def log(message):
    print(f"[floor {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class HelloServer(Server):
    """The same gunicorn command and config, serving bench/hello.py."""

    def __init__(self, *, log_path):
        super().__init__("sqlite://", workers=1, log_path=log_path, app="bench.hello")


def hammer(port, paths, tokens, seconds):
    """Keep one client per path asking back to back; return (answers, errors, wall seconds)."""
    counts = {"ok": 0, "errors": 0}
    deadline = time.monotonic() + seconds

    def client(path, token):
        connection = Connection("127.0.0.1", port, token=token, timeout=10)
        while time.monotonic() < deadline:
            try:
                status, _ = connection.request("GET", path)
            except Exception:
                counts["errors"] += 1
                continue
            counts["ok" if status == 200 else "errors"] += 1
        connection.close()

    started = time.monotonic()
    gevent.joinall([gevent.spawn(client, path, token) for path, token in zip(paths, tokens)])
    return counts["ok"], counts["errors"], time.monotonic() - started


def measure(name, server, paths, tokens, seconds):
    usage = TreeUsage(server.process.pid)
    hammer(server.port, paths, tokens, 1.0)  # warm up
    cpu0, busy0 = usage.sample()["cpu"], machine_cpu()[0]
    answers, errors, wall = hammer(server.port, paths, tokens, seconds)
    cpu1, busy1 = usage.sample()["cpu"], machine_cpu()[0]
    cpu = cpu1 - cpu0
    result = {
        "name": name, "requests": answers, "errors": errors, "seconds": round(wall, 2),
        "requests_per_s": round(answers / wall, 1), "server_cores": round(cpu / wall, 3),
        "cpu_ms_per_request": round(1000 * cpu / max(answers, 1), 3),
        "machine_busy_cores": round((busy1 - busy0) / wall, 3),
    }
    log(f"{name}: {result['requests_per_s']} req/s, {result['cpu_ms_per_request']} ms CPU per request, "
        f"server {result['server_cores']} cores, errors {errors}")
    return result


def parley_clients(database_url, concurrency, workdir):
    from bench.cli import seed_bulk

    setup = seed_bulk(database_url, SimpleNamespace(clients=concurrency, rooms=1, cold_presence=False),
                      f"floor{int(time.time())}", workdir)
    return [user["token"] for user in setup["users"]]


def run(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--quiet-wait", type=float, default=60.0)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)

    idle_before = wait_for_quiet(args.quiet_wait, log=log)
    log(f"machine busy before start: {idle_before:.2f} cores")
    workdir = Path(tempfile.mkdtemp(prefix="parley-floor-"))
    results = []

    hello = HelloServer(log_path=workdir / "hello.log")
    try:
        hello.wait_ready()
        results.append(measure("hello (bench/hello.py)", hello, ["/"] * args.concurrency,
                               [None] * args.concurrency, args.seconds))
    finally:
        hello.stop()

    database_url, database = create_database()
    try:
        migrate(database_url)
        tokens = parley_clients(database_url, args.concurrency, workdir)
        for name, lean in (("empty poll, Django (PARLEY_LEAN_POLL=off)", "off"), ("empty poll, lean path", "on")):
            server = Server(database_url, workers=1, log_path=workdir / f"parley-{lean}.log",
                            env={"PARLEY_LEAN_POLL": lean})
            try:
                server.wait_ready()
                first = Connection("127.0.0.1", server.port, token=tokens[0])
                status, body = first.request("GET", "/api/events")
                first.close()
                assert status == 200, body
                cursor = json.loads(body)["cursor"]
                path = f"/api/events?cursor={cursor}&timeout=0"
                results.append(measure(name, server, [path] * len(tokens), tokens, args.seconds))
            finally:
                server.stop()
    finally:
        drop_database(database)

    busy = machine_busy_cores(1.0)
    print(f"\nFloor: {args.concurrency} keep-alive clients back to back, {args.seconds:g} s each, one gunicorn worker")
    print(f"{'server':45} {'req/s':>9} {'CPU ms/req':>11} {'server cores':>13} {'machine busy':>13}")
    for result in results:
        print(f"{result['name']:45} {result['requests_per_s']:>9} {result['cpu_ms_per_request']:>11} "
              f"{result['server_cores']:>13} {result['machine_busy_cores']:>13}")
    hello_ms = results[0]["cpu_ms_per_request"]
    for result in results[1:]:
        print(f"  {result['name']}: {result['cpu_ms_per_request'] / hello_ms:.1f}x the hello app's CPU per request")
    print(f"machine busy before / after: {idle_before:.2f} / {busy:.2f} cores")
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "busy_before": idle_before}, indent=2))
    return 0 if all(result["errors"] == 0 for result in results) else 1


if __name__ == "__main__":
    sys.exit(run())
