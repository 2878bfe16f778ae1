"""Incoming and outgoing webhooks (API.md, Bots and webhooks).

Outgoing webhooks are sent by rooms/webhooks.py's Worker, driven here step by
step with a clock the tests move, against a small HTTP server on 127.0.0.1
(PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS is on, except in the SSRF tests).
"""
import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

import pytest
from django.test import Client

from rooms import bots, services, webhooks
from rooms.models import Delivery, Hook, Message
from tests.conftest import Api, error_of
from tests.live import ROOT, Http, server_env, wait_for
from users.models import User

pytestmark = pytest.mark.django_db
FORM = "application/x-www-form-urlencoded"


# A local endpoint ------------------------------------------------------------------------


class Endpoint:
    """An HTTP server whose paths behave as the tests need; it records what it was sent."""

    def __init__(self):
        self.received = []  # (path, headers, raw body)
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with outer.lock:
                    outer.received.append((self.path, dict(self.headers), raw))
                outer.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, handler):
        path = handler.path
        if path.startswith("/sleep"):
            time.sleep(float(path.rsplit("/", 1)[1]))
            return self._send(handler, 200, b"{}")
        if path == "/reply":
            return self._send(handler, 200, json.dumps({"body": "pong"}).encode())
        if path == "/500":
            return self._send(handler, 500, b"oops", "text/plain")
        if path == "/html":
            return self._send(handler, 200, b"<html><body>Hello</body></html>", "text/html")
        if path == "/redirect":
            handler.send_response(302)
            handler.send_header("Location", f"{self.url}/target")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return None
        return self._send(handler, 200, b"")

    @staticmethod
    def _send(handler, status, body, content_type="application/json"):
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def hits(self, path):
        with self.lock:
            return [r for r in self.received if r[0] == path]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def _private_endpoints_allowed(settings):
    settings.PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS = True


class Clock:
    def __init__(self):
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def worker(clock):
    made = []

    def make(timeout=2):
        w = webhooks.Worker(clock=clock, timeout=timeout)
        w.scan()  # the first run starts at the stream head
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def make_bot(owner, name="Builder", endpoint=""):
    created = bots.bot_create(owner=owner, name=name, endpoint=endpoint)
    return created


def post(user, room, body):
    message, _ = services_post(room, user, body)
    return message


def services_post(room, user, body):
    from rooms import messaging

    return messaging.message_post(room=room, author=user, body=body)


def run(w):
    w.step()
    w.drain(timeout=10)


@pytest.fixture
def builds(ana, room_factory):
    return room_factory(ana, "builds")


def invite(room, inviter, bot):
    services.room_invite(room=room, inviter=inviter, invitee=bot)


# Incoming ------------------------------------------------------------------------------------


@pytest.fixture
def hook(ana, builds):
    created = make_bot(ana)
    invite(builds, ana, created.bot)
    response = Api(ana).post(f"/api/rooms/{builds.slug}/hooks", {"bot_id": created.bot.id})
    assert response.status_code == 201, response.content
    return response.json()["hook"]


def path_of(hook):
    return hook["url"].split("testserver", 1)[1]


def test_a_hook_posts_body_as_its_bot(hook, builds):
    response = Client().post(path_of(hook), json.dumps({"body": "build **green**"}), content_type="application/json")
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["author"]["is_bot"] is True and message["author"]["display_name"] == "Builder"
    assert message["room"] == builds.slug and "<strong>green</strong>" in message["html"]


def test_a_hook_takes_slacks_text_as_json_and_as_a_form_payload(hook):
    assert Client().post(path_of(hook), json.dumps({"text": "from slack"}),
                         content_type="application/json").status_code == 201
    form = Client().post(path_of(hook), urlencode({"payload": json.dumps({"text": "form slack", "username": "ci"})}),
                         content_type=FORM)
    assert form.status_code == 201, form.content
    assert list(Message.objects.order_by("id").values_list("body", flat=True)) == ["from slack", "form slack"]


@pytest.mark.parametrize("raw", ["not json", "[1]", "{}", '{"body": ""}', '{"body": "   "}', '{"body": 5}'])
def test_a_hook_refuses_bad_bodies_and_stores_nothing(hook, raw):
    error_of(Client().post(path_of(hook), raw, content_type="application/json"), 400, "invalid")
    assert not Message.objects.exists()


