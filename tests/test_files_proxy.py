"""A file uploaded through one app server is served through another, with nginx sending the bytes.

Two real gunicorn servers on one PostgreSQL database share one MEDIA_ROOT
(README "Files on several hosts"), both with PARLEY_X_ACCEL_REDIRECT; nginx
runs from deploy/nginx.conf (tests/test_proxy.py's corporate variant, with
the internal media location pointed at that directory) in front of server B
only. The file is made through server A, so B has never seen it, then read:

- from B directly: B checks access and answers headers only, X-Accel-Redirect
  and an empty body (so B never touched the bytes);
- through nginx: the whole file, byte for byte, with the security headers,
  ranges answered by nginx; a non-member gets 404, and the internal location
  cannot be asked for from outside.

Until the upload endpoint (POST /api/rooms/{slug}/uploads) is in this tree,
the upload is made the way the endpoint would store it (default_storage, then
the row, attached to a message) by a subprocess with server A's environment;
once the endpoint answers, the test uses it through A.
"""
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from tests.live import ROOT, Server, server_env
from tests.test_faults import make_people
from tests.test_proxy import Client, start_nginx

pytestmark = [pytest.mark.postgres, pytest.mark.server]

DATA = b"%PDF-1.4\n" + bytes(range(256)) * 12_000 + b"tail"  # about 3 MB, a PDF by its first bytes: many chunks, more than nginx buffers

SEED_UPLOAD = """
import json, sys
from django.core.files.base import ContentFile
from rooms import messaging
from rooms.models import Room, Upload
from users.models import User
spec = json.loads(sys.stdin.buffer.readline())
data = sys.stdin.buffer.read()
room = Room.objects.get(slug=spec["slug"])
author = User.objects.get(id=spec["uploader"])
message, _ = messaging.message_post(room=room, author=author, body="a file")
upload = Upload(uploader=author, room=room, message=message, name=spec["name"], size=len(data),
                content_type=spec["content_type"])
upload.file.save("ignored", ContentFile(data), save=False)
upload.save()
print(json.dumps({"id": upload.id, "path": upload.file.name}))
"""


