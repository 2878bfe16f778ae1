"""The lean path for GET /api/events (rooms/events_wsgi.py) answers as Django does, or leaves it to Django.

Each case builds one request and asks both: Django's handler with the whole
middleware stack, and the lean path's `answer()`. Where the lean path answers,
status, body and every header and cookie must be Django's; where it declines
(None), Django answers, so what the client sees is Django's by construction.
The delivery and security suites run through the lean path with
`-p tests.lean_client` (docs/benchmarks.md, "Lean poll path").
"""
import json

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import Client, RequestFactory
from django.test.client import ClientHandler

from parley import ratelimit
from rooms import events_wsgi, messaging
from users.services import token_create, token_revoke

pytestmark = pytest.mark.django_db


def environ(params=None, *, token=None, cookies=None, **extra):
    factory = RequestFactory()
    if cookies is not None:
        factory.cookies = cookies
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Token {token}"
    return factory.get("/api/events", params or {}, **extra).environ


def through_django(env):
    handler = ClientHandler()
    handler.load_middleware()
    return handler.get_response(WSGIRequest(dict(env)))


def through_lean(env):
    answered = events_wsgi.answer(dict(env))
    return None if answered is None else answered[1]


def assert_alike(env):
    """Both paths answer `env` alike; return the (lean) answer."""
    django, lean = through_django(env), through_lean(env)
    assert lean is not None, "the lean path left this plain poll to Django"
    assert lean.status_code == django.status_code, lean.content
    assert json.loads(lean.content) == json.loads(django.content)
    assert dict(lean.items()) == dict(django.items())
    assert {name: cookie.output() for name, cookie in lean.cookies.items()} == \
        {name: cookie.output() for name, cookie in django.cookies.items()}
    return lean


def session_cookies(user):
    client = Client()
    client.force_login(user)
    return client.cookies


def test_a_token_poll_answers_as_django_does(ana, room_factory):
    room = room_factory(ana, "general")
    token = token_create(user=ana)
    first = assert_alike(environ(token=token))
    cursor = json.loads(first.content)["cursor"]
    messaging.message_post(room=room, author=ana, body="hé <b>", client_id="c1")
    answer = assert_alike(environ({"cursor": cursor, "timeout": "0"}, token=token))
    assert [event["message"]["body"] for event in json.loads(answer.content)["events"]] == ["hé <b>"]
    assert answer["Cache-Control"] == "no-store"
    assert answer["X-Frame-Options"] == "DENY"
    assert answer["Content-Security-Policy"]
    assert answer["Content-Length"] == str(len(answer.content))


def test_a_session_poll_answers_as_django_does_with_vary_cookie(ana):
    answer = assert_alike(environ(cookies=session_cookies(ana)))
    assert "Cookie" in answer["Vary"]


def test_a_cursor_past_the_head_is_the_same_410(ana):
    answer = assert_alike(environ({"cursor": "999999999", "timeout": "0"}, token=token_create(user=ana)))
    assert answer.status_code == 410


def test_over_the_poll_limit_is_the_same_429(ana, settings):
    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_RATE_POLL_USER = (1, 60)
    ratelimit.reset_local()
    token = token_create(user=ana)
    assert through_lean(environ(token=token)).status_code == 200
    ratelimit.reset_local()
    assert through_django(environ(token=token)).status_code == 200
    answer = assert_alike(environ(token=token))
    assert answer.status_code == 429 and answer["Retry-After"]


def test_https_headers_are_the_same(ana, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    answer = assert_alike(environ(token=token_create(user=ana), secure=True))
    assert answer["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.parametrize("case", [
    "no credentials", "a bad token", "a revoked token", "an inactive user", "an unapproved user's session",
    "a session of a changed password", "a bad cursor", "a bad timeout", "a host not allowed", "the https redirect",
    "a malformed csrf cookie",
])
def test_what_is_not_the_plain_case_is_left_to_django(case, make_user, settings):
    user = make_user()
    token = token_create(user=user)
    env = environ(token=token)
    if case == "no credentials":
        env = environ()
    elif case == "a bad token":
        env = environ(token="nonsense")
    elif case == "a revoked token":
        token_revoke(key=token)
    elif case == "an inactive user":
        user.is_active = False
        user.save()
    elif case == "an unapproved user's session":
        env = environ(cookies=session_cookies(user))
        user.is_approved = False
        user.save()
    elif case == "a session of a changed password":
        env = environ(cookies=session_cookies(user))
        user.set_password("another one entirely")
        user.save()
    elif case == "a bad cursor":
        env = environ({"cursor": "12x"}, token=token)
    elif case == "a bad timeout":
        env = environ({"timeout": "-1"}, token=token)
    elif case == "a host not allowed":
        env = environ(token=token, HTTP_HOST="evil.example")
    elif case == "the https redirect":
        settings.SECURE_SSL_REDIRECT = True
    elif case == "a malformed csrf cookie":
        cookies = Client().cookies
        cookies[settings.CSRF_COOKIE_NAME] = "short!"
        env = environ(token=token, cookies=cookies)
    assert through_lean(env) is None
    assert through_django(env).status_code != 200 or case == "a malformed csrf cookie"


def test_the_lean_path_sends_only_get_api_events_its_way():
    seen = []

    def django_app(environ, start_response):
        seen.append((environ["REQUEST_METHOD"], environ["PATH_INFO"]))
        start_response("204 No Content", [])
        return [b""]

    app = events_wsgi.events_first(django_app)
    for method, path in (("POST", "/api/events"), ("GET", "/api/events/"), ("GET", "/api/rooms"),
                         ("GET", "/chat/api/events"), ("GET", "/api/events")):
        env = RequestFactory().generic(method, path).environ
        app(env, lambda status, headers, exc_info=None: None)
    # The last: a GET /api/events without credentials, declined by the lean path, so Django's too.
    assert seen == [("POST", "/api/events"), ("GET", "/api/events/"), ("GET", "/api/rooms"),
                    ("GET", "/chat/api/events"), ("GET", "/api/events")]


def test_mounted_under_a_prefix_the_path_after_script_name_counts(ana, settings):
    settings.FORCE_SCRIPT_NAME = "/chat"
    env = environ(token=token_create(user=ana), SCRIPT_NAME="/chat")
    assert env["PATH_INFO"] == "/api/events"
    assert_alike(env)
