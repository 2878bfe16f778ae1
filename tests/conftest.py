"""Shared fixtures: users, API clients, and real gunicorn servers.

PostgreSQL-backed tests are marked `postgres`. When the server is missing they
skip on a developer's machine but fail under CI (CI=true), so a green CI always
means they ran.
"""
import json
import os
import uuid

import pytest
from django.test import Client

from tests.live import PASSWORD, Server, migrate
PG_ADMIN_URL = os.environ.get("PARLEY_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/test")


def _flush_memberships_first():
    """Make Django's flush on SQLite delete memberships before the events and the stream.

    Deleting a membership writes a `membership` event (a trigger, rooms
    migration 0005). Flush (the end of every transactional test) deletes the
    tables in an order that changes from run to run; events written after
    rooms_event was emptied would outlive the flush and collide with the next
    test's positions. PostgreSQL's flush is TRUNCATE, which fires no row trigger.
    """
    from django.db.backends.sqlite3.base import DatabaseOperations

    flush = DatabaseOperations.sql_flush

    def sql_flush(self, style, tables, **options):
        return flush(self, style, sorted(tables, key=lambda table: table != "rooms_membership"), **options)

    DatabaseOperations.sql_flush = sql_flush


_flush_memberships_first()


def _recreate_the_stream_row(sender, using="default", **kwargs):
    """Put back the one stream row (rooms migration 0002) and the assistant (0010) after a transactional test's flush.

    Django's flush ends with post_migrate, as a migration run does; the
    services rely on the row as they do in every migrated database.
    """
    if sender.label == "rooms":
        from rooms.assistant_bot import assistant_user
        from rooms.models import Stream

        Stream.objects.using(using).get_or_create(id=1)
        assistant_user()  # and the built-in assistant (rooms migration 0010), as every database has it


def _connect_stream_row_handler():
    from django.db.models.signals import post_migrate

    post_migrate.connect(_recreate_the_stream_row, dispatch_uid="tests.recreate_stream_row")


_connect_stream_row_handler()


@pytest.fixture(autouse=True)
def _test_settings(settings, monkeypatch):
    """Start the hub as a worker does, without its loops: tests drive refresh() and maintenance themselves."""
    settings.PARLEY_BACKGROUND_THREADS = False
    settings.PARLEY_RATE_LIMITS = False
    from django.db import connection

    from rooms import polling, presence, services
    from rooms.hub import hub
    from users import tokencache

    # A test in one transaction (pytest-django's `db`) must keep its connection:
    # closing it would end the test's transaction. Transactional tests close it
    # before waiting, as the server does.
    release = polling.release_connection
    monkeypatch.setattr(polling, "release_connection", lambda: None if connection.in_atomic_block else release())
    hub.stop()
    hub.start()
    services._last_typing.clear()
    presence._seen.clear()
    presence._online.clear()
    tokencache.cache.clear()
    yield
    hub.stop()
    presence._seen.clear()
    presence._online.clear()
    tokencache.cache.clear()


# Users and clients ---------------------------------------------------------------


@pytest.fixture
def make_user(db):
    from users.models import User

    counter = iter(range(1, 1_000_000))

    def make(first_name=None, *, email=None, approved=True, staff=False, last_name="Tester"):
        n = next(counter)
        first_name = first_name or f"User{n}"
        return User.objects.create_user(
            email or f"{first_name.lower()}{n}@example.com", PASSWORD,
            first_name=first_name, last_name=last_name, is_approved=approved, is_staff=staff,
        )

    return make


class Api:
    """A JSON client speaking as one user through a bearer token."""

    def __init__(self, user=None):
        headers = {}
        if user is not None:
            from users.services import token_create

            headers["Authorization"] = f"Token {token_create(user=user)}"
        self.user = user
        self.client = Client(headers=headers)

    def get(self, path, params=None):
        return self.client.get(path, params or {})

    def post(self, path, data=None, raw=None):
        body = raw if raw is not None else json.dumps(data if data is not None else {})
        return self.client.post(path, body, content_type="application/json")

    def patch(self, path, data):
        return self.client.patch(path, json.dumps(data), content_type="application/json")


@pytest.fixture
def ana(make_user):
    return make_user("Ana")


@pytest.fixture
def bob(make_user):
    return make_user("Bob")


@pytest.fixture
def eve(make_user):
    return make_user("Eve")


def error_of(response, status, code):
    """Assert a JSON error answer of API.md's shape; return its `error`."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


@pytest.fixture
def api():
    return Api


class Feed:
    """One user's long poll, keeping its cursor the way a client does."""

    def __init__(self, client):
        self.client = client
        response = client.get("/api/events")
        assert response.status_code == 200, response.content
        self.cursor = response.json()["cursor"]

    def take(self, type=None):
        """Return the events waiting after the cursor (of one type if given), advancing it."""
        response = self.client.get("/api/events", {"cursor": self.cursor, "timeout": "0"})
        assert response.status_code == 200, response.content
        body = response.json()
        self.cursor = body["cursor"]
        return [e for e in body["events"] if type is None or e["type"] == type]


@pytest.fixture
def feed(api):
    """feed(user) -> that user's Feed."""
    return lambda user: Feed(Api(user))


@pytest.fixture
def room_factory():
    from rooms import services

    def make(creator, name=None, **options):
        return services.room_create(creator=creator, name=name or f"room {uuid.uuid4().hex[:8]}", **options)

    return make


# PostgreSQL ------------------------------------------------------------------------------


def postgres_available(url=PG_ADMIN_URL):
    import psycopg2

    try:
        psycopg2.connect(url, connect_timeout=3).close()
        return True
    except psycopg2.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh, migrated PostgreSQL database for servers the tests start."""
    if not postgres_available():
        message = f"PostgreSQL is not reachable at {PG_ADMIN_URL}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI needs it: start it with pg_ctlcluster)")
        pytest.skip(message)
    name = f"parley_it_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    # A fresh connection: a test may have restarted the server meanwhile.
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _admin(sql):
    import psycopg2

    admin = psycopg2.connect(PG_ADMIN_URL)
    try:
        admin.autocommit = True
        admin.cursor().execute(sql)
    finally:
        admin.close()


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'live.sqlite3'}"
    migrate(url)
    return url


@pytest.fixture
def start_server(tmp_path):
    servers = []

    def start(database_url, **options):
        server = Server(database_url, log_path=tmp_path / f"server{len(servers)}.log", **options)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def live_server_env():
    """Extra environment for live_server_url's server; a test overrides it by parametrising it."""
    return {}


@pytest.fixture
def live_server_url(request, start_server, sqlite_url, live_server_env):
    """A gunicorn server on this run's database kind (PostgreSQL when DATABASE_URL says so)."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return start_server(request.getfixturevalue("postgres_url"), **live_server_env).url
    return start_server(sqlite_url, **live_server_env).url
