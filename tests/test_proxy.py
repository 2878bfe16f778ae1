"""Parley behind a real nginx, as a hostile corporate proxy would have it.

The nginx configuration is derived from deploy/nginx.conf, the documented
deployment example (only ports, certificate and upstream addresses swapped),
then made corporate: WebSocket upgrades refused, buffering forced on even for
answers that ask for none, and the app mounted under /chat/ over HTTPS.

Timing is scaled down so the test stays fast: the proxy cuts idle requests
after 5 s (a corporate 30 s) and clients poll with timeout=4 (the default
25 s). A poll asking for 7 s must then be cut with a 504, which shows the
limit is really in force. (Not 3 s: a login's password hashing on a busy
2-core machine can take that long, and the proxy would cut it too.) test_the_real_timeouts_fit checks the real
numbers (25 s default, 55 s maximum) against 30 s and the deploy file's 60 s.
"""
import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.live import PASSWORD, ROOT, Server, free_port
from tests.test_faults import make_people

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY_CONF = ROOT / "deploy" / "nginx.conf"
PROXY_TIMEOUT = 5  # seconds; a corporate proxy's 30 s, scaled
POLL_TIMEOUT = 4  # the default 25 s, scaled


def test_the_real_timeouts_fit_under_the_proxies_we_promise_to_survive(settings):
    """25 s by default under a corporate 30 s; 55 s at most under deploy/nginx.conf's read timeout."""
    read_timeouts = re.findall(r"^\s*proxy_read_timeout\s+(\d+)s;", DEPLOY_CONF.read_text(), re.M)
    assert read_timeouts, "deploy/nginx.conf must set proxy_read_timeout"
    assert settings.PARLEY_POLL_TIMEOUT_DEFAULT < 30
    assert all(settings.PARLEY_POLL_TIMEOUT_MAX < int(value) for value in read_timeouts)


# nginx ---------------------------------------------------------------------------------


