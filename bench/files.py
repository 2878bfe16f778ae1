"""Files (issue 12): upload and download throughput, a thumbnail to 200 clients at once, a free app worker.

    .venv/bin/python -m bench.files [--file-mb 20] [--downloads 20] [--clients 200] [--uploads 10 --upload-mb 4]

Everything on loopback, on a fresh PostgreSQL database, bounded in time (a
few seconds per part). Two gunicorn servers, one worker each, on that
database and one shared MEDIA_ROOT:

- S streams files itself (PARLEY_X_ACCEL_REDIRECT empty);
- X answers X-Accel-Redirect, behind an nginx made from deploy/nginx.conf
  (tests/test_proxy.py's test variant: HTTPS, the app under /chat/).

S is measured directly (plain HTTP) and behind its own nginx from the same
file (HTTPS, nginx proxying and buffering the stream), so "app" and "nginx"
compare like for like. Reported: MB/s of N concurrent downloads of one large
file and the app server's CPU seconds for them; a thumbnail fetched by 200
clients at once (each its own user and connection), p50/p99 and requests/s;
/healthz and an events poll (timeout=0) on the app server every 50 ms while 20
downloads run at 5 MB/s each (clients that read slowly, as real ones do).
Uploads go through POST /api/rooms/{slug}/uploads when the tree has it; else
that part says so and the files are stored the way the endpoint stores them.
"""
import argparse
import http.client
import io
import json
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

import psycopg2

from bench.server import TreeUsage
from tests.live import ROOT, Server, migrate, server_env
from tests.test_proxy import start_nginx

PG_ADMIN_URL = "postgres://postgres@127.0.0.1:5432/test"

SEED = """
import json, sys
from django.core.files.base import ContentFile
from rooms import messaging, services
from rooms.models import Upload
from users.models import User
from users.services import token_create
spec = json.loads(sys.stdin.buffer.readline())
tag = spec["tag"]
people = [User.objects.create_user(f"files-{tag}-{n}@bench.example", "bench-password-1", first_name=f"Reader{n}",
                                   last_name="Bench") for n in range(spec["users"])]
room = services.room_create(creator=people[0], name=f"files {tag}")
out = {"slug": room.slug, "tokens": [token_create(user=person) for person in people], "uploads": {}}
for name, size in spec["files"].items():
    message, _ = messaging.message_post(room=room, author=people[0], body=name)
    upload = Upload(uploader=people[0], room=room, message=message, name=name, size=size,
                    content_type="image/png" if name.endswith(".png") else "application/octet-stream")
    upload.file.save("x", ContentFile(bytes(range(256)) * (size // 256)), save=False)
    if name.endswith(".png"):
        upload.thumbnail.save(f"{upload.id}.png", ContentFile(sys.stdin.buffer.read()), save=False)
    upload.save()
    out["uploads"][name] = {"id": upload.id, "path": f"/files/{upload.id}/{name}", "thumbnail": f"/files/{upload.id}/thumbnail"}
print(json.dumps(out))
"""


