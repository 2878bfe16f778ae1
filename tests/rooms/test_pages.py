"""The room pages: the room list with create and join, and the chat page with its embedded config."""
import json
import re

import pytest
from django.test import Client

from rooms import services
from rooms.models import Event, Membership, Room

pytestmark = pytest.mark.django_db


def browser(user):
    client = Client()
    client.force_login(user)
    return client


def page_config(response):
    """The json_script the browser client reads."""
    match = re.search(r'<script id="parley-config" type="application/json">(.*?)</script>', response.content.decode(), re.S)
    assert match, "no parley-config json_script on the page"
    return json.loads(match.group(1))


# Login required ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/rooms/", "/rooms/lobby/", "/people/"])
def test_pages_need_a_login(path, ana, room_factory):
    room_factory(ana, "Lobby")
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={path}"


def test_the_home_page_sends_you_to_login_or_to_the_rooms(ana):
    assert Client().get("/")["Location"] == "/login/"
    assert browser(ana).get("/")["Location"] == "/rooms/"


def test_join_needs_a_login(ana, room_factory):
    room = room_factory(ana, "Lobby")
    response = Client().post(f"/rooms/{room.slug}/join")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert room.memberships.count() == 1


# The room list ------------------------------------------------------------------------------------


def test_room_list_shows_public_rooms_and_mine_but_not_others_private_rooms(ana, bob, make_user, room_factory):
    public = room_factory(ana, "Lobby")
    hidden = room_factory(ana, "Hidden plans", is_private=True)
    mine = room_factory(bob, "Bobs den", is_private=True)
    services.dm_open(user=ana, other=make_user("Cy"))
    response = browser(bob).get("/rooms/")
    assert response.status_code == 200
    slugs = {room["slug"] for room in response.context["rooms"]}
    assert slugs == {public.slug, mine.slug}
    html = response.content.decode()
    assert "Lobby" in html and "Bobs den" in html
    assert "Hidden plans" not in html and hidden.slug not in html
    assert "dm-" not in html


def test_room_list_offers_join_for_public_rooms_i_am_not_in(ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    html = browser(bob).get("/rooms/").content.decode()
    assert f'action="/rooms/{room.slug}/join"' in html
    html = browser(ana).get("/rooms/").content.decode()
    assert f'action="/rooms/{room.slug}/join"' not in html
    assert f'href="/rooms/{room.slug}/"' in html


def test_room_list_marks_private_rooms_with_a_lock_and_public_ones_with_a_hash(ana, room_factory):
    room_factory(ana, "Lobby")
    room_factory(ana, "Plans", is_private=True)
    html = browser(ana).get("/rooms/").content.decode()
    cards = {name: card for card in html.split('<li class="room-card')[1:] for name in ("Lobby", "Plans") if name in card}
    assert 'class="lock-icon" role="img" aria-label="Private room"' in cards["Plans"] and 'class="hash"' not in cards["Plans"]
    assert 'class="hash"' in cards["Lobby"] and "lock-icon" not in cards["Lobby"]


def test_room_names_are_escaped_on_the_list(ana, room_factory):
    room_factory(ana, "<img src=x onerror=alert(1)>")
    html = browser(ana).get("/rooms/").content.decode()
    assert "<img src=x" not in html and "&lt;img src=x" in html


def test_create_form_makes_a_room_and_opens_it(ana):
    response = browser(ana).post("/rooms/", {"name": "Book club", "topic": "Chapter 3"})
    room = Room.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.slug}/"
    assert (room.name, room.topic, room.is_private, room.created_by) == ("Book club", "Chapter 3", False, ana)
    assert list(room.memberships.values_list("user_id", flat=True)) == [ana.id]
    assert Event.objects.filter(type=Event.ROOM, room=room).count() == 1


def test_create_form_makes_a_private_room(ana):
    browser(ana).post("/rooms/", {"name": "Secret", "is_private": "on"})
    assert Room.objects.get().is_private is True