def test_a_hook_refuses_a_body_over_the_message_limit(hook, settings):
    body = "x" * (settings.PARLEY_MAX_MESSAGE_CHARS + 1)
    error_of(Client().post(path_of(hook), json.dumps({"body": body}), content_type="application/json"), 400, "invalid")
    error_of(Client().post(path_of(hook), "payload=%7Bnot+json", content_type=FORM), 400, "invalid")
    error_of(Client().post(path_of(hook), "text=no+payload", content_type=FORM), 400, "invalid")
    assert not Message.objects.exists()


def test_a_hook_refuses_other_content_types(hook):
    error_of(Client().post(path_of(hook), "body", content_type="text/plain"), 415, "unsupported_media_type")


def test_unknown_deleted_hooks_and_deleted_bots_answer_404(hook, ana, builds):
    send = lambda path: Client().post(path, json.dumps({"body": "x"}), content_type="application/json")  # noqa: E731
    error_of(send("/api/hooks/not-a-hook"), 404, "not_found")
    bot = Hook.objects.get(id=hook["id"]).bot
    services.room_leave(room=builds, user=bot)
    error_of(send(path_of(hook)), 404, "not_found")  # the bot left the room
    invite(builds, ana, bot)
    assert send(path_of(hook)).status_code == 201
    assert Api(ana).client.delete(f"/api/rooms/{builds.slug}/hooks/{hook['id']}").status_code == 204
    error_of(send(path_of(hook)), 404, "not_found")
    second = Api(ana).post(f"/api/rooms/{builds.slug}/hooks", {"bot_id": bot.id}).json()["hook"]
    assert send(path_of(second)).status_code == 201
    bots.bot_delete(bot=bot)
    error_of(send(path_of(second)), 404, "not_found")


def test_a_hook_is_rate_limited(hook, settings):
    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_RATE_HOOK = (2, 60)
    for _ in range(2):
        assert Client().post(path_of(hook), json.dumps({"body": "x"}), content_type="application/json").status_code == 201
    answer = Client().post(path_of(hook), json.dumps({"body": "x"}), content_type="application/json")
    error_of(answer, 429, "rate_limited")
    assert answer["Retry-After"]


def test_a_hook_ignores_the_session_and_its_csrf(hook, ana):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ana)
    answer = client.post(path_of(hook), json.dumps({"body": "x"}), content_type="application/json")
    assert answer.status_code == 201
    assert answer.json()["message"]["author"]["is_bot"] is True


def test_only_a_member_may_make_a_hook_for_their_own_bot_in_the_room(ana, bob, builds, room_factory):
    mine = make_bot(ana).bot
    theirs = make_bot(bob, "Other").bot
    invite(builds, ana, mine)
    invite(builds, ana, theirs)
    invite(builds, ana, bob)
    error_of(Api(bob).post(f"/api/rooms/{builds.slug}/hooks", {"bot_id": mine.id}), 403, "forbidden")
    elsewhere = room_factory(bob, "elsewhere")
    error_of(Api(bob).post(f"/api/rooms/{elsewhere.slug}/hooks", {"bot_id": theirs.id}), 403, "forbidden")  # not a member
    private = room_factory(bob, "secret", is_private=True)
    error_of(Api(ana).post(f"/api/rooms/{private.slug}/hooks", {"bot_id": mine.id}), 404, "not_found")
    assert not Hook.objects.exists()


# Outgoing ---------------------------------------------------------------------------------


