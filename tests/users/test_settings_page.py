"""The settings page (templates/users/settings.html): change the password, log out everywhere."""
import pytest
from django.test import Client

from tests.live import PASSWORD
from users.services import token_create

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 7"


def browser(user):
    client = Client()
    assert client.post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def logged_in(client):
    return client.get("/api/me").status_code == 200


def token_works(key):
    return Client(headers={"Authorization": f"Token {key}"}).get("/api/me").status_code == 200


def test_the_chat_pages_link_to_the_settings_page(make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, "general")
    client = browser(ana)
    for path in ("/rooms/", f"/rooms/{room.slug}/"):
        assert 'href="/settings/"' in client.get(path).content.decode(), path


def test_the_settings_page_shows_both_forms_to_a_logged_in_user_only(make_user):
    assert Client().get("/settings/")["Location"].startswith("/login/")
    response = browser(make_user("Ana")).get("/settings/")
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("old_password", "new_password1", "new_password2", "csrfmiddlewaretoken"):
        assert f'name="{name}"' in html
    assert 'action="/settings/logout-everywhere"' in html


def test_changing_the_password_on_the_page_logs_out_everything_else_but_this_browser(make_user):
    ana = make_user("Ana")
    here, elsewhere, token = browser(ana), browser(ana), token_create(user=ana)
    response = here.post("/settings/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert logged_in(here)
    assert not logged_in(elsewhere) and not token_works(token)
    assert "Password changed" in here.get("/settings/").content.decode()
    ana.refresh_from_db()
    assert ana.check_password(NEW_PASSWORD)


@pytest.mark.parametrize("form, message", [
    ({"old_password": "wrong password 1", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
     "Your old password was entered incorrectly"),
    ({"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD + "x"},
     "didn’t match"),
    ({"old_password": PASSWORD, "new_password1": "short", "new_password2": "short"}, "too short"),
])
def test_a_refused_password_change_on_the_page_says_why_and_changes_nothing(make_user, form, message):
    ana = make_user("Ana")
    here, token = browser(ana), token_create(user=ana)
    response = here.post("/settings/", form)
    assert response.status_code == 200
    assert message in response.content.decode()
    ana.refresh_from_db()
    assert ana.check_password(PASSWORD) and token_works(token) and logged_in(here)


def test_the_log_out_everywhere_button_ends_every_session_and_token(make_user):
    ana, bob = make_user("Ana"), make_user("Bob")
    here, elsewhere, token = browser(ana), browser(ana), token_create(user=ana)
    bobs = browser(bob)
    assert here.get("/settings/logout-everywhere").status_code == 405
    response = here.post("/settings/logout-everywhere")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert not logged_in(here) and not logged_in(elsewhere) and not token_works(token)
    assert logged_in(bobs)


def test_the_settings_forms_need_the_csrf_token(make_user):
    ana = make_user("Ana")
    client = Client(enforce_csrf_checks=True)
    client.force_login(ana)
    assert client.post("/settings/logout-everywhere").status_code == 403
    assert client.post("/settings/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                      "new_password2": NEW_PASSWORD}).status_code == 403
    assert logged_in(client)


# Name and theme (issue 14) ----------------------------------------------------------------------


def test_the_settings_page_shows_the_name_and_theme_form_filled_in(make_user):
    html = browser(make_user("Ana")).get("/settings/").content.decode()
    assert 'action="/settings/profile"' in html
    assert 'name="first_name"' in html and 'value="Ana"' in html and 'name="last_name"' in html
    assert '<option value="system" selected>' in html
    for value in ("light", "dark"):
        assert f'<option value="{value}">' in html


def test_saving_the_name_and_theme_changes_them_and_every_page_is_drawn_in_the_theme(make_user):
    ana = make_user("Ana")
    client = browser(ana)
    assert '<html lang="en" data-theme="system">' in client.get("/rooms/").content.decode()
    response = client.post("/settings/profile", {"first_name": "Anna", "last_name": "Lee", "theme": "dark"})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    assert "Settings saved." in client.get("/settings/").content.decode()
    ana.refresh_from_db()
    assert (ana.first_name, ana.last_name, ana.theme, ana.display_name) == ("Anna", "Lee", "dark", "Anna Lee")
    for path in ("/rooms/", "/settings/", "/people/"):
        html = client.get(path).content.decode()
        assert '<html lang="en" data-theme="dark">' in html, path
        assert '<meta name="color-scheme" content="dark">' in html, path


def test_the_theme_follows_the_person_to_another_browser(make_user):
    ana = make_user("Ana")
    browser(ana).post("/settings/profile", {"first_name": "Ana", "last_name": "Tester", "theme": "light"})
    html = browser(ana).get("/rooms/").content.decode()
    assert '<html lang="en" data-theme="light">' in html and '<meta name="color-scheme" content="light">' in html


def test_pages_without_a_person_follow_the_system():
    html = Client().get("/login/").content.decode()
    assert '<html lang="en" data-theme="system">' in html
    assert '<meta name="color-scheme" content="light dark">' in html


@pytest.mark.parametrize("form, field", [
    ({"first_name": "", "last_name": "Lee", "theme": "dark"}, "first_name"),
    ({"first_name": "A" * 151, "last_name": "Lee", "theme": "dark"}, "first_name"),
    ({"first_name": "Anna", "last_name": "Lee", "theme": "purple"}, "theme"),
    ({"first_name": "Anna", "last_name": "Lee"}, "theme"),
])
def test_a_refused_profile_change_says_why_and_changes_nothing(make_user, form, field):
    ana = make_user("Ana")
    client = browser(ana)
    response = client.post("/settings/profile", form)
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="id_{field}_error"' in html
    assert '<span class="whoami" title="' in html and ">Ana Tester</span>" in html  # the header kept the stored name
    ana.refresh_from_db()
    assert (ana.first_name, ana.last_name, ana.theme) == ("Ana", "Tester", "system")


def test_the_profile_form_takes_posts_from_logged_in_people_only(make_user):
    assert Client().post("/settings/profile", {"first_name": "X", "last_name": "Y", "theme": "dark"})["Location"].startswith("/login/")
    assert browser(make_user("Ana")).get("/settings/profile").status_code == 405


def test_the_settings_page_shows_the_notification_defaults_once(make_user):
    html = browser(make_user("Ana")).get("/settings/").content.decode()
    assert html.count('id="notifications-heading"') == 1
