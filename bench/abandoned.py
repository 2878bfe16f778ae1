"""What clients that vanish mid-poll cost a server afterwards (run by hand).

    .venv/bin/python -m bench.abandoned                  # 3 rounds of 10,000 on SQLite
    .venv/bin/python -m bench.abandoned --polls 2000 --rounds 2 --timeout 3
    DATABASE_URL=postgres://... .venv/bin/python -m bench.abandoned

Starts one gunicorn gevent worker (config/gunicorn.py) with the stats line on
(PARLEY_STATS_SECONDS, parley/server/worker.py), makes one user, and in each round
opens N connections that each send a poll and vanish at once (half closing
with FIN, half with RST), as a phone that loses its network would. Each poll
waits its timeout, answers into a dead socket, and must leave nothing behind.
After each round it waits until no poll waits and prints what the worker
holds: waiting polls, greenlets, file descriptors, resident memory. A leak
shows as RSS or greenlets growing round after round; the first round also
pays for warming up (imports, caches, the allocator's arenas).

tests/test_faults.py::test_abandoned_polls_leave_no_waiter_greenlet_or_descriptor_behind
is the small version that CI runs (1,000 polls, asserting waiters, greenlets
and descriptors come back); this script adds the memory over 10,000s.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import Server, migrate  # noqa: E402
from tests.test_faults import abandon_polls, call, live_stats, make_people, worker_pids  # noqa: E402


def wait_settled(server, pid, baseline, limit, not_before):
    """Wait until the worker has no waiting poll and is back near its baseline; return (stats, peak waiting).

    Not before `not_before` (monotonic): until the polls' timeout has passed, an
    old stats line may still say "nothing waits".
    """
    peak, deadline = 0, time.monotonic() + limit
    while time.monotonic() < deadline:
        stats = live_stats(server).get(pid, {})
        peak = max(peak, stats.get("waiting", 0))
        if time.monotonic() < not_before:
            time.sleep(0.5)
            continue
        if (stats.get("waiting") == 0 and stats.get("greenlets", 1e9) <= baseline["greenlets"] + 2
                and stats.get("fds", 1e9) <= baseline["fds"] + 2):
            return stats, peak
        time.sleep(0.5)
    return live_stats(server).get(pid, {}), peak


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--polls", type=int, default=10_000, help="abandoned polls per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--timeout", type=int, default=5, help="each poll's timeout, seconds")
    args = parser.parse_args(argv)

    database_url = os.environ.get("DATABASE_URL")
    with tempfile.TemporaryDirectory() as directory:
        if not database_url:
            database_url = f"sqlite:///{directory}/abandoned.sqlite3"
            migrate(database_url)
        # One user from one address abandons every poll: lift the caps on waiting polls, which would refuse most.
        server = Server(database_url, log_path=Path(directory) / "server.log", PARLEY_STATS_SECONDS=3,
                        PARLEY_POLL_CONCURRENCY=args.polls, PARLEY_POLL_CONCURRENCY_IP="off")
        try:
            (person,) = make_people(database_url, "Abandoner")
            token = person["token"]
            cursor = call(server.url, token, "GET", "/api/events").body["cursor"]
            call(server.url, token, "GET", f"/api/events?cursor={cursor}&timeout=0")
            (pid,) = worker_pids(server.process.pid)
            time.sleep(3.5)
            baseline = live_stats(server)[pid]
            print(f"{'round':>5} {'polls':>7} {'send s':>7} {'settle s':>8} {'peak wait':>9} "
                  f"{'waiting':>7} {'greenlets':>9} {'fds':>5} {'RSS MiB':>8}")
            print(f"{'base':>5} {0:>7} {'':>7} {'':>8} {'':>9} {baseline['waiting']:>7} "
                  f"{baseline['greenlets']:>9} {baseline['fds']:>5} {baseline['rss_kib'] / 1024:>8.1f}")
            for round_number in range(1, args.rounds + 1):
                started = time.monotonic()
                abandon_polls(server.port, token, cursor, args.polls, args.timeout)
                sent = time.monotonic() - started
                stats, peak = wait_settled(server, pid, baseline, limit=args.polls / 20 + args.timeout + 60,
                                           not_before=time.monotonic() + args.timeout + 1.5)
                time.sleep(3.5)  # one more stats line, for the settled memory
                stats = live_stats(server)[pid]
                print(f"{round_number:>5} {args.polls:>7} {sent:>7.1f} {time.monotonic() - started:>8.1f} "
                      f"{peak:>9} {stats['waiting']:>7} {stats['greenlets']:>9} {stats['fds']:>5} "
                      f"{stats['rss_kib'] / 1024:>8.1f}", flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
