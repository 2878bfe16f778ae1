"""The accounts API (API.md, Authentication): register, login, logout, me, tokens, sessions, CSRF."""
import json

import pytest
from django.test import Client

from tests.conftest import error_of
from tests.live import PASSWORD
from users.models import ApiToken, User

pytestmark = pytest.mark.django_db

GOOD = {"email": "ana@example.com", "password": "correct horse battery", "first_name": "Ana", "last_name": "Lima"}


def post_json(client, path, data=None, raw=None, **extra):
    body = raw if raw is not None else json.dumps(data if data is not None else {})
    return client.post(path, body, content_type="application/json", **extra)


def register(data, client=None):
    return post_json(client or Client(), "/api/auth/register", data)


def login(email, password=PASSWORD, client=None):
    return post_json(client or Client(), "/api/auth/login", {"email": email, "password": password})


def session_client(user):
    """A browser-like client logged in through the API, with CSRF checks on."""
    client = Client(enforce_csrf_checks=True)
    response = login(user.email, client=client)
    assert response.status_code == 200
    return client


# Register ------------------------------------------------------------------------------


def test_register_creates_an_active_account(settings):
    settings.PARLEY_REQUIRE_APPROVAL = False
    response = register(GOOD)
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "active"
    assert body["user"] == {
        "id": body["user"]["id"], "email": "ana@example.com", "first_name": "Ana", "last_name": "Lima",
        "display_name": "Ana Lima", "is_staff": False, "is_bot": False,
    }
    user = User.objects.get(is_bot=False)
    assert user.is_approved and not user.is_staff
    assert user.check_password(GOOD["password"])
    assert user.password != GOOD["password"]


def test_register_is_pending_when_approval_is_required(settings):
    settings.PARLEY_REQUIRE_APPROVAL = True
    response = register(GOOD)
    assert response.status_code == 201
    assert response.json()["status"] == "pending"
    assert User.objects.get(is_bot=False).is_approved is False


def test_register_stores_the_email_in_lower_case():
    response = register({**GOOD, "email": "  Ana@Example.COM "})
    assert response.status_code == 201
    assert User.objects.get(is_bot=False).email == "ana@example.com"


def test_register_with_a_taken_email_in_any_case_is_409(make_user):
    make_user(email="ana@example.com")
    error_of(register({**GOOD, "email": "ANA@example.com"}), 409, "conflict")
    assert User.objects.filter(is_bot=False).count() == 1


@pytest.mark.parametrize("password", ["short1", "password123", "12345678901234", "ana@example.com"])
def test_register_runs_djangos_password_validators(password):
    error = error_of(register({**GOOD, "password": password}), 400, "invalid")
    assert error["fields"]["password"]
    assert not User.objects.filter(is_bot=False).exists()


def test_register_refuses_a_password_like_the_users_name():
    error = error_of(register({**GOOD, "first_name": "Bartholomew", "password": "bartholomew"}), 400, "invalid")
    assert "password" in error["fields"]
    assert not User.objects.filter(is_bot=False).exists()


