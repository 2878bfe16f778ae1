"""Polls take their user from a per-process memory of tokens (users/tokencache.py), never a stale one."""
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from parley import listen
from rooms import presence
from rooms.hub import hub
from tests.live import PASSWORD, Http, wait_for
from users import tokencache
from users.models import ApiToken, User
from users.services import token_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def current(monkeypatch):
    """As in a server whose fetch loop runs and whose listener is connected."""
    monkeypatch.setattr(listen, "current", lambda: True)
    monkeypatch.setattr(type(hub), "current", property(lambda self: True))


def token_queries(client, cursor):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/api/events", {"cursor": cursor, "timeout": "0"})
    return response, [q["sql"] for q in queries if "users_apitoken" in q["sql"]]


def test_a_second_poll_does_not_look_the_token_up(api, make_user, current):
    client = api(make_user("Ana"))
    cursor = client.get("/api/events").json()["cursor"]
    response, lookups = token_queries(client, cursor)
    assert response.status_code == 200 and lookups == []
    # Other requests always ask the database.
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/me").status_code == 200
    assert any("users_apitoken" in q["sql"] for q in queries)


def test_without_a_current_hub_every_poll_looks_the_token_up(api, make_user):
    client = api(make_user("Ana"))
    cursor = client.get("/api/events").json()["cursor"]
    assert len(token_queries(client, cursor)[1]) == 1


def test_a_logged_out_token_is_refused_at_once(api, make_user, current, django_capture_on_commit_callbacks):
    client = api(make_user("Ana"))
    cursor = client.get("/api/events").json()["cursor"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/api/auth/logout").status_code == 204
    assert client.get("/api/events", {"cursor": cursor, "timeout": "0"}).status_code == 401


@pytest.mark.parametrize("change", ["deactivated", "deleted"])
def test_a_user_deactivated_or_deleted_is_refused_at_once(api, make_user, current, change,
                                                          django_capture_on_commit_callbacks):
    ana = make_user("Ana")
    client = api(ana)
    cursor = client.get("/api/events").json()["cursor"]
    with django_capture_on_commit_callbacks(execute=True):
        if change == "deleted":
            ana.delete()
        else:
            ana.is_active = False
            ana.save()
    assert client.get("/api/events", {"cursor": cursor, "timeout": "0"}).status_code == 401


def test_a_remembered_user_swept_offline_comes_back_online_with_the_next_poll(api, make_user, current):
    ana, ben = make_user("Ana"), make_user("Ben")
    ana_client, ben_client = api(ana), api(ben)
    room = ana_client.post("/api/rooms", {"name": "presence"}).json()["room"]["slug"]
    assert ben_client.post(f"/api/rooms/{room}/join").status_code == 200
    ana_client.get("/api/events")  # ana is online now...
    tokencache.cache.clear()
    ana_cursor = ana_client.get("/api/events").json()["cursor"]  # ...and remembered as online
    cursor = ben_client.get("/api/events").json()["cursor"]

    def ana_presence():
        nonlocal cursor
        answer = ben_client.get("/api/events", {"cursor": cursor, "timeout": "0"}).json()
        cursor = answer["cursor"]
        return [e["status"] for e in answer["events"] if e["type"] == "presence" and e["user"]["id"] == ana.id]

    # Ana goes quiet past the window and is swept offline; the hub reads that presence event.
    presence.sweep_offline(now=timezone.now() + timedelta(minutes=5))
    assert ana_presence() == ["offline"]
    # Her next poll, answered from memory, knows she is offline and says she is back.
    assert ana_client.get("/api/events", {"cursor": ana_cursor, "timeout": "0"}).status_code == 200
    assert ana_presence() == ["online"]


def test_forget_takes_what_the_listener_passes_on(make_user):
    ana, ben = make_user("Ana"), make_user("Ben")
    keys = {name: token_create(user=user) for name, user in (("ana1", ana), ("ana2", ana), ("ben", ben))}
    cache = tokencache.TokenCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(listen, "current", lambda: True)
        for key in keys.values():
            assert cache.user_for(key) is not None
        assert len(cache._entries) == 3
        cache.forget(f"user:{ana.id}")
        assert len(cache._entries) == 1
        cache.forget(f"token:{tokencache.token_hash(keys['ben'])}")
        assert cache._entries == {} and cache._by_user == {}
        cache.user_for(keys["ben"])
        cache.forget("all")
        assert cache._entries == {}


# Across processes -----------------------------------------------------------------------------------


@pytest.mark.server
@pytest.mark.postgres
def test_a_logout_on_one_worker_is_refused_by_every_worker_at_once(postgres_url, start_server):
    server = start_server(postgres_url, workers=2)
    ana = Http.signup(server.url, "Ana")
    cursor = ana.get("/api/events")[1]["cursor"]
    for _ in range(20):  # each worker answers some of these, and remembers the token
        assert ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] == 200
    assert ana.post("/api/auth/logout")[0] == 204
    # The other worker hears the NOTIFY on its listener within milliseconds; a second is plenty.
    rounds = []

    def every_worker_refuses():
        rounds.append([ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] for _ in range(20)])
        return rounds[-1] == [401] * 20

    wait_for(every_worker_refuses, 1, lambda: json.dumps(rounds))