def corporate_config(deploy_text, *, upstreams, http_port, https_port, cert, key, read_timeout=PROXY_TIMEOUT,
                     media_root=None):
    """Turn deploy/nginx.conf into the corporate proxy's site; fail loudly if the file's shape changed."""

    def swap(pattern, replacement, text, count=1):
        new, found = re.subn(pattern, replacement, text, flags=re.M)
        assert found == count, f"deploy/nginx.conf: expected {count} match(es) of {pattern!r}, found {found}"
        return new

    text = deploy_text
    text = swap(r"^(\s*)server 10\.0\.0\.11:8000(.*);\n\s*server 10\.0\.0\.12:8000.*;\n",
                lambda m: "".join(f"{m[1]}server {upstream}{m[2]};\n" for upstream in upstreams), text)
    text = swap(r"^\s*listen \[::\]:.*\n", "", text, count=2)
    text = swap(r"listen 80;", f"listen 127.0.0.1:{http_port};", text)
    text = swap(r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", text)
    text = swap(r"ssl_certificate \S+;", f"ssl_certificate {cert};", text)
    text = swap(r"ssl_certificate_key \S+;", f"ssl_certificate_key {key};", text)
    text = swap(r"proxy_read_timeout 60s;", f"proxy_read_timeout {read_timeout}s;", text)
    if media_root is not None:  # the app servers' shared MEDIA_ROOT (tests/test_files_proxy.py)
        text = swap(r"alias /srv/parley/var/media/;", f"alias {str(media_root).rstrip('/')}/;", text)
    # The corporate part: no WebSockets, and buffering that the app cannot turn off.
    text = swap(r"^(\s*)location /chat/ \{\n", lambda m: (
        f"{m[0]}{m[1]}    if ($http_upgrade) {{ return 403; }}\n"
        f"{m[1]}    proxy_buffering on;\n"
        f"{m[1]}    proxy_ignore_headers X-Accel-Buffering;\n"
    ), text)
    return text


class Nginx:
    """A real nginx in the foreground, all its files in one temporary directory."""

    def __init__(self, directory: Path, site: str):
        self.directory = directory
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi", "logs"):
            (directory / name).mkdir(exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""  # its workers must reach these files
        self.conf = directory / "nginx.conf"
        self.conf.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {directory}/nginx.pid;\n"
            f"error_log {directory}/error.log info;\n"
            "events { worker_connections 1024; }\n"
            "http {\n"
            f"    access_log {directory}/access.log;\n"
            f"    client_body_temp_path {directory}/client_body;\n"
            f"    proxy_temp_path {directory}/proxy;\n"
            f"    fastcgi_temp_path {directory}/fastcgi;\n"
            f"    uwsgi_temp_path {directory}/uwsgi;\n"
            f"    scgi_temp_path {directory}/scgi;\n"
            f"{site}\n}}\n"
        )
        check = subprocess.run([NGINX, "-t", "-p", str(directory), "-c", str(self.conf)],
                               capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.process = subprocess.Popen([NGINX, "-p", str(directory), "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)

    def wait_listening(self, port, timeout=10):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, (self.directory / "error.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def make_certificate(directory):
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        "-keyout", str(key), "-out", str(cert),
    ], check=True, capture_output=True)
    return cert, key


def start_nginx(directory, servers, read_timeout, media_root=None):
    """nginx for `servers` in `directory`; return (nginx, addresses)."""
    cert, key = make_certificate(directory)
    http_port, https_port = free_port(), free_port()
    site = corporate_config(
        DEPLOY_CONF.read_text(), upstreams=[f"127.0.0.1:{server.port}" for server in servers],
        http_port=http_port, https_port=https_port, cert=cert, key=key, read_timeout=read_timeout,
        media_root=media_root,
    )
    nginx = Nginx(directory, site)
    nginx.wait_listening(https_port)
    return nginx, {"origin": f"https://127.0.0.1:{https_port}", "http_origin": f"http://127.0.0.1:{http_port}",
                   "cafile": str(cert), "directory": directory}


@pytest.fixture(scope="module")
def proxy(request, tmp_path_factory):
    """nginx on HTTPS with the app at /chat/: two app servers on PostgreSQL, one on SQLite."""
    directory = tmp_path_factory.mktemp("nginx")
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        database_url, count = request.getfixturevalue("postgres_url"), 2
    else:
        database_url, count = request.getfixturevalue("sqlite_url"), 1  # SQLite: one process only
    servers = []
    nginx = None
    try:
        for n in range(count):
            servers.append(Server(database_url, log_path=directory / f"app{n}.log", PARLEY_SCRIPT_NAME="/chat",
                                  PARLEY_HTTPS="on", PARLEY_TRUSTED_PROXIES=1))  # as in production
        nginx, addresses = start_nginx(directory, servers, PROXY_TIMEOUT)
        yield {**addresses, "servers": servers, "database_url": database_url}
    finally:
        if nginx is not None:
            nginx.stop()
        for server in servers:
            server.stop()


# A client that speaks through the proxy -------------------------------------------------


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # we look at each Location ourselves


class Client:
    """HTTPS through the proxy with a cookie jar; answers are (status, headers, body bytes)."""

    def __init__(self, proxy, token=None):
        self.proxy = proxy
        self.token = token
        self.cookies = http.cookiejar.CookieJar()
        context = ssl.create_default_context(cafile=proxy["cafile"])
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPSHandler(context=context), urllib.request.HTTPCookieProcessor(self.cookies),
            NoRedirects(),
        )

    def raw(self, method, url, body=None, headers=None, timeout=30):
        if not url.startswith("http"):
            url = self.proxy["origin"] + url
        request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        if self.token:
            request.add_header("Authorization", f"Token {self.token}")
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def api(self, method, path, data=None, **kwargs):
        body = None if data is None and method == "GET" else json.dumps(data or {}).encode()
        headers = {"Content-Type": "application/json"}
        csrf = self.cookie("csrftoken")
        if csrf and not self.token:
            headers.update({"X-CSRFToken": csrf.value, "Origin": self.proxy["origin"]})
        status, _, raw = self.raw(method, "/chat/api/" + path, body, headers, **kwargs)
        return status, (json.loads(raw) if raw else None)

    def cookie(self, name):
        return next((cookie for cookie in self.cookies if cookie.name == name), None)

    @classmethod
    def signup(cls, proxy, first_name):
        """Register and log in through the proxy; the client then speaks with its token."""
        client = cls(proxy)
        email = f"{first_name.lower()}-{uuid.uuid4().hex[:8]}@example.com"
        status, body = client.api("POST", "auth/register", {
            "email": email, "password": PASSWORD, "first_name": first_name, "last_name": "Proxy",
        })
        assert status == 201, (status, body)
        status, body = client.api("POST", "auth/login", {"email": email, "password": PASSWORD})
        assert status == 200, (status, body)
        client.token, client.user, client.email = body["token"], body["user"], email
        client.cookies.clear()
        return client

    @classmethod
    def with_token(cls, proxy, person):
        client = cls(proxy, person["token"])
        client.user, client.email = {"id": person["id"]}, person["email"]
        return client


class Poller(threading.Thread):
    """A client's poll loop through the proxy: every answer's status and wait, every message seen."""

    def __init__(self, client, cursor):
        super().__init__(daemon=True)
        self.client = client
        self.cursor = cursor
        self.messages = []
        self.answers = []  # (status, seconds)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            status, body = self.client.api("GET", f"events?cursor={self.cursor}&timeout={POLL_TIMEOUT}",
                                           timeout=PROXY_TIMEOUT * 4)
            self.answers.append((status, time.monotonic() - started))
            if status != 200:
                time.sleep(0.2)
                continue
            self.cursor = body["cursor"]
            self.messages += [event["message"] for event in body["events"] if event["type"] == "message"]


def wait_for(condition, timeout, message):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


@pytest.fixture(scope="module")
def people(proxy):
    """Ana, who signs up through the proxy, and Ben, made directly (password hashing is slow)."""
    (ben,) = make_people(proxy["database_url"], "Ben")
    return Client.signup(proxy, "Ana"), Client.with_token(proxy, ben)


# The tests ------------------------------------------------------------------------------------


@pytest.mark.server
def test_two_clients_chat_through_the_corporate_proxy_without_loss_or_cut_polls(proxy, people):
    ana, ben = people
    status, body = ana.api("POST", "rooms", {"name": f"proxy {uuid.uuid4().hex[:6]}"})
    assert status == 201, body
    slug = body["room"]["slug"]
    assert ben.api("POST", f"rooms/{slug}/join")[0] == 200

    pollers = [Poller(client, client.api("GET", "events")[1]["cursor"]) for client in (ana, ben)]
    for poller in pollers:
        poller.start()
    sent = []
    for n in range(12):
        for client in (ana, ben):
            client_id = f"{client.user['id']}-{n}"
            status, body = client.api("POST", f"rooms/{slug}/messages", {"body": f"message {n}", "client_id": client_id})
            assert status == 201, body
            sent.append(body["message"]["id"])
    wait_for(lambda: all(len(p.messages) >= len(sent) for p in pollers), 15, "messages did not all arrive")
    # Then the polls wait out a full timeout with nothing to say: the proxy must
    # pass the empty answers on instead of cutting the requests.
    counts = [len(p.answers) for p in pollers]
    wait_for(lambda: all(len(p.answers) >= c + 2 for p, c in zip(pollers, counts)), PROXY_TIMEOUT * 4,
             "polls stopped coming back")
    for poller in pollers:
        poller.stop.set()
    for poller in pollers:
        poller.join(PROXY_TIMEOUT * 4)

    for poller in pollers:
        assert [m["id"] for m in poller.messages] == sorted(sent), "every message exactly once, in order"
        assert [status for status, _ in poller.answers] == [200] * len(poller.answers)
        # Idle polls really waited close to their timeout, yet under the proxy's.
        waited = [seconds for _, seconds in poller.answers if seconds >= POLL_TIMEOUT * 0.85]
        assert waited and max(waited) < PROXY_TIMEOUT
    access_log = (proxy["directory"] / "access.log").read_text()
    assert " 504 " not in access_log


@pytest.mark.server
def test_the_proxy_really_cuts_a_poll_held_past_its_timeout(proxy, people):
    """The control: a poll asking for longer than the proxy allows gets the proxy's 504."""
    ana, _ = people
    cursor = ana.api("GET", "events")[1]["cursor"]
    started = time.monotonic()
    status, _, _ = ana.raw("GET", f"/chat/api/events?cursor={cursor}&timeout={PROXY_TIMEOUT + 2}")
    assert status == 504
    # With two app servers nginx tries the poll on the second too (proxy_next_upstream timeout), so twice.
    tries = len(proxy["servers"])
    assert PROXY_TIMEOUT - 0.5 < time.monotonic() - started < PROXY_TIMEOUT * tries + 2


@pytest.mark.server
def test_websocket_upgrades_are_refused_but_long_polls_pass(proxy, people):
    ana, _ = people
    status, _, _ = ana.raw("GET", "/chat/api/events", headers={"Upgrade": "websocket", "Connection": "Upgrade"})
    assert status == 403
    assert ana.api("GET", "events")[0] == 200


class Page(HTMLParser):
    """The URLs a page points at, its login URL for scripts, and its embedded parley-config."""

    def __init__(self, html):
        super().__init__()
        self.urls, self.config, self.login_url, self._in_config = [], None, None, False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.login_url = attrs.get("data-login-url")
        for name in ("href", "src", "action"):
            if attrs.get(name):
                self.urls.append(attrs[name])
        self._in_config = tag == "script" and attrs.get("id") == "parley-config"

    def handle_data(self, data):
        if self._in_config:
            self.config = json.loads(data)
            self._in_config = False


@pytest.mark.server
def test_pages_static_files_redirects_and_cookies_live_under_the_sub_path(proxy, people):
    ana, _ = people
    browser = Client(proxy)  # cookies only, like a browser
    origin = proxy["origin"]

    # nginx sends plain HTTP to HTTPS, and /chat to /chat/.
    status, headers, _ = browser.raw("GET", proxy["http_origin"] + "/chat/")
    assert status == 301 and headers["Location"].startswith("https://127.0.0.1")
    assert browser.raw("GET", "/chat")[1]["Location"].endswith("/chat/")

    # Redirects carry the prefix, including the `next` the login page returns to.
    status, headers, _ = browser.raw("GET", "/chat/rooms/")
    assert status == 302
    assert headers["Location"] == "/chat/login/?next=/chat/rooms/"
    status, headers, raw = browser.raw("GET", "/chat/login/?next=/chat/rooms/")
    assert status == 200
    page = Page(raw.decode())
    assert "/chat/login/" in page.urls and "/chat/register/" in page.urls
    local = [url for url in page.urls if url.startswith("/") and not url.startswith("//")]
    assert local and all(url.startswith("/chat/") for url in local), local

    # Static files come from the app itself (WhiteNoise), under the prefix.
    for url in [u for u in local if "/static/" in u]:
        status, headers, body = browser.raw("GET", url)
        assert status == 200 and body, url
    # ES modules: a browser runs one only if it comes as JavaScript.
    status, headers, _ = browser.raw("GET", "/chat/static/js/parley/api.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")

    # The cookies are the app's, scoped to its mount point.
    csrf = browser.cookie("csrftoken")
    assert csrf is not None and csrf.path == "/chat/"

    # Logging in through the form over HTTPS passes Django's CSRF origin check only if the
    # proxy forwarded the scheme and the host with its port.
    form = urllib.parse.urlencode({
        "csrfmiddlewaretoken": csrf.value, "username": ana.email, "password": PASSWORD, "next": "/chat/rooms/",
    }).encode()
    status, headers, body = browser.raw("POST", "/chat/login/", form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": origin, "Referer": origin + "/chat/login/",
    })
    assert status == 302, body[:500]
    assert headers["Location"] == "/chat/rooms/"
    session = browser.cookie("sessionid")
    assert session is not None and session.path == "/chat/"

    # The session speaks to the API under the prefix (with its CSRF header for writes).
    assert browser.api("GET", "me")[1]["user"]["email"] == ana.email
    status, body = browser.api("POST", "rooms", {"name": f"sub {uuid.uuid4().hex[:6]}"})
    assert status == 201, body
    slug = body["room"]["slug"]

    # The room page hands the JavaScript client URLs under the prefix.
    status, _, raw = browser.raw("GET", f"/chat/rooms/{slug}/")
    assert status == 200
    page = Page(raw.decode())
    assert page.config["apiRoot"] == "/chat/api/"
    assert page.config["roomUrl"] == "/chat/rooms/__slug__/"
    assert page.login_url == "/chat/login/"  # where parley/api.js sends an expired session
    for url in [u for u in page.urls if u.endswith(".js")]:
        assert url.startswith("/chat/static/"), url
        assert browser.raw("GET", url)[0] == 200

    # Logging out returns to the login page under the prefix.
    status, headers, _ = browser.raw("POST", "/chat/logout/", urllib.parse.urlencode(
        {"csrfmiddlewaretoken": browser.cookie("csrftoken").value}).encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded", "Origin": origin})
    assert status == 302 and headers["Location"] == "/chat/login/"


def test_without_a_proxy_the_app_lives_at_the_root(client):
    """Reached directly (health checks, local use): root URLs and root cookie paths."""
    response = client.get("/login/")
    assert response.cookies["csrftoken"]["path"] == "/"
    assert 'href="/static/css/parley.css"' in response.content.decode()


@pytest.mark.server
@pytest.mark.browser
def test_the_browser_client_chats_under_the_sub_path_through_a_30s_corporate_proxy(proxy, people, tmp_path):
    """The real JavaScript client, its real 25 s polls, behind the real corporate 30 s timeout."""
    from playwright.sync_api import expect, sync_playwright

    nginx, addresses = start_nginx(tmp_path, proxy["servers"], read_timeout=30)
    origin = addresses["origin"]
    ana, ben = people
    status, body = ana.api("POST", "rooms", {"name": f"browser {uuid.uuid4().hex[:6]}"})
    assert status == 201, body
    slug, name = body["room"]["slug"], body["room"]["name"]
    assert ben.api("POST", f"rooms/{slug}/join")[0] == 200

    errors, outside, failed = [], [], []
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync"])
        pages = {}
        for person in (ana, ben):
            context = chromium.new_context(ignore_https_errors=True)
            context.set_default_timeout(10_000)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("request", lambda req: None if req.url.startswith(origin + "/chat/") else outside.append(req.url))
            page.on("response", lambda resp: failed.append((resp.status, resp.url)) if resp.status >= 400 else None)
            page.goto(f"{origin}/chat/rooms/{slug}/")  # to the login page, and back here after it
            page.fill("#id_username", person.email)
            page.fill("#id_password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(f"{origin}/chat/rooms/{slug}/")
            expect(page.locator("#room-title")).to_have_text(name)
            expect(page.locator("#messages .history-note")).not_to_have_text("Loading messages…")
            pages[person.email] = page
        a, b = pages[ana.email], pages[ben.email]
        a.locator("#composer").fill("hello through the proxy")
        a.locator("#composer").press("Enter")
        expect(b.locator("#messages li.message[data-id]")).to_contain_text(["hello through the proxy"])
        b.locator("#composer").fill("and back")
        b.locator("#composer").press("Enter")
        expect(a.locator("#messages li.message[data-id]")).to_contain_text(["hello through the proxy", "and back"])
        expect(a.locator("#connection-status")).to_have_attribute("aria-hidden", "true")
        chromium.close()
    finally:
        playwright.stop()
        nginx.stop()
    assert not errors, errors
    assert not outside, f"requests outside /chat/: {outside}"
    assert not failed, failed
