"""Waiting polls wait outside Django's middleware stack (parley/server/deferred.py), and answer as if they had not."""
import http.client
import json
import threading
import time
import urllib.parse

import pytest
from django.http import HttpResponse

from parley.api import error_response, json_response
from parley.server.deferred import ENVIRON_KEY, DeferredResponse, wait_outside_django
from tests.live import Http, live_stats, wait_for

pytestmark = pytest.mark.django_db  # the wrapper closes the request's database connections after a wait

# The wrapper on its own -------------------------------------------------------------------------


def run(app, environ=None):
    """Call a WSGI app as a server would: (status, headers, body)."""
    started = []
    body = b"".join(app(environ if environ is not None else {}, lambda status, headers: started.append((status, headers))))
    (status, headers), = started
    return status, headers, body


def django_like(response, seen=None):
    """What Django's WSGIHandler does with a response: headers to start_response, the response as body."""

    def app(environ, start_response):
        if seen is not None:
            seen.update(environ)
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response

    return app


def test_an_ordinary_answer_passes_through_untouched():
    environ = {}
    answer = HttpResponse(b"hello", content_type="text/plain")
    answer["X-Frame-Options"] = "DENY"
    status, headers, body = run(wait_outside_django(django_like(answer, environ)), environ)
    assert environ[ENVIRON_KEY] is True  # the view may defer: this wrapper will finish the job
    assert (status, body) == ("200 OK", b"hello")
    assert ("X-Frame-Options", "DENY") in headers


def test_a_deferred_answer_keeps_the_middleware_headers_and_takes_the_answers_own():
    done = []
    deferred = DeferredResponse(lambda: error_response(410, "cursor_expired", "Too old."))
    deferred.when_done.append(lambda: done.append(True))
    # As the middleware leaves it: security headers, and a Content-Length for its empty body.
    deferred["X-Frame-Options"] = "DENY"
    deferred["Content-Security-Policy"] = "default-src 'self'"
    deferred["Content-Length"] = "0"
    status, headers, body = run(wait_outside_django(django_like(deferred)))
    assert status == "410 Gone"
    assert json.loads(body)["error"]["code"] == "cursor_expired"
    names = [name.lower() for name, _ in headers]
    assert sorted(names) == sorted(set(names)), "a header sent twice"
    headers = dict(headers)
    assert headers["X-Frame-Options"] == "DENY" and headers["Content-Security-Policy"] == "default-src 'self'"
    assert headers["Content-Type"] == "application/json"
    assert headers["Content-Length"] == str(len(body))
    assert headers["Cache-Control"] == "no-store"
    assert done == [True]


def test_the_slot_is_given_back_even_when_the_wait_fails():
    done = []

    def fails():
        raise RuntimeError("boom")

    deferred = DeferredResponse(fails)
    deferred.when_done.append(lambda: done.append(True))
    with pytest.raises(RuntimeError):
        run(wait_outside_django(django_like(deferred)))
    assert done == [True]


def test_django_is_finished_with_the_request_before_the_wait():
    closed_before_wait = []
    deferred = DeferredResponse(lambda: json_response({"waited": closed_before_wait[:]}))
    deferred._resource_closers.append(lambda: closed_before_wait.append("request closed"))
    _, _, body = run(wait_outside_django(django_like(deferred)))
    assert json.loads(body) == {"waited": ["request closed"]}


# Through a real server ----------------------------------------------------------------------------


def raw_get(server, path, token):
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    connection.request("GET", path, headers={"Authorization": f"Token {token}"})
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, dict(answer.getheaders()), body


@pytest.mark.server
def test_a_poll_that_waited_answers_with_the_same_headers_as_one_that_did_not(sqlite_url, start_server):
    server = start_server(sqlite_url, PARLEY_STATS_SECONDS=0.2)
    ana = Http.signup(server.url, "Ana")
    cursor = ana.get("/api/events")[1]["cursor"]
    status, body = ana.post("/api/rooms", {"name": f"deferred {time.monotonic_ns()}"})
    assert status == 201
    slug = body["room"]["slug"]
    # At once: the new room is there to see... (a poll that need not wait is answered inside Django)
    status, at_once, body = raw_get(server, f"/api/events?cursor={cursor}&timeout=0", ana.token)
    assert status == 200, body
    cursor = json.loads(body)["cursor"]
    # ...and after waiting: posted while the poll waits (outside Django).
    answer = {}
    poll = threading.Thread(target=lambda: answer.update(
        result=raw_get(server, f"/api/events?cursor={cursor}&timeout=20", ana.token)))
    poll.start()
    wait_for(lambda: sum(s.get("waiting", 0) for s in live_stats(server).values()) == 1, 10, "the poll did not wait")
    assert ana.post(f"/api/rooms/{slug}/messages", {"body": "wake up"})[0] == 201
    poll.join(10)
    status, waited, body = answer["result"]
    assert status == 200
    assert [e["message"]["body"] for e in json.loads(body)["events"] if e["type"] == "message"] == ["wake up"]
    assert int(waited["Content-Length"]) == len(body)
    ignore = {"Date", "Content-Length"}
    assert {k: v for k, v in waited.items() if k not in ignore} == {k: v for k, v in at_once.items() if k not in ignore}
    assert waited["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in waited
    assert waited["X-Accel-Buffering"] == "no" and waited["Cache-Control"] == "no-store"