def thumbnail_png():
    """A 400x300 PNG of noise-like colour, about what a photo's thumbnail weighs."""
    from PIL import Image

    image = Image.frombytes("RGB", (400, 300), bytes((i * 7919) % 251 for i in range(400 * 300 * 3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class Target:
    """Where to send requests: a scheme/host/port, a path prefix, a TLS context or none."""

    def __init__(self, label, origin, prefix="", cafile=None):
        parts = urllib.parse.urlsplit(origin)
        self.label, self.host, self.port, self.prefix = label, parts.hostname, parts.port, prefix
        self.context = ssl.create_default_context(cafile=cafile) if parts.scheme == "https" else None

    def connect(self):
        if self.context:
            return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=60)
        return http.client.HTTPConnection(self.host, self.port, timeout=60)

    def get(self, path, token, connection=None, rate=None):
        """GET and read the whole body (at `rate` bytes/s at most); return (status, headers, bytes read, seconds)."""
        own = connection is None
        connection = connection or self.connect()
        started = time.perf_counter()
        connection.request("GET", self.prefix + path, headers={"Authorization": f"Token {token}"})
        response = connection.getresponse()
        total = 0
        while True:
            chunk = response.read(256 * 1024)
            if not chunk:
                break
            total += len(chunk)
            if rate:
                ahead = total / rate - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        seconds = time.perf_counter() - started
        if own:
            connection.close()
        return response.status, dict(response.getheaders()), total, seconds


def run_together(count, work):
    """Run work(i) in `count` threads released at once; return their results in order."""
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = work(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def downloads(target, path, tokens, count, size, server):
    usage = TreeUsage(server.process.pid)
    cpu0, started = usage.sample()["cpu"], time.perf_counter()
    results = run_together(count, lambda i: target.get(path, tokens[i % len(tokens)]))
    wall = time.perf_counter() - started
    cpu = usage.sample()["cpu"] - cpu0
    assert all(status == 200 and got == size for status, _, got, _ in results), results[:3]
    return {"mb_s": count * size / 1e6 / wall, "wall": wall, "app_cpu": cpu}


def thumbnails(target, path, tokens, clients):
    connections = [target.connect() for _ in range(clients)]
    for connection, token in zip(connections, tokens):  # connected and authenticated once, as live clients are
        target.get(path, token, connection)
    started = time.perf_counter()
    results = run_together(clients, lambda i: target.get(path, tokens[i], connections[i]))
    wall = time.perf_counter() - started
    for connection in connections:
        connection.close()
    assert all(status == 200 for status, *_ in results), [r[0] for r in results][:5]
    latencies = sorted(seconds * 1000 for *_, seconds in results)
    return {"p50": statistics.median(latencies), "p99": latencies[int(len(latencies) * 0.99) - 1],
            "max": latencies[-1], "rps": clients / wall}


def worker_free(target, path, tokens, count, size, app, rate):
    """While `count` slow downloads run through `target`, ask the app server for /healthz and a poll."""
    done = threading.Event()
    health, polls = [], []
    probe = Target("app", app.url)
    token = tokens[-1]

    def ask():
        connection = probe.connect()
        while not done.is_set():
            for path_, into in (("/healthz", health), ("/api/events?timeout=0", polls)):
                status, _, _, seconds = probe.get(path_, token, connection)
                assert status == 200, (path_, status)
                into.append(seconds * 1000)
            time.sleep(0.05)
        connection.close()

    usage = TreeUsage(app.process.pid)
    cpu0 = usage.sample()["cpu"]
    prober = threading.Thread(target=ask)
    prober.start()
    started = time.perf_counter()
    results = run_together(count, lambda i: target.get(path, tokens[i % len(tokens)], rate=rate))
    wall = time.perf_counter() - started
    done.set()
    prober.join()
    cpu = usage.sample()["cpu"] - cpu0
    assert all(status == 200 and got == size for status, _, got, _ in results)
    health.sort()
    polls.sort()
    return {"wall": wall, "app_cpu": cpu, "health_p50": statistics.median(health), "health_max": health[-1],
            "poll_p50": statistics.median(polls), "poll_max": polls[-1], "probes": len(health)}


def uploads(app, slug, token, count, size):
    """POST `count` files of `size` bytes one after another; None when the endpoint is not in this tree."""
    data = bytes(range(256)) * (size // 256)
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    target = Target("app", app.url)
    connection = target.connect()
    started = time.perf_counter()
    for _ in range(count):
        connection.request("POST", f"/api/rooms/{slug}/uploads", body=body, headers={
            "Authorization": f"Token {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = connection.getresponse()
        response.read()
        if response.status == 404:
            return None
        assert response.status == 201, response.status
    wall = time.perf_counter() - started
    connection.close()
    return {"mb_s": count * size / 1e6 / wall, "per_upload_ms": wall / count * 1000}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file-mb", type=int, default=20, help="size of the large file downloaded")
    parser.add_argument("--downloads", type=int, default=20, help="concurrent downloads of it")
    parser.add_argument("--clients", type=int, default=200, help="clients fetching one thumbnail at once")
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--upload-mb", type=int, default=4)
    parser.add_argument("--slow-mb-s", type=float, default=5.0, help="each slow client's read rate (worker-free part)")
    options = parser.parse_args()
    size = options.file_mb * 1024 * 1024
    work = Path(tempfile.mkdtemp(prefix="parley-bench-files-"))
    media = work / "media"
    name = f"parley_bench_files_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(PG_ADMIN_URL)
    admin.autocommit = True
    admin.cursor().execute(f"CREATE DATABASE {name}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    servers, proxies = [], []
    try:
        migrate(url)
        common = dict(PARLEY_MEDIA_ROOT=media, PARLEY_SCRIPT_NAME="/chat", PARLEY_TRUSTED_PROXIES=1)
        seeded = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED], cwd=ROOT, env=server_env(url, **common), check=True,
            capture_output=True,
            input=json.dumps({"tag": uuid.uuid4().hex[:6], "users": options.clients,
                              "files": {"big.bin": size, "photo.png": 1024 * 1024}}).encode() + b"\n" + thumbnail_png(),
        )
        world = json.loads(seeded.stdout.decode().strip().splitlines()[-1])
        tokens, big, photo = world["tokens"], world["uploads"]["big.bin"], world["uploads"]["photo.png"]
        streaming = Server(url, log_path=work / "app-stream.log", PARLEY_X_ACCEL_REDIRECT="", **common)
        servers.append(streaming)
        accel = Server(url, log_path=work / "app-accel.log", PARLEY_X_ACCEL_REDIRECT="/_parley_media", **common)
        servers.append(accel)
        for label, server in (("stream", streaming), ("accel", accel)):
            directory = work / f"nginx-{label}"
            directory.mkdir()
            nginx, addresses = start_nginx(directory, [server], read_timeout=60, media_root=media)
            proxies.append(nginx)
            server.proxied = Target(label, addresses["origin"], "/chat", addresses["cafile"])
        app = Target("app streams, direct", streaming.url)
        through_app, through_nginx = streaming.proxied, accel.proxied
        thumb_size = len(thumbnail_png())

        print(f"Files benchmark: {options.file_mb} MB file, {options.downloads} concurrent downloads, "
              f"thumbnail {thumb_size / 1024:.0f} KB to {options.clients} clients; 1 gevent worker per app server")
        for label, target, server in (("app streams, direct HTTP", app, streaming),
                                      ("app streams, via nginx HTTPS", through_app, streaming),
                                      ("X-Accel, nginx sends, HTTPS", through_nginx, accel)):
            target.get(big["path"], tokens[0])  # warm the page cache and the connection paths
            result = downloads(target, big["path"], tokens, options.downloads, size, server)
            print(f"  download {label:30} {result['mb_s']:8.0f} MB/s  ({options.downloads} x {options.file_mb} MB "
                  f"in {result['wall']:.2f} s; app server CPU {result['app_cpu']:.2f} s)")
        for label, target in (("app streams, direct HTTP", app), ("app streams, via nginx HTTPS", through_app),
                              ("X-Accel, nginx sends, HTTPS", through_nginx)):
            result = thumbnails(target, photo["thumbnail"], tokens, options.clients)
            print(f"  thumbnail x{options.clients} {label:27} p50 {result['p50']:6.1f} ms  p99 {result['p99']:6.1f} ms  "
                  f"max {result['max']:6.1f} ms  {result['rps']:6.0f} req/s")
        rate = options.slow_mb_s * 1e6
        for label, target, server in (("app streams, direct HTTP", app, streaming),
                                      ("X-Accel, nginx sends, HTTPS", through_nginx, accel)):
            result = worker_free(target, big["path"], tokens, options.downloads, size, server, rate)
            print(f"  during {options.downloads} slow downloads ({label}, {result['wall']:.1f} s): app /healthz "
                  f"p50 {result['health_p50']:.1f} ms max {result['health_max']:.1f} ms; poll p50 "
                  f"{result['poll_p50']:.1f} ms max {result['poll_max']:.1f} ms ({result['probes']} probes); "
                  f"app server CPU {result['app_cpu']:.2f} s")
        result = uploads(accel, world["slug"], tokens[0], options.uploads, options.upload_mb * 1024 * 1024)
        if result is None:
            print("  upload: POST /api/rooms/{slug}/uploads is not in this tree; not measured")
        else:
            print(f"  upload {options.uploads} x {options.upload_mb} MB one after another: {result['mb_s']:.1f} MB/s "
                  f"({result['per_upload_ms']:.0f} ms each)")
    finally:
        for nginx in proxies:
            nginx.stop()
        for server in servers:
            server.stop()
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