def direct(server, path, token, headers=None):
    """GET straight from one app server (no nginx): (status, headers, body)."""
    request = urllib.request.Request(server.url + path, headers={"Authorization": f"Token {token}", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def multipart(name, data, content_type):
    boundary = uuid.uuid4().hex
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            f"Content-Type: {content_type}\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload_through(server, env, *, token, uploader_id, slug, name, data, content_type):
    """Upload `data` through `server` and attach it to a message; return (upload id, url path)."""
    body, type_header = multipart(name, data, content_type)
    request = urllib.request.Request(f"{server.url}/api/rooms/{slug}/uploads", data=body, method="POST",
                                     headers={"Authorization": f"Token {token}", "Content-Type": type_header})
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            upload = json.loads(answer.read())["upload"]
    except urllib.error.HTTPError as error:
        assert error.code == 404, (error.code, error.read()[:300])  # no upload endpoint in this tree yet
        done = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", SEED_UPLOAD], cwd=ROOT, env=env, check=True,
            input=json.dumps({"slug": slug, "uploader": uploader_id, "name": name,
                              "content_type": content_type}).encode() + b"\n" + data,
            capture_output=True,
        )
        made = json.loads(done.stdout.decode().strip().splitlines()[-1])
        return made["id"], f"/files/{made['id']}/{urllib.parse.quote(name)}"
    post = urllib.request.Request(f"{server.url}/api/rooms/{slug}/messages", method="POST",
                                  data=json.dumps({"body": "a file", "attachments": [upload["id"]]}).encode(),
                                  headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(post, timeout=30) as answer:
        assert answer.status == 201
    # upload.url carries the mount point the proxy adds (PARLEY_SCRIPT_NAME, /chat); the app servers answer without it.
    path = urllib.parse.urlsplit(upload["url"]).path.removeprefix(str(env.get("PARLEY_SCRIPT_NAME", "")))
    return upload["id"], path


@pytest.fixture
def two_hosts(postgres_url, tmp_path):
    media = tmp_path / "shared-media"
    media.mkdir()
    env = dict(PARLEY_MEDIA_ROOT=media, PARLEY_X_ACCEL_REDIRECT="/_parley_media", PARLEY_SCRIPT_NAME="/chat",
               PARLEY_TRUSTED_PROXIES=1)
    servers, nginx = [], None
    try:
        for label in ("a", "b"):
            servers.append(Server(postgres_url, log_path=tmp_path / f"app-{label}.log", **env))
        nginx_dir = tmp_path / "nginx"
        nginx_dir.mkdir()
        nginx, addresses = start_nginx(nginx_dir, servers[1:], read_timeout=30, media_root=media)  # B only
        yield {"a": servers[0], "b": servers[1], "proxy": addresses, "media": media,
               "env": server_env(postgres_url, **env), "database_url": postgres_url}
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()


def test_a_file_uploaded_through_one_server_is_served_by_another_with_nginx_sending_the_bytes(two_hosts):
    a, b, proxy = two_hosts["a"], two_hosts["b"], two_hosts["proxy"]
    ana, ben, cara = make_people(two_hosts["database_url"], "Ana", "Ben", "Cara")
    ana_on_a = Client(proxy, ana["token"])
    status, body = ana_on_a.api("POST", "rooms", {"name": f"files {uuid.uuid4().hex[:6]}", "is_private": True})
    assert status == 201, body
    slug = body["room"]["slug"]
    assert ana_on_a.api("POST", f"rooms/{slug}/invite", {"user_id": ben["id"]})[0] == 200

    upload_id, path = upload_through(a, two_hosts["env"], token=ana["token"], uploader_id=ana["id"], slug=slug,
                                     name="résumé 2026.pdf", data=DATA, content_type="application/pdf")
    stored = [p for p in two_hosts["media"].rglob("*") if p.is_file()]
    assert [p.read_bytes() for p in stored] == [DATA]  # one copy, in the shared directory

    # B, asked directly, checks access and hands the transfer over: headers only.
    status, headers, raw = direct(b, path, ben["token"])
    assert status == 200
    assert raw == b""
    assert headers["X-Accel-Redirect"] == f"/_parley_media/{stored[0].relative_to(two_hosts['media'])}"

    # Through nginx (which only knows B): the bytes, from the shared directory, with the app's headers.
    ben_proxied = Client(proxy, ben["token"])
    status, headers, raw = ben_proxied.raw("GET", "/chat" + path)
    assert status == 200
    assert raw == DATA
    assert "X-Accel-Redirect" not in headers
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == "attachment; filename*=utf-8''r%C3%A9sum%C3%A9%202026.pdf"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["Cache-Control"] == "private, max-age=86400"

    # nginx answers ranges itself.
    status, headers, raw = ben_proxied.raw("GET", "/chat" + path, headers={"Range": "bytes=-4"})
    assert status == 206 and raw == b"tail"
    assert headers["Content-Range"] == f"bytes {len(DATA) - 4}-{len(DATA) - 1}/{len(DATA)}"

    # Someone outside the private room gets the app's 404, and nothing is handed to nginx.
    status, _, raw = Client(proxy, cara["token"]).raw("GET", "/chat" + path)
    assert status == 404 and DATA[:100] not in raw
    # The media location is internal: not reachable by its own URL, even with the exact stored name.
    status, _, raw = ben_proxied.raw("GET", f"/_parley_media/{stored[0].relative_to(two_hosts['media'])}")
    assert status == 404 and raw != DATA

    # The same upload through A gives the same answer (either host serves any file).
    status, headers, raw = direct(a, path, ben["token"])
    assert status == 200 and raw == b"" and headers["X-Accel-Redirect"].endswith(upload_id)
