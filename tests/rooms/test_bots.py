"""Bot accounts (API.md, Bots and webhooks): the API, who may do what, and what a bot may see."""
import json

import pytest
from django.test import Client

from rooms import services
from rooms.models import Membership
from tests.conftest import Api, Feed, error_of
from tests.live import PASSWORD
from users import tokencache
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private_endpoints_allowed(settings):
    settings.PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS = True


def make_bot(client, name="Builder", **extra):
    response = client.post("/api/bots", {"name": name, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def bot_client(created):
    return Client(headers={"Authorization": f"Token {created['token']}"})


def test_creating_a_bot_answers_the_bot_its_token_and_signing_secret(ana):
    created = make_bot(Api(ana), "Builder", endpoint="http://127.0.0.1:9/hook")
    bot = created["bot"]
    assert bot["is_bot"] is True
    assert bot["display_name"] == "Builder"
    assert bot["owner"] == {"id": ana.id, "display_name": ana.display_name, "is_bot": False}
    assert bot["endpoint"] == "http://127.0.0.1:9/hook"
    assert bot["last_failures"] == []
    assert len(created["token"]) > 30 and len(created["signing_secret"]) == 64
    stored = User.objects.get(id=bot["id"])
    assert stored.is_bot and stored.bot_owner_id == ana.id and not stored.has_usable_password()


def test_a_bot_needs_a_name_and_a_valid_endpoint(ana):
    client = Api(ana)
    error_of(client.post("/api/bots", {"name": "  "}), 400, "invalid")
    error_of(client.post("/api/bots", {"name": "x", "endpoint": "ftp://example.com/"}), 400, "invalid")
    error_of(client.post("/api/bots", {"name": "x", "endpoint": "not a url"}), 400, "invalid")
    assert not User.objects.filter(is_bot=True, bot_owner__isnull=False).exists()  # the assistant aside


def test_the_list_holds_my_bots_only(ana, bob):
    make_bot(Api(ana), "Ana's bot")
    make_bot(Api(bob), "Bob's bot")
    names = [bot["display_name"] for bot in Api(ana).get("/api/bots").json()["bots"]]
    assert names == ["Ana's bot"]


def test_the_token_works_on_the_api_and_the_long_poll(ana, room_factory):
    created = make_bot(Api(ana))
    bot = User.objects.get(id=created["bot"]["id"])
    room = room_factory(ana, "builds")
    services.room_invite(room=room, inviter=ana, invitee=bot)
    client = bot_client(created)
    me = client.get("/api/me").json()["user"]
    assert me["id"] == bot.id and me["is_bot"] is True
    feed = Feed(client)
    Api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "hello bot"})
    [event] = feed.take("message")
    assert event["message"]["body"] == "hello bot"
    answer = client.post(f"/api/rooms/{room.slug}/messages", json.dumps({"body": "hello human"}),
                         content_type="application/json")
    assert answer.status_code == 201
    assert answer.json()["message"]["author"] == {"id": bot.id, "display_name": "Builder", "is_bot": True}


def test_a_bot_cannot_log_in_with_a_password_or_a_session(ana):
    created = make_bot(Api(ana))
    bot = User.objects.get(id=created["bot"]["id"])
    bot.set_password(PASSWORD)  # even if someone gave it one
    bot.save()
    response = Client().post("/api/auth/login", json.dumps({"email": bot.email, "password": PASSWORD}),
                             content_type="application/json")
    error_of(response, 401, "not_authenticated")
    page = Client().post("/login/", {"username": bot.email, "password": PASSWORD})
    assert page.status_code == 200 and "_auth_user_id" not in page.client.session
    session = Client()
    session.force_login(bot)  # a session made behind the login's back counts as nobody
    error_of(session.get("/api/me"), 401, "not_authenticated")


def test_a_bot_cannot_join_or_read_public_rooms_it_was_not_invited_to(ana, room_factory):
    created = make_bot(Api(ana))
    public = room_factory(ana, "lobby")
    Api(ana).post(f"/api/rooms/{public.slug}/messages", {"body": "not for bots"})
    client = bot_client(created)
    error_of(client.post(f"/api/rooms/{public.slug}/join"), 403, "forbidden")
    error_of(client.get(f"/api/rooms/{public.slug}/messages"), 404, "not_found")
    assert client.get("/api/rooms").json()["rooms"] == []
    assert not Membership.objects.filter(room=public, user_id=created["bot"]["id"]).exists()


