"""The server under test: a fresh PostgreSQL database, gunicorn, and what its processes cost.

CPU and memory are read from /proc, the same numbers `ps` and `top` show:
CPU is utime+stime of every process in the server's tree plus the
cutime+cstime of reaped children (so a worker that restarts mid-run still
counts); memory is RSS summed over the tree (shared pages counted once per
process, which overstates a forked server a little) and PSS (shared pages
split between the processes that map them, which does not).
"""
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"


# /proc ---------------------------------------------------------------------------


def read_stat(pid):
    """Return (ppid, cpu seconds incl. reaped children, rss bytes) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2:].split()
    # fields[0] is field 3 (state) of proc(5): ppid=4, utime=14, stime=15, cutime=16, cstime=17, rss=24.
    ppid = int(fields[1])
    cpu = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / CLOCK_TICKS
    return ppid, cpu, int(fields[21]) * PAGE_SIZE


def read_pss(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def process_tree(root_pid):
    """Return the pids of `root_pid` and all its descendants."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat:
                children.setdefault(stat[0], []).append(int(name))
    tree, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


class TreeUsage:
    """Sum CPU and memory over a process tree; children are re-listed every `relist` seconds."""

    def __init__(self, root_pid, relist=2.0):
        self.root_pid = root_pid
        self.relist = relist
        self._pids = []
        self._listed = 0.0

    def pids(self):
        if time.monotonic() - self._listed > self.relist:
            self._pids = process_tree(self.root_pid)
            self._listed = time.monotonic()
        return self._pids

    def sample(self, pss=False):
        cpu = rss = pss_total = 0
        for pid in self.pids():
            stat = read_stat(pid)
            if stat:
                cpu += stat[1]
                rss += stat[2]
                if pss:
                    pss_total += read_pss(pid)
        return {"cpu": cpu, "rss": rss, "pss": pss_total}


class Sampler(threading.Thread):
    """Sample the server (and PostgreSQL) every `interval` seconds until stopped."""

    def __init__(self, server_pid, postmaster_pid=None, database=None, interval=0.5):
        super().__init__(name="bench-sampler", daemon=True)
        self.server = TreeUsage(server_pid)
        self.postgres = TreeUsage(postmaster_pid, relist=1.0) if postmaster_pid else None
        self.database = database
        self.interval = interval
        self.samples = []  # (time, server rss, server pss, server cpu, pg connections)
        self.peak_rss = 0
        self.peak_pss = 0
        self.peak_pg_connections = 0
        self.peak_lock_waiters = 0  # backends of our database waiting on a lock (the stream row, mostly)
        self.lock_samples = []
        self._stop_event = threading.Event()
        self._pg = None

    def pg_connections(self):
        if not self.database:
            return None
        try:
            if self._pg is None:
                import psycopg2

                self._pg = psycopg2.connect(ADMIN_URL)
                self._pg.autocommit = True
            with self._pg.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*), count(*) FILTER (WHERE wait_event_type = 'Lock'), "
                    "count(*) FILTER (WHERE state = 'idle in transaction') "
                    "FROM pg_stat_activity WHERE datname = %s", [self.database])
                total, waiting, idle_in_transaction = cursor.fetchone()
                self.lock_samples.append((time.time(), waiting, idle_in_transaction))
                self.peak_lock_waiters = max(self.peak_lock_waiters, waiting)
                return total
        except Exception:
            self._pg = None
            return None

    def run(self):
        n = 0
        while not self._stop_event.is_set():
            usage = self.server.sample(pss=True)
            connections = self.pg_connections() if n % 2 == 0 else None
            n += 1
            self.samples.append((time.time(), usage["rss"], usage["pss"], usage["cpu"], connections))
            self.peak_rss = max(self.peak_rss, usage["rss"])
            self.peak_pss = max(self.peak_pss, usage["pss"])
            if connections is not None:
                self.peak_pg_connections = max(self.peak_pg_connections, connections)
            self._stop_event.wait(self.interval)
        if self._pg is not None:
            self._pg.close()

    def stop(self):
        self._stop_event.set()
        self.join(5)

    def cpu_snapshot(self):
        """Return (server cpu s, PostgreSQL cpu s, machine busy cpu s, wall clock) now.

        PostgreSQL's is the whole cluster's (its backends come and go with each
        connection, so they cannot be told apart by database once reaped): on a
        shared machine it includes other databases' work.
        """
        server = self.server.sample()["cpu"]
        postgres = self.postgres.sample()["cpu"] if self.postgres else None
        return server, postgres, machine_cpu()[0], time.time()

    def memory_now(self, settle=1.5):
        """Return the mean (rss, pss) of the samples of the last `settle` seconds."""
        time.sleep(settle)
        recent = [s for s in self.samples if s[0] >= time.time() - settle] or self.samples[-1:]
        return (sum(s[1] for s in recent) / len(recent), sum(s[2] for s in recent) / len(recent))