def test_register_refuses_a_malformed_email():
    error = error_of(register({**GOOD, "email": "not-an-email"}), 400, "invalid")
    assert "email" in error["fields"]
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("field", ["email", "password", "first_name", "last_name"])
def test_register_refuses_wrong_types(field):
    for value in (12, 1.5, True, False, [], ["a"], {"a": 1}):
        error = error_of(register({**GOOD, field: value}), 400, "invalid")
        assert field in error["fields"], value
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("field", ["email", "password", "first_name", "last_name"])
def test_register_refuses_a_missing_or_null_field(field):
    data = dict(GOOD)
    del data[field]
    error = error_of(register(data), 400, "invalid")
    assert field in error["fields"]
    error_of(register({**GOOD, field: None}), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("field", ["email", "first_name", "last_name"])
def test_register_refuses_blank_names_and_email(field):
    error_of(register({**GOOD, field: "   "}), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("field", ["email", "first_name", "last_name", "password"])
def test_register_refuses_nul_and_lone_surrogates(field):
    for bad in ("a\x00b", "a\ud800b"):
        raw = json.dumps({**GOOD, field: bad})  # json.dumps writes the surrogate as \ud800
        error_of(post_json(Client(), "/api/auth/register", raw=raw), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


def test_register_refuses_too_long_names():
    error_of(register({**GOOD, "first_name": "a" * 151}), 400, "invalid")
    error_of(register({**GOOD, "email": "a" * 250 + "@example.com"}), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("raw", [b"{", b"{'email': 1}", b"\xff\xfe", b"nul", b'{"email": "a"} x'])
def test_register_refuses_malformed_json(raw):
    error_of(post_json(Client(), "/api/auth/register", raw=raw), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("raw", ["[]", "[1, 2]", '"text"', "12", "true", "null"])
def test_register_refuses_json_that_is_not_an_object(raw):
    error_of(post_json(Client(), "/api/auth/register", raw=raw), 400, "invalid")
    assert not User.objects.filter(is_bot=False).exists()


def test_register_with_an_empty_body_names_the_missing_fields():
    error = error_of(post_json(Client(), "/api/auth/register", raw=""), 400, "invalid")
    assert "email" in error["fields"]


def test_register_only_answers_post():
    response = Client().get("/api/auth/register")
    error_of(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


# Login -------------------------------------------------------------------------------


def test_login_returns_user_token_session_and_csrf_cookie(make_user):
    ana = make_user("Ana")
    client = Client()
    response = login(ana.email, client=client)
    assert response.status_code == 200
    body = response.json()
    assert body["user"]["id"] == ana.id
    assert body["user"]["email"] == ana.email
    assert isinstance(body["token"], str) and len(body["token"]) >= 32
    assert response.cookies["sessionid"].value
    assert response.cookies["csrftoken"].value
    assert response["Cache-Control"] == "no-store"


def test_login_stores_only_the_tokens_hash(make_user):
    ana = make_user()
    token = login(ana.email).json()["token"]
    stored = ApiToken.objects.get(user=ana)
    assert stored.key_hash != token and token not in stored.key_hash
    assert ApiToken.objects.for_key(token).get() == stored


def test_login_ignores_the_emails_case(make_user):
    ana = make_user(email="ana@example.com")
    assert login("ANA@Example.com").status_code == 200
    assert ana.api_tokens.count() == 1


def test_login_with_a_wrong_password_is_401(make_user):
    ana = make_user()
    error_of(login(ana.email, "wrong password"), 401, "not_authenticated")
    assert not ApiToken.objects.exists()


def test_login_with_an_unknown_email_is_401(db):
    error_of(login("nobody@example.com"), 401, "not_authenticated")


def test_login_of_a_pending_user_is_403_pending_approval(make_user):
    pending = make_user(approved=False)
    response = login(pending.email)
    error_of(response, 403, "pending_approval")
    assert "sessionid" not in response.cookies
    assert not ApiToken.objects.exists()


def test_login_of_a_pending_user_with_a_wrong_password_reveals_nothing(make_user):
    pending = make_user(approved=False)
    error_of(login(pending.email, "wrong password"), 401, "not_authenticated")


def test_login_of_a_deactivated_user_is_refused(make_user):
    gone = make_user()
    User.objects.filter(pk=gone.pk).update(is_active=False)
    error_of(login(gone.email), 401, "not_authenticated")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("data", [
    {"email": 5, "password": PASSWORD}, {"email": "a@example.com", "password": 5},
    {"email": None, "password": PASSWORD}, {"email": "a@example.com"}, {"password": PASSWORD},
    {"email": ["a@example.com"], "password": PASSWORD}, {"email": "a@example.com", "password": False},
])
def test_login_refuses_wrong_types_and_missing_fields(data, make_user):
    make_user(email="a@example.com")
    error_of(post_json(Client(), "/api/auth/login", data), 400, "invalid")
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("raw", ["{", "[]", '"x"', "7"])
def test_login_refuses_malformed_or_non_object_json(raw):
    error_of(post_json(Client(), "/api/auth/login", raw=raw), 400, "invalid")


# Tokens, sessions, logout, me ---------------------------------------------------------------


def test_me_with_a_token(api, make_user):
    ana = make_user("Ana")
    response = api(ana).get("/api/me")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == ana.id
    assert response.json()["user"]["email"] == ana.email


def test_me_with_the_session_cookie(make_user):
    ana = make_user()
    response = session_client(ana).get("/api/me")
    assert response.status_code == 200
    assert response.json()["user"]["id"] == ana.id


def test_me_without_credentials_is_401_json(db):
    error_of(Client().get("/api/me"), 401, "not_authenticated")


@pytest.mark.parametrize("header", ["Token nonsense", "Token ", "Bearer", "Basic YTpi", "Token \u00e9\u00e8"])
def test_a_bad_authorization_header_is_401(header, make_user):
    error_of(Client(headers={"Authorization": header}).get("/api/me"), 401, "not_authenticated")


def test_a_bad_token_does_not_fall_back_to_the_session(make_user):
    client = session_client(make_user())
    error_of(client.get("/api/me", headers={"Authorization": "Token wrong"}), 401, "not_authenticated")


def test_the_token_of_a_user_who_became_pending_stops_working(api, make_user):
    ana = make_user()
    client = api(ana)
    User.objects.filter(pk=ana.pk).update(is_approved=False)
    error_of(client.get("/api/me"), 401, "not_authenticated")


def test_logout_with_a_token_revokes_that_token_only(make_user):
    ana = make_user()
    first, second = login(ana.email).json()["token"], login(ana.email).json()["token"]
    client = Client(headers={"Authorization": f"Token {first}"})
    response = post_json(client, "/api/auth/logout")
    assert response.status_code == 204
    assert response.content == b""
    error_of(client.get("/api/me"), 401, "not_authenticated")
    assert Client(headers={"Authorization": f"Token {second}"}).get("/api/me").status_code == 200


def test_logout_with_the_session_ends_it(make_user):
    client = session_client(make_user())
    response = post_json(client, "/api/auth/logout", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 204
    error_of(client.get("/api/me"), 401, "not_authenticated")


def test_logout_without_credentials_is_401(db):
    error_of(post_json(Client(), "/api/auth/logout"), 401, "not_authenticated")


# CSRF ---------------------------------------------------------------------------------------


def test_a_session_post_without_the_csrf_header_is_403_json(make_user, room_factory):
    client = session_client(make_user())
    response = post_json(client, "/api/rooms", {"name": "general"})
    error = error_of(response, 403, "forbidden")
    assert "CSRF" in error["message"]
    from rooms.models import Room

    assert not Room.objects.exists()


def test_a_session_post_with_a_wrong_csrf_header_is_403(make_user):
    client = session_client(make_user())
    response = post_json(client, "/api/rooms", {"name": "general"}, HTTP_X_CSRFTOKEN="x" * 32)
    error_of(response, 403, "forbidden")


def test_a_session_post_with_the_csrf_header_passes(make_user):
    client = session_client(make_user())
    response = post_json(client, "/api/rooms", {"name": "general"}, HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 201


def test_a_session_logout_needs_the_csrf_header(make_user):
    client = session_client(make_user())
    error_of(post_json(client, "/api/auth/logout"), 403, "forbidden")
    assert client.get("/api/me").status_code == 200


def test_a_session_post_of_a_form_instead_of_json_is_400_not_500(make_user, room_factory):
    ana = make_user()
    room = room_factory(ana, "Lobby")
    client = session_client(ana)
    token = client.cookies["csrftoken"].value
    path = f"/api/rooms/{room.slug}/messages"
    error_of(client.post(path, {"body": "multipart"}, HTTP_X_CSRFTOKEN=token), 400, "invalid")
    error_of(client.post(path, "body=x", content_type="application/x-www-form-urlencoded", HTTP_X_CSRFTOKEN=token),
             400, "invalid")
    assert not room.messages.exists()


def test_a_token_post_needs_no_csrf(make_user):
    ana = make_user()
    token = login(ana.email).json()["token"]
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Token {token}"})
    assert post_json(client, "/api/rooms", {"name": "general"}).status_code == 201


def test_a_token_post_from_a_browser_with_a_session_cookie_needs_no_csrf(make_user):
    ana = make_user()
    client = session_client(ana)
    token = login(ana.email).json()["token"]
    response = post_json(client, "/api/rooms", {"name": "general"}, HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 201


def test_a_login_post_without_a_session_needs_no_csrf(make_user):
    ana = make_user()
    assert login(ana.email, client=Client(enforce_csrf_checks=True)).status_code == 200


# Whose email is shown ---------------------------------------------------------------------


def test_other_users_email_is_hidden_from_non_staff(api, make_user, room_factory):
    ana, bob = make_user("Ana"), make_user("Bob")
    room = room_factory(ana, "general")
    client = api(bob)
    client.post(f"/api/rooms/{room.slug}/join")
    users = {u["id"]: u for u in client.get("/api/users").json()["users"]}
    assert "email" not in users[ana.id]
    assert users[bob.id]["email"] == bob.email
    members = {u["id"]: u for u in client.get(f"/api/rooms/{room.slug}").json()["members"]}
    assert "email" not in members[ana.id]
    assert ana.email not in client.get(f"/api/rooms/{room.slug}").content.decode()


def test_other_users_email_is_shown_to_staff(api, make_user, room_factory):
    ana, boss = make_user("Ana"), make_user("Boss", staff=True)
    room = room_factory(ana, "general")
    client = api(boss)
    client.post(f"/api/rooms/{room.slug}/join")
    users = {u["id"]: u for u in client.get("/api/users").json()["users"]}
    assert users[ana.id]["email"] == ana.email
    members = {u["id"]: u for u in client.get(f"/api/rooms/{room.slug}").json()["members"]}
    assert members[ana.id]["email"] == ana.email