def test_a_bot_may_be_dmed_and_answer(ana):
    created = make_bot(Api(ana))
    room = Api(ana).post("/api/dms", {"user_id": created["bot"]["id"]}).json()["room"]
    client = bot_client(created)
    assert [r["slug"] for r in client.get("/api/rooms").json()["rooms"]] == [room["slug"]]
    answer = client.post(f"/api/rooms/{room['slug']}/messages", json.dumps({"body": "hi"}),
                         content_type="application/json")
    assert answer.status_code == 201


def test_deleting_a_bot_stops_its_token_at_once_even_from_the_poll_cache(ana, room_factory, settings):
    created = make_bot(Api(ana))
    bot = User.objects.get(id=created["bot"]["id"])
    room = room_factory(ana, "builds")
    services.room_invite(room=room, inviter=ana, invitee=bot)
    client = bot_client(created)
    assert client.get("/api/events").status_code == 200
    assert tokencache.cache.user_for(created["token"]) is not None  # remembered by this process
    assert Api(ana).client.delete(f"/api/bots/{bot.id}").status_code == 204
    assert tokencache.cache.user_for(created["token"]) is None
    error_of(client.get("/api/events"), 401, "not_authenticated")
    error_of(client.get("/api/me"), 401, "not_authenticated")
    assert not Membership.objects.filter(user=bot).exists()
    assert Api(ana).get("/api/bots").json()["bots"] == []


def test_only_the_owner_or_staff_may_delete_a_bot(ana, bob, make_user):
    created = make_bot(Api(ana))
    bot_id = created["bot"]["id"]
    error_of(Api(bob).client.delete(f"/api/bots/{bot_id}"), 404, "not_found")
    assert bot_client(created).get("/api/me").status_code == 200
    staff = make_user("Sam", staff=True)
    assert Api(staff).client.delete(f"/api/bots/{bot_id}").status_code == 204
    error_of(Api(ana).client.delete(f"/api/bots/{bot_id}"), 404, "not_found")


def test_a_new_token_replaces_the_old_one(ana, bob):
    created = make_bot(Api(ana))
    bot_id = created["bot"]["id"]
    error_of(Api(bob).post(f"/api/bots/{bot_id}/token"), 404, "not_found")
    renewed = Api(ana).post(f"/api/bots/{bot_id}/token")
    assert renewed.status_code == 200
    fresh = renewed.json()
    assert fresh["token"] != created["token"] and fresh["signing_secret"] != created["signing_secret"]
    error_of(bot_client(created).get("/api/me"), 401, "not_authenticated")
    assert bot_client(fresh).get("/api/me").json()["user"]["id"] == bot_id


def test_a_bot_cannot_make_bots(ana):
    created = make_bot(Api(ana))
    response = bot_client(created).post("/api/bots", json.dumps({"name": "child"}), content_type="application/json")
    error_of(response, 403, "forbidden")


def test_members_directory_and_messages_say_who_is_a_bot(ana, room_factory):
    created = make_bot(Api(ana))
    bot = User.objects.get(id=created["bot"]["id"])
    room = room_factory(ana, "builds")
    services.room_invite(room=room, inviter=ana, invitee=bot)
    members = Api(ana).get(f"/api/rooms/{room.slug}").json()["members"]
    assert {m["display_name"]: m["is_bot"] for m in members} == {ana.display_name: False, "Builder": True}
    people = Api(ana).get("/api/users").json()["users"]
    assert {u["id"]: u["is_bot"] for u in people}[bot.id] is True


def test_the_bots_page_creates_lists_renews_and_deletes(ana, client):
    client.force_login(ana)
    page = client.post("/bots/", {"name": "Pager", "endpoint": ""})
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="bot-token"' in body and "Pager" in body and "BOT" in body
    bot = User.objects.get(is_bot=True, bot_owner=ana)
    token = page.context["created"].token
    assert token in body
    assert token not in client.get("/bots/").content.decode()  # shown once
    renewed = client.post(f"/bots/{bot.id}/token")
    assert renewed.status_code == 200 and renewed.context["created"].token != token
    assert client.post(f"/bots/{bot.id}/delete").status_code == 302
    assert f'data-bot-id="{bot.id}"' not in client.get("/bots/").content.decode()


def test_the_bots_page_refuses_someone_elses_bot(ana, bob, client):
    created = make_bot(Api(bob))
    client.force_login(ana)
    assert client.post(f"/bots/{created['bot']['id']}/delete").status_code == 404
    assert client.post(f"/bots/{created['bot']['id']}/token").status_code == 404
