"""Issue 14: the notification defaults, through the API and the settings page's section."""
import json

import pytest
from django.test import Client

from tests.conftest import error_of
from tests.live import PASSWORD
from users.models import User

pytestmark = pytest.mark.django_db


def logged_in_browser(user):
    client = Client()
    assert client.post("/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def test_the_defaults_are_all_messages_and_no_sound_and_patch_changes_them(api, make_user):
    ana = make_user("Ana")
    ana_api = api(ana)
    assert ana_api.get("/api/me/notifications").json() == {"notifications": {"notify_default": "all", "sound": False}}

    response = ana_api.patch("/api/me/notifications", {"notify_default": "mentions", "sound": True})
    assert response.status_code == 200, response.content
    assert response.json() == {"notifications": {"notify_default": "mentions", "sound": True}}
    # A field left out stays as it is.
    assert ana_api.patch("/api/me/notifications", {"sound": False}).json()["notifications"] == {
        "notify_default": "mentions", "sound": False,
    }
    ana.refresh_from_db()
    assert (ana.notify_default, ana.notify_sound) == ("mentions", False)


@pytest.mark.parametrize("body", [
    {"notify_default": "loud"}, {"notify_default": None}, {"notify_default": 3}, {"notify_default": ""},
    {"sound": "yes"}, {"sound": 1}, {"notify_default": "none", "sound": "on"},
])
def test_bad_defaults_are_400_and_change_nothing(api, make_user, body):
    ana = make_user("Ana")
    error_of(api(ana).patch("/api/me/notifications", body), 400, "invalid")
    ana.refresh_from_db()
    assert (ana.notify_default, ana.notify_sound) == ("all", False)


def test_the_defaults_are_the_callers_own(api, make_user):
    error_of(api().get("/api/me/notifications"), 401, "not_authenticated")
    ana, ben = make_user("Ana"), make_user("Ben")
    api(ana).patch("/api/me/notifications", {"notify_default": "none"})
    assert api(ben).get("/api/me/notifications").json()["notifications"]["notify_default"] == "all"


def test_the_chat_page_embeds_the_defaults_for_its_script(make_user, room_factory):
    ana = make_user("Ana")
    User.objects.filter(pk=ana.pk).update(notify_default="mentions", notify_sound=True)
    room = room_factory(ana, "talk")
    html = logged_in_browser(ana).get(f"/rooms/{room.slug}/").content.decode()
    config = json.loads(html.split('<script id="parley-config" type="application/json">')[1].split("</script>")[0])
    assert config["notifications"] == {"notify_default": "mentions", "sound": True}


def test_the_settings_page_has_a_notifications_section_that_saves_the_defaults(make_user):
    ana = make_user("Ana")
    client = logged_in_browser(ana)
    html = client.get("/settings/").content.decode()
    assert 'action="/settings/notifications"' in html
    assert 'name="notify_default"' in html and 'name="notify_sound"' in html
    assert "asks for permission" in html  # the explanation of browser notifications

    response = client.post("/settings/notifications", {"notify_default": "none", "notify_sound": "on"})
    assert response.status_code == 302 and response["Location"] == "/settings/"
    ana.refresh_from_db()
    assert (ana.notify_default, ana.notify_sound) == ("none", True)
    assert "Notification settings saved." in client.get("/settings/").content.decode()


def test_the_settings_section_refuses_a_bad_level_and_changes_nothing(make_user):
    ana = make_user("Ana")
    client = logged_in_browser(ana)
    response = client.post("/settings/notifications", {"notify_default": "loud", "notify_sound": "on"})
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    ana.refresh_from_db()
    assert (ana.notify_default, ana.notify_sound) == ("all", False)
    assert client.get("/settings/notifications").status_code == 405
    assert Client().post("/settings/notifications", {"notify_default": "none"})["Location"].startswith("/login/")
