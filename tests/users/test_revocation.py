"""A password change or "log out everywhere" ends the user's other sessions and tokens; idle tokens expire.

Issue 9, item 6: tokens used to outlive a password change. Whoever changes the
password (the user through the API or the settings page, staff in the admin,
any set_password() and save()), every token and session of that user stops,
except the caller's, which the API replaces with a fresh token or keeps with
update_session_auth_hash.
"""
import json
from datetime import timedelta

import pytest
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.conftest import error_of
from tests.live import PASSWORD
from users.models import ApiToken
from users.services import token_create

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 7"


def token_client(key):
    return Client(headers={"Authorization": f"Token {key}"})


def session_client(user, password=PASSWORD):
    """A browser logged in through the API, with CSRF checks on, as the web client does."""
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/auth/login", json.dumps({"email": user.email, "password": password}),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return client


def post(client, path, data=None):
    extra = {}
    if "csrftoken" in client.cookies:
        extra["HTTP_X_CSRFTOKEN"] = client.cookies["csrftoken"].value
    return client.post(path, json.dumps(data or {}), content_type="application/json", **extra)


def me(client):
    return client.get("/api/me").status_code


def change_password(client, old=PASSWORD, new=NEW_PASSWORD):
    return post(client, "/api/me/password", {"old_password": old, "new_password": new})


def can_log_in(user, password):
    response = Client().post("/api/auth/login", json.dumps({"email": user.email, "password": password}),
                             content_type="application/json")
    return response.status_code == 200


# POST /api/me/password ------------------------------------------------------------------------------


def test_a_password_change_with_a_token_revokes_every_other_token_and_session_and_hands_the_caller_a_new_one(make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    caller, other = token_create(user=ana), token_create(user=ana)
    browser = session_client(ana)
    bobs = token_create(user=bob)
    response = change_password(token_client(caller))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["id"] == ana.id
    fresh = body["token"]
    assert isinstance(fresh, str) and fresh not in (caller, other)
    assert me(token_client(fresh)) == 200
    assert me(token_client(caller)) == 401 and me(token_client(other)) == 401
    assert me(browser) == 401
    assert me(token_client(bobs)) == 200  # nobody else's
    assert ApiToken.objects.filter(user=ana).count() == 1
    assert can_log_in(ana, NEW_PASSWORD) and not can_log_in(ana, PASSWORD)


def test_a_password_change_with_the_session_keeps_that_session_only(make_user):
    ana = make_user("Ana")
    browser, other_browser = session_client(ana), session_client(ana)
    token = token_create(user=ana)
    response = change_password(browser)
    assert response.status_code == 200, response.content
    assert response.json()["token"] is None
    assert me(browser) == 200
    assert me(other_browser) == 401 and me(token_client(token)) == 401


def test_a_session_password_change_needs_the_csrf_header(make_user):
    ana = make_user("Ana")
    browser = session_client(ana)
    response = browser.post("/api/me/password", json.dumps({"old_password": PASSWORD, "new_password": NEW_PASSWORD}),
                            content_type="application/json")
    error_of(response, 403, "forbidden")
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD)


@pytest.mark.parametrize("data, field", [
    ({"old_password": "not my password 1", "new_password": NEW_PASSWORD}, "old_password"),
    ({"old_password": PASSWORD, "new_password": "short"}, "new_password"),
    ({"old_password": PASSWORD, "new_password": "12345678901234"}, "new_password"),
    ({"old_password": PASSWORD}, "new_password"),
    ({"new_password": NEW_PASSWORD}, "old_password"),
    ({"old_password": PASSWORD, "new_password": 12345678}, "new_password"),
    ({"old_password": None, "new_password": NEW_PASSWORD}, "old_password"),
])
def test_a_wrong_old_password_or_a_refused_new_one_is_400_and_changes_nothing(make_user, data, field):
    ana = make_user("Ana")
    caller, other = token_create(user=ana), token_create(user=ana)
    error = error_of(post(token_client(caller), "/api/me/password", data), 400, "invalid")
    assert field in error["fields"]
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD)
    assert me(token_client(caller)) == 200 and me(token_client(other)) == 200


def test_password_change_is_for_logged_in_users_and_only_post(make_user):
    error_of(change_password(Client()), 401, "not_authenticated")
    ana = make_user("Ana")
    error_of(token_client(token_create(user=ana)).get("/api/me/password"), 405, "method_not_allowed")


# Any password change ---------------------------------------------------------------------------------