# Revocation reaches the cache (issue 9, item 6) ------------------------------------------------------


def poll(client, cursor):
    return client.get("/api/events", {"cursor": cursor, "timeout": "0"}).status_code


@pytest.mark.parametrize("how", ["password_api", "set_password", "logout_everywhere"])
def test_a_password_change_or_log_out_everywhere_is_refused_by_the_next_poll_at_once(
        api, make_user, current, how, django_capture_on_commit_callbacks):
    ana = make_user("Ana")
    poller, changer = api(ana), api(ana)
    cursor = poller.get("/api/events").json()["cursor"]
    assert poll(poller, cursor) == 200  # remembered now
    with django_capture_on_commit_callbacks(execute=True):
        if how == "password_api":
            assert changer.post("/api/me/password", {"old_password": PASSWORD,
                                                     "new_password": "a brand new passphrase 7"}).status_code == 200
        elif how == "set_password":
            ana.set_password("a brand new passphrase 7")
            ana.save()
        else:
            assert changer.post("/api/auth/logout-everywhere").status_code == 204
    assert poll(poller, cursor) == 401


def test_a_session_poll_is_refused_after_a_password_change(make_user, current):
    ana = make_user("Ana")
    browser = Client()
    browser.force_login(ana)
    cursor = browser.get("/api/events").json()["cursor"]
    assert poll(browser, cursor) == 200
    ana.set_password("a brand new passphrase 7")
    ana.save()
    assert poll(browser, cursor) == 401


def test_a_revocation_heard_during_a_lookup_is_not_undone_by_it(make_user, current, monkeypatch):
    """A poll reads the token just before a logout commits; the logout's word arrives before the poll
    stores what it read. The poll must not then remember the revoked token for minutes."""
    ana = make_user("Ana")
    key = token_create(user=ana)
    lookup = User.objects.for_token

    def read_then_revoked(key, **kwargs):
        user = lookup(key, **kwargs)
        ApiToken.objects.for_key(key).delete()
        tokencache.cache.forget(f"token:{tokencache.token_hash(key)}")  # as the listener passes it on
        return user

    # On the manager itself, as other tests patch it (an attribute there hides the class's).
    monkeypatch.setattr(User.objects, "for_token", read_then_revoked)
    assert tokencache.cache.user_for(key) is not None  # this one answer was read before the logout
    monkeypatch.setattr(User.objects, "for_token", lookup)
    assert tokencache.cache.user_for(key) is None


@pytest.mark.server
@pytest.mark.postgres
def test_a_password_change_on_one_worker_is_refused_by_every_worker_at_once(postgres_url, start_server):
    server = start_server(postgres_url, workers=2)
    ana = Http.signup(server.url, "Ana")
    other = Http(server.url, ana.post("/api/auth/login", {"email": ana.user["email"], "password": PASSWORD})[1]["token"])
    cursor = ana.get("/api/events")[1]["cursor"]
    for _ in range(20):  # each worker answers some of these, and remembers the token
        assert ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] == 200
    status, body = other.post("/api/me/password", {"old_password": PASSWORD, "new_password": "a brand new passphrase 7"})
    assert status == 200, body
    rounds = []

    def every_worker_refuses():
        rounds.append([ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] for _ in range(20)])
        return rounds[-1] == [401] * 20

    wait_for(every_worker_refuses, 1, lambda: json.dumps(rounds))
    fresh = Http(server.url, body["token"])
    assert all(fresh.get(f"/api/events?cursor={cursor}&timeout=0")[0] == 200 for _ in range(10))


# Changes made outside Django (psql, QuerySet.update()) on PostgreSQL ----------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("sql", [
    "UPDATE users_user SET is_active = false WHERE id = %s",
    "UPDATE users_user SET is_approved = false WHERE id = %s",
    "DELETE FROM users_apitoken WHERE user_id = %s",
])
def test_an_account_change_made_with_sql_is_refused_by_every_worker_at_once(postgres_url, start_server, sql):
    """The database announces what Django's signals cannot see: a trigger NOTIFYs the token caches."""
    import psycopg2

    server = start_server(postgres_url, workers=2)
    ana = Http.signup(server.url, "Ana")
    cursor = ana.get("/api/events")[1]["cursor"]
    for _ in range(20):  # each worker answers some of these, and remembers the token
        assert ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] == 200
    outside = psycopg2.connect(postgres_url)
    try:
        outside.autocommit = True
        outside.cursor().execute(sql, [ana.user["id"]])
    finally:
        outside.close()
    rounds = []

    def every_worker_refuses():
        rounds.append([ana.get(f"/api/events?cursor={cursor}&timeout=0")[0] for _ in range(20)])
        return rounds[-1] == [401] * 20

    wait_for(every_worker_refuses, 1, lambda: json.dumps(rounds))