def machine_cpu():
    """Return (busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


def machine_busy_cores(seconds):
    """Return how many cores the whole machine kept busy over the next `seconds`."""
    busy0, _ = machine_cpu()
    started = time.monotonic()
    time.sleep(seconds)
    busy1, _ = machine_cpu()
    return (busy1 - busy0) / (time.monotonic() - started)


def wait_for_quiet(max_seconds, threshold=0.3, probe=3.0, log=print):
    """Wait (up to max_seconds) until the machine is nearly idle; return the last busy reading (cores).

    The benchmark shares two cores with whatever else runs here: measuring
    while a test suite runs next to it measures the test suite.
    """
    deadline = time.monotonic() + max_seconds
    busy = machine_busy_cores(probe)
    while busy > threshold and time.monotonic() < deadline:
        log(f"machine busy ({busy:.2f} cores used by other processes); waiting for quiet")
        busy = machine_busy_cores(probe)
    return busy


# PostgreSQL ------------------------------------------------------------------------


def create_database():
    """Create a fresh database; return (url, name)."""
    import psycopg2

    name = f"parley_bench_delivery_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    admin.close()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(name):
    import psycopg2

    admin = psycopg2.connect(ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def postmaster_pid(database_url):
    """Return the PostgreSQL server's pid when it runs on this machine and we may read its files."""
    try:
        import psycopg2

        conn = psycopg2.connect(database_url)
        with conn.cursor() as cursor:
            cursor.execute("SHOW data_directory")
            data_directory = cursor.fetchone()[0]
        conn.close()
        with open(Path(data_directory) / "postmaster.pid") as handle:
            return int(handle.readline())
    except Exception:
        return None


# gunicorn --------------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url, **extra):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PARLEY_RATE_LIMITS": "off",
        # Every client comes from 127.0.0.1 (10,000 of them with --preset idle), which is exactly
        # what the per-address cap on waiting polls refuses; each client is its own user, so
        # the per-user cap (always on) holds as in production. --server-env can set it back.
        "PARLEY_POLL_CONCURRENCY_IP": "off",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or "bench-secret-key-loopback-only-0123456789abcdef",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
    }
    env.pop("PARLEY_ACCESS_LOG", None)  # an access log line per poll would be part of what we measure
    env.update({key: str(value) for key, value in extra.items()})
    return env


def migrate(database_url):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=server_env(database_url, PARLEY_BACKGROUND_THREADS="off"), check=True,
    )


class Server:
    """gunicorn -c config/gunicorn.py <app> (config.wsgi) on a free loopback port."""

    def __init__(self, database_url, *, workers, log_path, env=None, app="config.wsgi"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", app],
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
            env=server_env(database_url, PORT=self.port, WEB_CONCURRENCY=workers, **(env or {})),
        )
        self.workers = workers

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; see {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200 and len(self.worker_pids()) >= self.workers:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not become ready in {timeout}s; see {self.log_path}")

    def worker_pids(self):
        return [pid for pid in process_tree(self.process.pid) if pid != self.process.pid]

    def stop(self):
        """SIGTERM the master (it stops its workers), then SIGKILL by pid whatever is left."""
        workers = self.worker_pids()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pid in workers:
            if _is_gunicorn(pid):  # still ours (a pid could in theory be reused)
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self._log.close()


class StubServer(Server):
    """bench/stub.py instead of Parley: the same interface, for calibrating the load generator."""

    def __init__(self, *, rooms, log_path, fault=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.stub", "--port", str(self.port), "--rooms", str(rooms)]
            + (["--fault", fault] if fault else []),
            cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self.workers = 0

    def worker_pids(self):
        return [self.process.pid]

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._log.close()


def _is_gunicorn(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"gunicorn" in handle.read()
    except OSError:
        return False
