"""The account pages: log in, register, log out, the staff approval page, the admin and createsuperuser."""
import pytest
from django.core.management import call_command
from django.test import Client

from tests.live import PASSWORD
from users.models import User

pytestmark = pytest.mark.django_db

NEW = {"email": "new@example.com", "first_name": "Nia", "last_name": "Okafor", "password": "a long passphrase 42"}


def logged_in_user_id(client):
    response = client.get("/api/me")
    return response.json()["user"]["id"] if response.status_code == 200 else None


def login_page(client, email, password=PASSWORD):
    return client.post("/login/", {"username": email, "password": password})


@pytest.fixture
def staff(make_user):
    return make_user("Sam", staff=True)


@pytest.fixture
def staff_client(staff):
    client = Client()
    client.force_login(staff)
    return client


# Log in ---------------------------------------------------------------------------------------


def test_login_page_renders_a_form_and_sets_the_csrf_cookie(db):
    response = Client().get("/login/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="username"' in html and 'name="password"' in html
    assert "csrfmiddlewaretoken" in html
    assert response.cookies["csrftoken"].value


def test_login_page_logs_in_and_goes_to_the_rooms(make_user):
    ana = make_user()
    client = Client()
    response = login_page(client, ana.email.upper())
    assert response.status_code == 302 and response["Location"] == "/rooms/"
    assert logged_in_user_id(client) == ana.id


def test_login_page_follows_a_safe_next(make_user):
    ana = make_user()
    response = Client().post("/login/?next=/people/", {"username": ana.email, "password": PASSWORD, "next": "/people/"})
    assert response["Location"] == "/people/"


def test_login_page_ignores_an_offsite_next(make_user):
    ana = make_user()
    response = Client().post("/login/", {"username": ana.email, "password": PASSWORD, "next": "https://evil.example/"})
    assert response.status_code == 302 and response["Location"] == "/rooms/"


def test_login_page_with_a_wrong_password_shows_an_error(make_user):
    ana = make_user()
    client = Client()
    response = login_page(client, ana.email, "wrong password")
    assert response.status_code == 200
    assert "Wrong email or password." in response.content.decode()
    assert logged_in_user_id(client) is None


def test_a_pending_user_cannot_log_in_and_sees_why(make_user):
    pending = make_user(approved=False)
    client = Client()
    response = login_page(client, pending.email)
    assert response.status_code == 200
    assert "waiting for approval" in response.content.decode()
    assert logged_in_user_id(client) is None
    assert "_auth_user_id" not in client.session


def test_the_login_form_needs_its_csrf_token(make_user):
    ana = make_user()
    client = Client(enforce_csrf_checks=True)
    assert login_page(client, ana.email).status_code == 403
    token = client.get("/login/").cookies["csrftoken"].value
    response = client.post("/login/", {"username": ana.email, "password": PASSWORD, "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert logged_in_user_id(client) == ana.id


def test_the_login_page_sends_a_logged_in_user_on(make_user):
    client = Client()
    client.force_login(make_user())
    assert client.get("/login/")["Location"] == "/rooms/"


# Register ----------------------------------------------------------------------------------------


def test_register_page_renders_a_form(db):
    response = Client().get("/register/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("email", "first_name", "last_name", "password"):
        assert f'name="{name}"' in html


def test_register_page_creates_an_active_user_and_logs_them_in(settings):
    settings.PARLEY_REQUIRE_APPROVAL = False
    client = Client()
    response = client.post("/register/", {**NEW, "email": "New@Example.com"})
    assert response.status_code == 302 and response["Location"] == "/rooms/"
    user = User.objects.get(is_bot=False)
    assert user.email == "new@example.com" and user.is_approved and user.check_password(NEW["password"])
    assert logged_in_user_id(client) == user.id


def test_register_page_with_approval_on_shows_pending_and_does_not_log_in(settings):
    settings.PARLEY_REQUIRE_APPROVAL = True
    client = Client()
    response = client.post("/register/", NEW)
    assert response.status_code == 200
    assert "waiting for approval" in response.content.decode()
    assert User.objects.get(is_bot=False).is_approved is False
    assert logged_in_user_id(client) is None
    # And the login page keeps them out until staff approve.
    assert "waiting for approval" in login_page(client, NEW["email"], NEW["password"]).content.decode()
    assert logged_in_user_id(client) is None


def test_register_page_refuses_a_taken_email_in_any_case(make_user):
    make_user(email="new@example.com")
    response = Client().post("/register/", {**NEW, "email": "NEW@example.com"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(is_bot=False).count() == 1


def test_register_page_runs_the_password_validators(db):
    response = Client().post("/register/", {**NEW, "password": "123"})
    assert response.status_code == 200
    assert "too short" in response.content.decode()
    assert not User.objects.filter(is_bot=False).exists()


@pytest.mark.parametrize("data", [{"email": "x@example.com"}, {}])
def test_register_page_refuses_missing_fields(db, data):
    response = Client().post("/register/", data)
    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    assert not User.objects.filter(is_bot=False).exists()


# Log out ------------------------------------------------------------------------------------------


def test_logout_is_a_post_that_ends_the_session(make_user):
    client = Client()
    client.force_login(make_user())
    assert client.get("/logout/").status_code == 405
    assert logged_in_user_id(client) is not None
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert logged_in_user_id(client) is None


def test_pages_offer_the_logout_form_when_logged_in(make_user):
    client = Client()
    client.force_login(make_user())
    html = client.get("/rooms/").content.decode()
    assert 'action="/logout/"' in html


# The staff page -------------------------------------------------------------------------------------


def test_staff_page_lists_pending_and_active_users(staff_client, make_user):
    pending = make_user("Pat", approved=False)
    active = make_user("Act")
    response = staff_client.get("/staff/users/")
    assert response.status_code == 200
    assert list(response.context["pending_users"]) == [pending]
    assert active in response.context["active_users"] and pending not in response.context["active_users"]
    html = response.content.decode()
    assert pending.email in html and active.email in html
    assert f'action="/staff/users/{pending.id}/approve"' in html
    assert f'action="/staff/users/{pending.id}/delete"' in html


def test_staff_page_is_for_staff_only(make_user):
    assert Client().get("/staff/users/")["Location"].startswith("/login/")
    client = Client()
    client.force_login(make_user())
    response = client.get("/staff/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_staff_approve_lets_the_user_log_in(staff_client, make_user):
    pending = make_user(approved=False)
    response = staff_client.post(f"/staff/users/{pending.id}/approve")
    assert response.status_code == 302 and response["Location"] == "/staff/users/"
    pending.refresh_from_db()
    assert pending.is_approved
    assert login_page(Client(), pending.email).status_code == 302


def test_staff_delete_removes_the_user(staff_client, make_user):
    pending = make_user(approved=False)
    assert staff_client.post(f"/staff/users/{pending.id}/delete").status_code == 302
    assert not User.objects.filter(pk=pending.pk).exists()


def test_staff_cannot_delete_themselves(staff, staff_client):
    staff_client.post(f"/staff/users/{staff.id}/delete")
    assert User.objects.filter(pk=staff.pk).exists()


def test_staff_approve_and_delete_are_post_only(staff_client, make_user):
    pending = make_user(approved=False)
    assert staff_client.get(f"/staff/users/{pending.id}/approve").status_code == 405
    assert staff_client.get(f"/staff/users/{pending.id}/delete").status_code == 405
    pending.refresh_from_db()
    assert not pending.is_approved


def test_staff_approve_and_delete_of_an_unknown_user_is_404(staff_client):
    assert staff_client.post("/staff/users/999999/approve").status_code == 404
    assert staff_client.post("/staff/users/999999/delete").status_code == 404


def test_non_staff_cannot_approve_or_delete(make_user):
    pending = make_user(approved=False)
    member = Client()
    member.force_login(make_user())
    for client in (member, Client()):
        for action in ("approve", "delete"):
            response = client.post(f"/staff/users/{pending.id}/{action}")
            assert response.status_code == 302 and response["Location"].startswith("/login/")
    pending.refresh_from_db()
    assert not pending.is_approved


def test_staff_forms_need_the_csrf_token(staff, make_user):
    pending = make_user(approved=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    assert client.post(f"/staff/users/{pending.id}/approve").status_code == 403
    pending.refresh_from_db()
    assert not pending.is_approved


# The Django admin ---------------------------------------------------------------------------------------


@pytest.fixture
def admin_client_(make_user):
    admin = make_user("Root", staff=True)
    admin.is_superuser = True
    admin.save()
    client = Client()
    client.force_login(admin)
    client.admin = admin
    return client


def test_admin_user_pages_render(admin_client_, make_user):
    user = make_user()
    assert admin_client_.get("/admin/users/user/").status_code == 200
    assert admin_client_.get("/admin/users/user/?q=user&is_approved__exact=0").status_code == 200
    assert admin_client_.get(f"/admin/users/user/{user.id}/change/").status_code == 200
    assert admin_client_.get("/admin/users/user/add/").status_code == 200


def test_admin_can_add_a_user(admin_client_):
    response = admin_client_.post("/admin/users/user/add/", {
        "email": "Added@Example.com", "first_name": "Ad", "last_name": "Ded",
        "password1": "a long passphrase 42", "password2": "a long passphrase 42", "usable_password": "true",
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    # Stored as login looks it up, so the new user can log in.
    user = User.objects.get(email="added@example.com")
    assert user.check_password("a long passphrase 42")
    assert login_page(Client(), "added@example.com", "a long passphrase 42").status_code == 302


def test_admin_refuses_an_email_taken_in_another_case(admin_client_, make_user):
    make_user(email="taken@example.com")
    response = admin_client_.post("/admin/users/user/add/", {
        "email": "TAKEN@example.com", "first_name": "Ad", "last_name": "Ded",
        "password1": "a long passphrase 42", "password2": "a long passphrase 42", "usable_password": "true",
    })
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_admin_change_stores_the_email_in_lower_case(admin_client_, make_user):
    user = make_user()
    response = admin_client_.post(f"/admin/users/user/{user.id}/change/", {
        "email": "Changed@Example.COM", "first_name": user.first_name, "last_name": user.last_name,
        "is_approved": "on", "is_active": "on", "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00",
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    user.refresh_from_db()
    assert user.email == "changed@example.com"


def test_admin_action_approves_the_selected_users(admin_client_, make_user):
    first, second, other = make_user(approved=False), make_user(approved=False), make_user(approved=False)
    response = admin_client_.post("/admin/users/user/", {"action": "approve", "_selected_action": [first.id, second.id]})
    assert response.status_code == 302
    assert set(User.objects.filter(is_approved=False)) == {other}


def test_admin_action_deletes_the_selected_users_but_not_yourself(admin_client_, make_user):
    doomed = make_user(approved=False)
    kept = make_user()
    response = admin_client_.post(
        "/admin/users/user/", {"action": "delete_users", "_selected_action": [doomed.id, admin_client_.admin.id]},
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=doomed.pk).exists()
    assert User.objects.filter(pk=admin_client_.admin.pk).exists() and User.objects.filter(pk=kept.pk).exists()


def test_the_admin_is_closed_to_non_staff(make_user):
    client = Client()
    client.force_login(make_user())
    assert client.get("/admin/users/user/").status_code == 302


# createsuperuser ------------------------------------------------------------------------------------------


def test_createsuperuser_makes_an_active_staff_user_even_with_approval_on(settings, monkeypatch, db):
    settings.PARLEY_REQUIRE_APPROVAL = True
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long passphrase 42")
    call_command(
        "createsuperuser", "--noinput", email="Boss@Example.com", first_name="Bo", last_name="Ss", verbosity=0,
    )
    boss = User.objects.get(is_bot=False)
    assert boss.email == "boss@example.com"
    assert boss.is_staff and boss.is_superuser and boss.is_active and boss.is_approved
    client = Client()
    assert login_page(client, "boss@example.com", "a long passphrase 42").status_code == 302
    assert client.get("/staff/users/").status_code == 200


def test_createsuperuser_from_the_environment_alone(monkeypatch, db):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long passphrase 42")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_FIRST_NAME", "Ro")
    monkeypatch.setenv("DJANGO_SUPERUSER_LAST_NAME", "Ot")
    call_command("createsuperuser", "--noinput", verbosity=0)
    root = User.objects.get(is_bot=False)
    assert root.email == "root@example.com" and root.is_staff and root.is_approved
