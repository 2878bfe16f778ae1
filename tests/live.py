"""Real servers and a plain HTTP client for tests that cross process boundaries."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct-horse-battery-9"


def migrate(database_url):
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT, env=server_env(database_url), check=True,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(database_url, **extra):
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "PARLEY_RATE_LIMITS": "off",
        "SECRET_KEY": "test-secret-key-for-live-servers-only-0123456789",
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    env.update({key: str(value) for key, value in extra.items()})
    return env


class Server:
    """A real gunicorn + gevent Parley server in a child process."""

    def __init__(self, database_url, *, workers=1, log_path=None, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.log = open(log_path, "wb") if log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
            env=server_env(database_url, PORT=self.port, WEB_CONCURRENCY=workers, **env),
        )
        self.wait_ready()

    def wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start; log: {self.log_path}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.log is not subprocess.DEVNULL:
            self.log.close()


class Http:
    """A JSON client for a live server; answers are (status, parsed body)."""

    def __init__(self, base_url, token=None):
        self.base_url = base_url
        self.token = token

    def request(self, method, path, data=None, timeout=70):
        body = None if data is None else json.dumps(data).encode()
        request = urllib.request.Request(self.base_url + path, data=body, method=method)
        request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request("POST", path, data if data is not None else {}, **kwargs)

    @classmethod
    def signup(cls, base_url, first_name, email=None):
        """Register and log in a new user; return a client speaking as them."""
        email = email or f"{first_name.lower()}-{time.monotonic_ns()}@example.com"
        anonymous = cls(base_url)
        status, _ = anonymous.post("/api/auth/register", {
            "email": email, "password": PASSWORD, "first_name": first_name, "last_name": "Live",
        })
        assert status == 201, status
        status, body = anonymous.post("/api/auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, (status, body)
        client = cls(base_url, body["token"])
        client.user = body["user"]
        return client


# Workers' stats lines (PARLEY_STATS_SECONDS, parley/server/worker.py) ----------------------------------


def worker_pids(master_pid):
    try:
        with open(f"/proc/{master_pid}/task/{master_pid}/children") as children:
            return [int(pid) for pid in children.read().split()]
    except FileNotFoundError:
        return []


STATS_LINE = re.compile(r"parley-stats pid=(\d+) (.*)")


def read_stats(log_path):
    """The latest stats line of each worker pid in a server's log."""
    latest = {}
    with open(log_path, errors="replace") as log:
        for line in log:
            if not line.endswith("\n"):
                break  # the worker is still writing it
            match = STATS_LINE.search(line)
            if match:
                latest[int(match[1])] = {key: int(value) for key, value in
                                         (pair.split("=") for pair in match[2].split()) if value != "None"}
    return latest


def stats_lines(log_path, pid):
    """How many stats lines the worker `pid` has logged so far."""
    with open(log_path, errors="replace") as log:
        return sum(1 for line in log if f"parley-stats pid={pid} " in line)


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, message() if callable(message) else message
        time.sleep(0.05)


def live_stats(server):
    """Stats of the server's current workers (not of the ones that died)."""
    pids = set(worker_pids(server.process.pid))
    return {pid: stats for pid, stats in read_stats(server.log_path).items() if pid in pids}