def test_a_mention_is_posted_signed_and_the_answer_is_posted_as_the_bots_reply(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/reply")
    invite(builds, ana, created.bot)
    w = worker()
    sent = post(ana, builds, "@**Builder** status?")
    run(w)
    [(_, headers, raw)] = endpoint.hits("/reply")
    expected = "sha256=" + hmac.new(created.signing_secret.encode(), raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Parley-Signature"], expected)
    assert headers["X-Parley-Delivery"] == f"{created.bot.id}:{sent.id}"
    payload = json.loads(raw)
    assert set(payload) == {"bot", "room", "message"}
    assert payload["bot"]["id"] == created.bot.id and payload["room"]["slug"] == builds.slug
    assert payload["message"]["id"] == sent.id and payload["message"]["mentions"] == [created.bot.id]
    reply = Message.objects.filter(room=builds, author=created.bot).get()
    assert reply.body == "pong"
    assert Delivery.objects.get().status == Delivery.DELIVERED
    run(w)
    assert len(endpoint.hits("/reply")) == 1  # the bot's own reply wakes nobody


def test_a_dm_reaches_the_bot_without_a_mention_and_other_messages_do_not(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/ok")
    invite(builds, ana, created.bot)
    dm, _ = services.dm_open(user=ana, other=created.bot)
    w = worker()
    post(ana, builds, "no mention here")
    post(ana, dm, "just between us")
    post(ana, builds, "@**all** heads up")
    run(w)
    bodies = [json.loads(raw)["message"]["body"] for _, _, raw in endpoint.hits("/ok")]
    assert sorted(bodies) == ["@**all** heads up", "just between us"]


def test_a_bot_mentioned_in_a_room_it_is_not_in_gets_nothing(ana, bob, builds, room_factory, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/ok")
    invite(builds, ana, created.bot)  # a member somewhere, so its rooms are read
    other = room_factory(bob, "private", is_private=True)
    w = worker()
    post(bob, other, "@**Builder** secret plans")
    post(bob, other, "@**all** more secrets")
    run(w)
    assert endpoint.received == []
    assert not Delivery.objects.exists()


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up_and_the_owner_sees_why(
        ana, builds, endpoint, worker, clock):
    created = make_bot(ana, endpoint=f"{endpoint.url}/500")
    invite(builds, ana, created.bot)
    w = worker()
    post(ana, builds, "@**Builder** deploy")
    run(w)
    assert len(endpoint.hits("/500")) == 1
    for wait in webhooks.BACKOFF_SECONDS:
        clock.advance(wait - 0.5)
        run(w)  # not due yet
        clock.advance(0.5)
        run(w)
    assert len(endpoint.hits("/500")) == webhooks.MAX_ATTEMPTS == 4
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.FAILED and delivery.last_status_code == 500
    clock.advance(3600)
    run(w)
    assert len(endpoint.hits("/500")) == 4
    [failure] = Api(ana).get("/api/bots").json()["bots"][0]["last_failures"]
    assert failure["status_code"] == 500 and failure["attempts"] == 4 and failure["status"] == "failed"
    assert "500" in failure["error"] and failure["room"] == builds.slug


def test_an_html_answer_is_a_failure(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/html")
    invite(builds, ana, created.bot)
    w = worker()
    post(ana, builds, "@**Builder** hi")
    run(w)
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.PENDING and delivery.attempts == 1
    assert "not JSON" in delivery.last_error and "text/html" in delivery.last_error
    assert not Message.objects.filter(author=created.bot).exists()


def test_a_redirect_is_not_followed(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/redirect")
    invite(builds, ana, created.bot)
    w = worker()
    post(ana, builds, "@**Builder** hi")
    run(w)
    assert len(endpoint.hits("/redirect")) == 1 and endpoint.hits("/target") == []
    delivery = Delivery.objects.get()
    assert delivery.last_status_code == 302 and "not followed" in delivery.last_error


def test_a_hanging_endpoint_times_out_without_holding_up_other_deliveries(ana, builds, endpoint, worker):
    slow = make_bot(ana, "Slow", endpoint=f"{endpoint.url}/sleep/5")
    fast = make_bot(ana, "Fast", endpoint=f"{endpoint.url}/ok")
    invite(builds, ana, slow.bot)
    invite(builds, ana, fast.bot)
    w = worker(timeout=2)
    post(ana, builds, "@**Slow** and @**Fast**")
    started = time.monotonic()
    w.step()

    def fast_delivered():
        w.collect()
        return Delivery.objects.filter(bot=fast.bot, status=Delivery.DELIVERED).exists()

    wait_for(fast_delivered, 5, "the fast bot was not served")
    assert time.monotonic() - started < 1.8  # well before the slow one's timeout
    w.drain(timeout=10)
    assert time.monotonic() - started < 4.5  # the slow one was cut at its timeout, not at its 5 s
    failed = Delivery.objects.get(bot=slow.bot)
    assert failed.status == Delivery.PENDING and failed.last_status_code is None
    assert "No answer within 2 s" in failed.last_error


def test_a_restart_neither_misses_nor_repeats(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/reply")
    invite(builds, ana, created.bot)
    first = worker()
    one = post(ana, builds, "@**Builder** one")
    run(first)
    first.close()  # the process stops
    two = post(ana, builds, "@**Builder** two (while it was down)")
    second = worker()  # a new process: it resumes at the stored cursor
    run(second)
    run(second)
    ids = [json.loads(raw)["message"]["id"] for _, _, raw in endpoint.hits("/reply")]
    assert ids == [one.id, two.id]
    assert Message.objects.filter(author=created.bot).count() == 2


def test_a_crash_after_sending_resends_once_and_the_reply_is_not_posted_twice(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/reply")
    invite(builds, ana, created.bot)
    w = worker()
    post(ana, builds, "@**Builder** once")
    run(w)
    Delivery.objects.update(status=Delivery.PENDING)  # as if the process died before recording it
    run(worker())
    assert len(endpoint.hits("/reply")) == 2
    assert Message.objects.filter(author=created.bot).count() == 1


def test_a_delivery_is_dropped_when_the_bot_left_the_room_before_it_was_sent(ana, builds, endpoint, worker):
    created = make_bot(ana, endpoint=f"{endpoint.url}/ok")
    invite(builds, ana, created.bot)
    w = worker()
    post(ana, builds, "@**Builder** hi")
    w.scan()
    services.room_leave(room=builds, user=created.bot)
    run(w)
    assert endpoint.received == []
    assert Delivery.objects.get().status == Delivery.DROPPED


# Server-side request forgery ------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/", "http://10.1.2.3/hook", "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8080/", "http://localhost/", "http://192.168.0.10/", "https://[fe80::1]/", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://[::ffff:127.0.0.1]/",
])
def test_endpoints_on_non_public_addresses_are_refused(ana, settings, url):
    settings.PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS = False
    error = error_of(Api(ana).post("/api/bots", {"name": "x", "endpoint": url}), 400, "invalid")
    assert "endpoint" in error["fields"]
    assert not User.objects.filter(is_bot=True, bot_owner__isnull=False).exists()  # the assistant aside


def test_public_addresses_pass_the_check():
    assert webhooks.is_public_address("93.184.216.34")
    assert webhooks.is_public_address("2606:2800:220:1:248:1893:25c8:1946")
    assert not webhooks.is_public_address("100.64.0.1")  # carrier-grade NAT


def test_the_address_is_checked_again_when_sending(ana, builds, endpoint, worker, settings):
    created = make_bot(ana, endpoint=f"{endpoint.url}/ok")  # allowed when it was set
    invite(builds, ana, created.bot)
    settings.PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS = False
    w = worker()
    post(ana, builds, "@**Builder** hi")
    run(w)
    assert endpoint.received == []
    assert "not public" in Delivery.objects.get().last_error


# The process ---------------------------------------------------------------------------------


@pytest.mark.server
def test_manage_py_run_bots_answers_a_mention_in_its_own_process(start_server, sqlite_url, endpoint):
    server = start_server(sqlite_url, PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS=1)
    ana = Http.signup(server.url, "Ana")
    status, created = ana.post("/api/bots", {"name": "Pinger", "endpoint": f"{endpoint.url}/reply"})
    assert status == 201, created
    status, room = ana.post("/api/rooms", {"name": f"ops {time.monotonic_ns()}"})
    slug = room["room"]["slug"]
    assert ana.post(f"/api/rooms/{slug}/invite", {"user_id": created["bot"]["id"]})[0] == 200

    def run_bots():
        subprocess.run([sys.executable, "manage.py", "run_bots", "--once", "-v", "0"], cwd=ROOT, check=True,
                       timeout=60, env=server_env(sqlite_url, PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS=1))

    run_bots()  # its cursor starts at the stream head
    status, sent = ana.post(f"/api/rooms/{slug}/messages", {"body": "@**Pinger** ping"})
    assert status == 201
    run_bots()
    [(_, headers, raw)] = endpoint.hits("/reply")
    secret = created["signing_secret"].encode()
    assert headers["X-Parley-Signature"] == "sha256=" + hmac.new(secret, raw, hashlib.sha256).hexdigest()
    _, history = ana.get(f"/api/rooms/{slug}/messages")
    assert [(m["author"]["display_name"], m["body"]) for m in history["messages"]][-2:] == [
        ("Ana Live", "@**Pinger** ping"), ("Pinger", "pong"),
    ]
