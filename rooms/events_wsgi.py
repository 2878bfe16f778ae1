"""GET /api/events on a path of its own, in front of Django (Zulip's event server, in process).

Every waiting client asks for the long poll again as soon as its poll
returns, so the poll is most of what a Parley server answers. Through Django
it pays for the whole handler on each answer: the request signals (which
look at every database connection), every middleware's `__call__`, the
message storage, URL resolving, the lazy user, the view's three decorators.
None of it decides anything for a poll that is allowed in. This WSGI layer,
the outermost one (config/wsgi.py), answers exactly `GET /api/events` (the
path after the mount prefix: SCRIPT_NAME) itself, with Django's own pieces:

- the request is Django's `WSGIRequest` (host, scheme, cookies, query);
- the user comes from the same places: a bearer token from the token cache
  (users/tokencache.py, as users/middleware.py takes it for the poll), or the
  session, checked as django.contrib.auth.get_user checks it (the session
  engine, the configured backend, which refuses inactive and unapproved
  users, and the session's password hash);
- the same poll limits and waiting-poll slots (parley/ratelimit.py), the
  same presence note, the same rooms/polling.py, the same error bodies
  (parley/api.py);
- the same headers, from the same middleware: the response goes through the
  process_response of Django's SessionMiddleware, SecurityMiddleware and
  XFrameOptionsMiddleware and gets Parley's CSP, then Content-Length, as
  CommonMiddleware adds it.

Whatever is not the plain case goes to Django, untouched, before anything
was counted or written: no or a bad credential (401), a session that fails
its hash check (Django flushes or rotates it), a host not allowed, the HTTPS
redirect, a malformed CSRF cookie (Django replaces it), a bad `timeout` or
`cursor` (400), any other method or path. Django then answers as it always
did, so the errors are Django's by construction. tests/test_lean_events.py
checks both paths answer alike; the delivery and security suites run through
this path with `-p tests.lean_client`.

A poll that waits, waits here: its greenlet's stack is this function's few
frames, not Django's (parley/server/deferred.py explains why that matters).

Answers are spliced from bytes: each event's JSON is encoded once per process
(rooms/visibility.py `EventData.encoded`) and joined into every answer that
carries it.
"""
import functools
import logging
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIRequest
from django.core.signals import setting_changed
from django.db import connection
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.csrf import InvalidTokenFormat, _check_token_format
from django.middleware.security import SecurityMiddleware
from django.dispatch import receiver
from django.utils.crypto import constant_time_compare

from parley import api, ratelimit
from users import tokencache
from users.middleware import TOKEN_PATHS
from users.models import User

from . import polling, presence
from .api import events_response

log = logging.getLogger(__name__)
request_log = logging.getLogger("django.request")

PATH = "/api/events"
assert PATH.startswith(TOKEN_PATHS)  # users/middleware.py takes bearer tokens here


def _never_called(request):  # the middleware below is used for its process_response only
    raise AssertionError


@functools.cache
def _middleware():
    """The middleware whose process_response this path calls; they read settings when made."""
    return XFrameOptionsMiddleware(_never_called), SessionMiddleware(_never_called), SecurityMiddleware(_never_called)


@receiver(setting_changed)
def _settings_changed(**kwargs):  # tests
    _middleware.cache_clear()
    _session_stores.clear()


# The middleware this path stands in for (config/settings.py): with any other, Django answers everything.
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "parley.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "users.middleware.TokenAuthenticationMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]


def events_first(django_app):
    """Wrap the WSGI app: GET /api/events is answered here when it can be, everything else by `django_app`."""
    if not settings.PARLEY_LEAN_POLL:
        return django_app
    if list(settings.MIDDLEWARE) != MIDDLEWARE:
        log.warning("MIDDLEWARE differs from what rooms/events_wsgi.py stands in for: Django answers the polls.")
        return django_app

    def application(environ, start_response):
        if environ.get("PATH_INFO") != PATH or environ.get("REQUEST_METHOD") != "GET":
            return django_app(environ, start_response)
        answered = answer(environ)
        if answered is None:
            return django_app(environ, start_response)
        response = answered[1]
        headers = [*response.items(), *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values())]
        start_response(f"{response.status_code} {response.reason_phrase}", headers)
        return [response.content]

    return application


def answer(environ):
    """Answer a GET /api/events as (request, HttpResponse), or None: Django must answer it."""
    request = WSGIRequest(environ)
    try:
        response = _respond(request)
    except api.DATABASE_DOWN as error:
        response = api.unavailable(request, error)
    except Exception:
        request_log.error("Internal Server Error: %s", request.path, exc_info=True)
        response = api.handler500(request)
    finally:
        if connection.connection is not None and not connection.in_atomic_block:
            connection.close()  # back to the pool, as Django's request_finished would
    if response is None:
        return None
    return request, _with_middleware_headers(request, response)