def test_create_form_with_a_taken_name_shows_the_error_and_stores_nothing(ana, bob, room_factory):
    room_factory(ana, "Lobby")
    response = browser(bob).post("/rooms/", {"name": "LOBBY"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert Room.objects.count() == 1


@pytest.mark.parametrize("data", [{}, {"name": "   "}, {"name": "x" * 81}, {"name": "ok", "topic": "t" * 301}])
def test_create_form_refuses_bad_input(ana, data):
    response = browser(ana).post("/rooms/", data)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Room.objects.exists()


def test_create_form_needs_its_csrf_token(ana):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ana)
    assert client.post("/rooms/", {"name": "Lobby"}).status_code == 403
    assert not Room.objects.exists()


def test_join_button_makes_me_a_member_and_opens_the_room(ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    client = browser(bob)
    response = client.post(f"/rooms/{room.slug}/join")
    assert response.status_code == 302 and response["Location"] == f"/rooms/{room.slug}/"
    assert Membership.objects.filter(room=room, user=bob).exists()
    assert client.get(response["Location"]).status_code == 200
    # Pressing it twice does no harm.
    client.post(f"/rooms/{room.slug}/join")
    assert Membership.objects.filter(room=room, user=bob).count() == 1


def test_join_is_post_only(ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    assert browser(bob).get(f"/rooms/{room.slug}/join").status_code == 405
    assert not Membership.objects.filter(room=room, user=bob).exists()


def test_join_of_a_private_room_i_am_not_in_is_404(ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    assert browser(bob).post(f"/rooms/{room.slug}/join").status_code == 404
    assert not Membership.objects.filter(room=room, user=bob).exists()


# The room page ---------------------------------------------------------------------------------------


def test_room_page_renders_for_a_member_with_the_client_config(ana, room_factory):
    room = room_factory(ana, "Lobby", topic="Say hi")
    response = browser(ana).get(f"/rooms/{room.slug}/")
    assert response.status_code == 200
    config = page_config(response)
    assert config["room"] == room.slug
    assert config["user"]["id"] == ana.id and config["user"]["email"] == ana.email
    assert config["apiRoot"] == "/api/"
    assert config["roomUrl"] == "/rooms/__slug__/"
    assert config["maxMessageChars"] == 4000
    html = response.content.decode()
    assert "Lobby" in html and "Say hi" in html
    assert '<script type="module" src="/static/js/parley/main.js">' in html


def test_room_page_config_carries_the_configured_message_length(ana, room_factory, settings):
    settings.PARLEY_MAX_MESSAGE_CHARS = 50
    room = room_factory(ana, "Lobby")
    assert page_config(browser(ana).get(f"/rooms/{room.slug}/"))["maxMessageChars"] == 50


def test_room_page_config_carries_the_upload_limit_in_bytes(ana, room_factory, settings):
    settings.PARLEY_MAX_UPLOAD_MB = 3
    room = room_factory(ana, "Lobby")
    assert page_config(browser(ana).get(f"/rooms/{room.slug}/"))["maxUploadBytes"] == 3 * 1024 * 1024


def test_room_page_config_is_escaped_inside_the_script(make_user, room_factory):
    sly = make_user("</script><script>alert(1)</script>")
    room = room_factory(sly, "Lobby")
    response = browser(sly).get(f"/rooms/{room.slug}/")
    assert response.content.decode().count("</script><script>alert(1)") == 0
    assert page_config(response)["user"]["first_name"] == "</script><script>alert(1)</script>"


@pytest.fixture
def mounted_at_chat():
    """What the WSGI handler does for SCRIPT_NAME=/chat (the test client skips it)."""
    from django.urls import set_script_prefix

    set_script_prefix("/chat/")
    yield
    set_script_prefix("/")


def test_room_page_urls_follow_a_sub_path_mount(ana, room_factory, mounted_at_chat):
    room = room_factory(ana, "Lobby")
    response = browser(ana).get(f"/rooms/{room.slug}/", SCRIPT_NAME="/chat")
    assert response.status_code == 200
    config = page_config(response)
    assert config["apiRoot"] == "/chat/api/"
    assert config["roomUrl"] == "/chat/rooms/__slug__/"
    assert 'action="/chat/logout/"' in response.content.decode()


def test_room_page_of_a_private_room_i_am_not_in_is_404(ana, bob, room_factory):
    room = room_factory(ana, "Secret", is_private=True)
    response = browser(bob).get(f"/rooms/{room.slug}/")
    assert response.status_code == 404
    assert "Secret" not in response.content.decode()


def test_room_page_of_a_dm_is_404_for_a_third_user(ana, bob, make_user):
    room, _ = services.dm_open(user=ana, other=bob)
    assert browser(make_user("Eve")).get(f"/rooms/{room.slug}/").status_code == 404
    assert browser(bob).get(f"/rooms/{room.slug}/").status_code == 200


@pytest.mark.parametrize("slug", ["no-such-room", "a%00b", "%C3%A9t%C3%A9"])
def test_room_page_of_an_unknown_room_is_404(ana, slug):
    assert browser(ana).get(f"/rooms/{slug}/").status_code == 404
    assert browser(ana).post(f"/rooms/{slug}/join").status_code == 404


def test_room_page_of_a_public_room_i_am_not_in_shows_it_read_only_with_a_join_button(ana, bob, room_factory):
    room = room_factory(ana, "Lobby")
    response = browser(bob).get(f"/rooms/{room.slug}/")
    assert response.status_code == 200
    assert page_config(response)["room"] == room.slug
    html = response.content.decode()
    assert re.search(r'<form id="composer-form" class="composer" hidden>', html)
    assert re.search(r'<div id="join-bar" class="join-bar">', html)
    assert not Membership.objects.filter(room=room, user=bob).exists()  # reading is not joining
    # A member gets the composer, and no Join bar.
    member_html = browser(ana).get(f"/rooms/{room.slug}/").content.decode()
    assert '<form id="composer-form" class="composer">' in member_html
    assert '<div id="join-bar" class="join-bar" hidden>' in member_html


def test_room_page_of_a_private_room_i_am_not_in_is_the_same_404_as_no_room(ana, bob, make_user, room_factory):
    secret = room_factory(ana, "Secret", is_private=True)
    dm, _ = services.dm_open(user=ana, other=make_user("Eve"))
    client = browser(bob)

    def page(slug):
        response = client.get(f"/rooms/{slug}/")
        html = re.sub(r'(content|value)="[A-Za-z0-9]{64}"', "", response.content.decode())  # CSRF tokens: new per answer
        return response.status_code, html.replace(slug, "no-such-room")

    unknown = page("no-such-room")
    assert unknown[0] == 404
    assert page(secret.slug) == page(dm.slug) == unknown


def test_the_people_page_renders_with_the_client_config(ana):
    response = browser(ana).get("/people/")
    assert response.status_code == 200
    config = page_config(response)
    assert config["room"] is None and config["user"]["id"] == ana.id
