"""Connection slots (issue 9, item 9b): clients that never finish a request keep no slot for long.

A gevent worker holds at most worker_connections connections; a connection
takes its slot from accept to close, waiting polls and half-sent requests
alike. These tests start a real gunicorn (config/gunicorn.py, parley/server/worker.py)
with small numbers and speak raw sockets to it.
"""
import re
import socket
import time
import urllib.request

import pytest

from tests.live import ROOT, Http

HEADER_TIMEOUT = 2  # PARLEY_HEADER_TIMEOUT for these servers (5 s by default)
KEEPALIVE = 2  # PARLEY_KEEPALIVE_SECONDS for these servers (5 s by default)


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def seconds_until_closed(sock, limit):
    """How long until the server closes `sock` (reading and discarding what it sends); None if not within `limit`."""
    started = time.monotonic()
    sock.settimeout(0.2)
    while time.monotonic() - started < limit:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - started
        except TimeoutError:
            continue
        except ConnectionResetError:
            return time.monotonic() - started
    return None


def answered_within(url, limit):
    """Seconds until a plain GET of `url` is answered 200; None if it is not answered within `limit`."""
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=limit) as answer:
            assert answer.status == 200
    except TimeoutError:
        return None
    return time.monotonic() - started


def small_server(start_server, sqlite_url, **env):
    return start_server(sqlite_url, PARLEY_HEADER_TIMEOUT=HEADER_TIMEOUT, PARLEY_KEEPALIVE_SECONDS=KEEPALIVE, **env)


@pytest.mark.server
def test_half_sent_requests_on_every_slot_do_not_keep_a_normal_request_out(start_server, sqlite_url):
    slots = 20
    server = small_server(start_server, sqlite_url, PARLEY_WORKER_CONNECTIONS=slots)
    # More connections than the worker has slots, each with half a request line that never ends.
    stuck = [connect(server) for _ in range(slots + 5)]
    for sock in stuck:
        sock.sendall(b"GET /healthz HT")
    seconds = answered_within(server.url + "/healthz", 10)
    assert seconds is not None, "a normal request was not answered within 10 s: the half-sent requests hold the slots"
    assert seconds < HEADER_TIMEOUT + 3
    # The server closed them all (the last ones were accepted only when the first went).
    assert all(seconds_until_closed(sock, HEADER_TIMEOUT + 5) is not None for sock in stuck)
    for sock in stuck:
        sock.close()


@pytest.mark.server
def test_headers_trickled_a_byte_at_a_time_are_cut_at_the_header_timeout(start_server, sqlite_url):
    server = small_server(start_server, sqlite_url)
    sock = connect(server)
    request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 200
    started = time.monotonic()
    for byte in request:  # every read is quick; the whole never ends
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            break
        if time.monotonic() - started > HEADER_TIMEOUT + 5:
            break
        time.sleep(0.1)
    closed = seconds_until_closed(sock, 1)
    sock.close()
    assert closed is not None, "the server still waits for the headers"
    assert time.monotonic() - started < HEADER_TIMEOUT + 3


@pytest.mark.server
def test_an_idle_kept_alive_connection_is_closed_after_the_keepalive(start_server, sqlite_url):
    server = small_server(start_server, sqlite_url)
    sock = connect(server)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert b"connection: close" not in answer.lower()  # kept alive
    closed = seconds_until_closed(sock, KEEPALIVE + 8)
    sock.close()
    assert closed is not None, "an idle kept-alive connection stayed open"
    assert closed < KEEPALIVE + 3


def exchange(sock, request):
    """Send one request on a kept-alive socket; return (status line, body) of its answer."""
    sock.sendall(request)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before answering: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head)[1])
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n")[0], body


@pytest.mark.server
def test_polls_that_wait_longer_than_the_limits_and_prompt_requests_keep_their_connection(start_server, sqlite_url):
    server = small_server(start_server, sqlite_url)
    ana = Http.signup(server.url, "Ana")
    cursor = ana.get("/api/events")[1]["cursor"]
    poll = (f"GET /api/events?cursor={cursor}&timeout={HEADER_TIMEOUT + KEEPALIVE + 1} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Token {ana.token}\r\n\r\n").encode()
    sock = connect(server)
    started = time.monotonic()
    status, _ = exchange(sock, poll)  # waits out its timeout: the limits are on headers and idleness only
    assert status == b"HTTP/1.1 200 OK"
    assert time.monotonic() - started > HEADER_TIMEOUT + KEEPALIVE
    time.sleep(KEEPALIVE / 2)  # idle, but less than the keepalive
    status, _ = exchange(sock, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert status == b"HTTP/1.1 200 OK"
    sock.close()


def test_the_deploy_proxy_stops_slow_clients_and_lets_idle_upstream_connections_go_first(monkeypatch):
    """deploy/nginx.conf (README "Behind a proxy"): slow clients end at nginx, and nginx never reuses
    an upstream connection that the app may be closing (its keepalive, config/gunicorn.py)."""
    import importlib

    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for directive in ("client_header_timeout", "client_body_timeout", "limit_conn", "limit_conn_zone"):
        assert re.search(rf"^\s*{directive}\s", conf, re.M), f"deploy/nginx.conf must set {directive}"
    assert re.search(r"^\s*proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;", conf, re.M)
    (upstream_idle,) = re.findall(r"^\s*keepalive_timeout\s+(\d+)s;", conf, re.M)
    monkeypatch.delenv("PARLEY_KEEPALIVE_SECONDS", raising=False)
    import config.gunicorn

    assert int(upstream_idle) < importlib.reload(config.gunicorn).keepalive


@pytest.mark.parametrize("name", ["PARLEY_HEADER_TIMEOUT", "PARLEY_KEEPALIVE_SECONDS"])
@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_a_bad_time_limit_stops_the_server_from_starting_and_says_which(monkeypatch, name, value):
    import importlib

    import config.gunicorn

    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit, match=name):
        importlib.reload(config.gunicorn)
    monkeypatch.delenv(name)
    importlib.reload(config.gunicorn)