def _respond(request):
    """The answer, or None for Django to give. A poll that waits holds no user while it does."""
    try:
        ready = _plain_case(request)
    except api.DATABASE_DOWN:
        return None  # Django meets it too, and answers 503
    if ready is None:
        return None
    user, cursor, timeout = ready
    del ready
    result, release = _begin(request, user, cursor, timeout)
    del user  # ten thousand waiting polls: each keeps only what its wait needs
    if not isinstance(result, polling.Wait):
        return result
    try:
        return events_response(result.complete())
    finally:
        release()


def _plain_case(request):
    """(user, cursor, timeout) for a poll Django would let in and not refuse for its input; else None."""
    if settings.SECURE_SSL_REDIRECT and not request.is_secure():
        return None  # SecurityMiddleware redirects
    if settings.DISALLOWED_USER_AGENTS or settings.PREPEND_WWW or settings.CSRF_USE_SESSIONS:
        return None  # CommonMiddleware's and CSRF's less usual work: left to them
    try:
        request.get_host()
    except DisallowedHost:
        return None
    csrf_cookie = request.COOKIES.get(settings.CSRF_COOKIE_NAME)
    if csrf_cookie is not None:
        try:
            _check_token_format(csrf_cookie)
        except InvalidTokenFormat:
            return None  # CsrfViewMiddleware sends a new cookie
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if session_key is not None:  # without the cookie, SessionMiddleware adds nothing to the answer
        request.session = _session_store()(session_key)
    timeout = _timeout(request)
    cursor = request.GET.get("cursor", "")
    del request.GET  # read: a waiting poll need not keep the parsed query
    if timeout is None or not _cursor_ok(cursor):
        return None
    user = _user(request)
    if user is None:
        return None
    return user, cursor, timeout


_session_stores = {}  # SESSION_ENGINE -> its SessionStore


def _session_store():
    name = settings.SESSION_ENGINE
    if name not in _session_stores:
        _session_stores[name] = import_module(name).SessionStore
    return _session_stores[name]


def _timeout(request):
    """The timeout as parley.api.query_int reads it (minimum 0), or None where it would refuse it."""
    try:
        return api.query_int(request, "timeout", default=settings.PARLEY_POLL_TIMEOUT_DEFAULT, minimum=0)
    except api.ApiError:
        return None


def _cursor_ok(cursor):
    return not cursor or (cursor.isascii() and cursor.isdigit() and len(cursor) <= polling.MAX_CURSOR_DIGITS)


def _user(request):
    """The user as users/middleware.py (a token) or the session would have it, or None."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header:  # an explicit token never falls back to the session
        scheme, _, key = header.partition(" ")
        if scheme.lower() not in ("token", "bearer") or not key.strip():
            return None
        return tokencache.cache.user_for(key.strip())
    if settings.SESSION_COOKIE_NAME not in request.COOKIES:
        return None
    return _session_user(request.session)


def _session_user(session):
    """django.contrib.auth.get_user's user, where it would change nothing; else None.

    A session whose hash does not match the current secret is Django's to
    flush (or to rotate, under a fallback secret): None sends it there.
    """
    try:
        user_id = User._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)
    if user is None:
        return None
    session_hash = session.get(HASH_SESSION_KEY)
    if not session_hash or not constant_time_compare(session_hash, user.get_session_auth_hash()):
        return None
    return user


def _begin(request, user, cursor, timeout):
    """rooms/api.py events_view under ratelimit.limit_polls, up to the wait.

    Return (response, None), or (Wait, release) where the caller waits and then
    calls release() to give back the poll's slots.
    """
    address = None
    limits = ratelimit.enabled()
    if limits or settings.PARLEY_POLL_CONCURRENCY_IP is not None:
        address = ratelimit.client_ip(request)
    try:
        if limits:
            ratelimit.check(ratelimit.POLL_USER, f"user:{user.id}")
            ratelimit.check(ratelimit.POLL_IP, address)
        with ratelimit.poll_slot(user.id, address) as slot:
            presence.seen(user)
            result = polling.fetch_events(user=user, cursor=cursor, timeout=timeout)
            if isinstance(result, polling.Wait):
                return result, slot.keep()
            return events_response(result), None
    except api.ApiError as error:  # RateLimited
        return api.error_response(error.status, error.code, error.message, error.fields, error.headers), None


def _with_middleware_headers(request, response):
    """What MIDDLEWARE (config/settings.py) adds to an API answer, in its order (innermost first)."""
    frame, session, security = _middleware()
    response = frame.process_response(request, response)
    response = session.process_response(request, response)
    if not response.has_header("Content-Length"):  # CommonMiddleware
        response.headers["Content-Length"] = str(len(response.content))
    if settings.PARLEY_CSP and "Content-Security-Policy" not in response:
        response["Content-Security-Policy"] = settings.PARLEY_CSP
    return security.process_response(request, response)