def test_set_password_and_save_anywhere_revokes_the_users_tokens_and_sessions(make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    token, browser = token_create(user=ana), session_client(ana)
    bobs = token_create(user=bob)
    # Saving other changes keeps them.
    ana.first_name = "Anna"
    ana.save()
    assert me(token_client(token)) == 200 and me(browser) == 200
    ana.set_password(NEW_PASSWORD)
    ana.save()
    assert me(token_client(token)) == 401
    assert me(browser) == 401
    assert me(token_client(bobs)) == 200


def test_an_unusable_password_revokes_the_users_tokens_too(make_user):
    ana = make_user("Ana")
    token = token_create(user=ana)
    ana.set_unusable_password()
    ana.save(update_fields=["password"])
    assert me(token_client(token)) == 401


def test_staff_changing_a_password_in_the_admin_revokes_the_users_tokens_and_sessions(make_user):
    ana = make_user("Ana")
    token, browser = token_create(user=ana), session_client(ana)
    root = make_user("Root", staff=True)
    root.is_superuser = True
    root.save()
    admin = Client()
    admin.force_login(root)
    response = admin.post(f"/admin/users/user/{ana.id}/password/", {
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    assert me(token_client(token)) == 401 and me(browser) == 401
    assert admin.get("/admin/users/user/").status_code == 200  # staff stay logged in
    assert can_log_in(ana, NEW_PASSWORD)


# POST /api/auth/logout-everywhere --------------------------------------------------------------------


def test_log_out_everywhere_with_a_token_ends_every_token_and_session_including_the_callers(make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    caller, other = token_create(user=ana), token_create(user=ana)
    browsers = [session_client(ana), session_client(ana)]
    bobs, bobs_browser = token_create(user=bob), session_client(bob)
    response = post(token_client(caller), "/api/auth/logout-everywhere")
    assert response.status_code == 204 and response.content == b""
    assert me(token_client(caller)) == 401 and me(token_client(other)) == 401
    assert [me(browser) for browser in browsers] == [401, 401]
    assert me(token_client(bobs)) == 200 and me(bobs_browser) == 200
    # The password is unchanged: logging in again works, and that new session is good.
    assert me(session_client(ana)) == 200


def test_log_out_everywhere_with_the_session_ends_that_session_too(make_user):
    ana = make_user("Ana")
    browser, token = session_client(ana), token_create(user=ana)
    assert post(browser, "/api/auth/logout-everywhere").status_code == 204
    assert me(browser) == 401 and me(token_client(token)) == 401


def test_log_out_everywhere_needs_a_login(db):
    error_of(post(Client(), "/api/auth/logout-everywhere"), 401, "not_authenticated")


def test_sessions_made_before_this_change_stay_valid(make_user):
    """With no "log out everywhere" yet, the session hash is Django's own: deploying this logs nobody out."""
    ana = make_user("Ana")
    assert ana.get_session_auth_hash() == AbstractBaseUser.get_session_auth_hash(ana)


# Idle tokens -------------------------------------------------------------------------------------------


def last_used(key):
    return ApiToken.objects.for_key(key).get().last_used_at


def test_a_token_unused_for_the_idle_days_expires(settings, make_user):
    settings.PARLEY_TOKEN_IDLE_DAYS = 90
    ana = make_user("Ana")
    idle, recent = token_create(user=ana), token_create(user=ana)
    now = timezone.now()
    ApiToken.objects.for_key(idle).update(last_used_at=now - timedelta(days=90, minutes=1))
    ApiToken.objects.for_key(recent).update(last_used_at=now - timedelta(days=89, hours=23))
    error_of(token_client(idle).get("/api/me"), 401, "not_authenticated")
    assert token_client(idle).get("/api/events").status_code == 401
    assert me(token_client(recent)) == 200
    assert last_used(recent) > now - timedelta(minutes=1)  # used: its 90 days start again
    settings.PARLEY_TOKEN_IDLE_DAYS = 1
    assert me(token_client(recent)) == 200


def token_updates(client, path="/api/me"):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [q["sql"] for q in queries if q["sql"].startswith("UPDATE") and "users_apitoken" in q["sql"]]


def test_a_tokens_last_use_is_written_at_most_once_an_hour(make_user):
    ana = make_user("Ana")
    key = token_create(user=ana)
    client = token_client(key)
    assert token_updates(client) == []  # just made: nothing to write
    ApiToken.objects.for_key(key).update(last_used_at=timezone.now() - timedelta(minutes=59))
    assert token_updates(client) == []
    ApiToken.objects.for_key(key).update(last_used_at=timezone.now() - timedelta(minutes=61))
    assert len(token_updates(client, "/api/events")) == 1
    assert token_updates(client) == [] and token_updates(client, "/api/events") == []
    assert last_used(key) > timezone.now() - timedelta(minutes=1)


def test_logging_in_clears_the_users_expired_tokens(settings, make_user):
    ana = make_user("Ana")
    idle = token_create(user=ana)
    ApiToken.objects.for_key(idle).update(last_used_at=timezone.now() - timedelta(days=settings.PARLEY_TOKEN_IDLE_DAYS + 1))
    assert can_log_in(ana, PASSWORD)
    assert not ApiToken.objects.for_key(idle).exists() and ApiToken.objects.filter(user=ana).count() == 1
