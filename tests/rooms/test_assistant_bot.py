"""The built-in assistant as a bot (rooms/assistant_bot.py): who it is, what wakes it, what it may read.

The worker's assistant part is driven here round by round (`Assistant.step(now=...)`),
with the time passed in; one test runs `manage.py run_bots --once` as a process.
The engine's own behaviour (intents, summaries, the LLM protocol) is
tests/rooms/test_assistant.py's.
"""
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

import rooms.assistant
from rooms import bots, messaging, services, webhooks
from rooms.assistant_bot import SORRY, Assistant, assistant_user
from rooms.models import Delivery, Membership, Message, Reminder
from tests.conftest import Api
from tests.live import ROOT, Http, server_env
from users.models import ASSISTANT_EMAIL, User

pytestmark = pytest.mark.django_db

SECRET = "the launch code is pineapple"


@pytest.fixture
def helper():
    """A running assistant: its cursor is made at the stream head, as a first start does."""
    a = Assistant()
    a.cursor()
    return a


def step(a, now=None):
    a.step(now=now or timezone.now())


def dm_with_assistant(user):
    response = Api(user).post("/api/dms", {"user_id": assistant_user().id})
    assert response.status_code in (200, 201), response.content
    return response.json()["room"]["slug"]


def post(user, slug, body):
    response = Api(user).post(f"/api/rooms/{slug}/messages", {"body": body})
    assert response.status_code == 201, response.content
    return response.json()["message"]


def answers(slug):
    """The assistant's messages in the room, oldest first."""
    return list(Message.objects.filter(room__slug=slug, author__email=ASSISTANT_EMAIL).order_by("id"))


def ask(a, user, slug, question, now=None):
    """Ask in `slug`, run one round, return the assistant's answer to that question (or None)."""
    sent = post(user, slug, question)
    step(a, now)
    found = [m for m in answers(slug) if m.reply_to_id == sent["id"]]
    assert len(found) <= 1
    return found[0] if found else None


@pytest.fixture
def shared(ana, bob, room_factory):
    room = room_factory(ana, "general")
    services.room_join(room=room, user=bob)
    return room


@pytest.fixture
def hidden(eve, room_factory):
    """A private room of Eve's that Bob is not in, with a secret in it."""
    room = room_factory(eve, "eve's secrets", is_private=True)
    messaging.message_post(room=room, author=eve, body=f"Pineapple: {SECRET}, keep it quiet.")
    return room


# Who it is ----------------------------------------------------------------------------------


def test_the_migration_makes_the_built_in_assistant_once():
    from importlib import import_module
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    migration = import_module("rooms.migrations.0010_assistant")
    User.objects.filter(email=ASSISTANT_EMAIL).delete()
    for _ in range(2):  # running it again changes nothing
        migration.create_assistant(apps, SimpleNamespace(connection=connection))
    bot = User.objects.get(email=ASSISTANT_EMAIL)
    assert bot.is_bot and bot.bot_owner_id is None and bot.is_active and bot.is_approved
    assert bot.display_name == "Assistant"
    assert not bot.has_usable_password()
    assert assistant_user() == bot


def test_anyone_finds_it_in_the_directory_and_can_dm_it(ana):
    people = Api(ana).get("/api/users", {"q": "assistant"}).json()["users"]
    assert [(p["display_name"], p["is_bot"]) for p in people] == [("Assistant", True)]
    slug = dm_with_assistant(ana)
    assert set(Membership.objects.filter(room__slug=slug).values_list("user__email", flat=True)) == {
        ana.email, ASSISTANT_EMAIL}


def test_it_cannot_log_in(client):
    response = client.post("/api/auth/login", json.dumps({"email": ASSISTANT_EMAIL, "password": ""}),
                           content_type="application/json")
    assert response.status_code != 200


def test_not_even_staff_can_delete_it_or_give_it_a_token(make_user):
    boss = make_user("Boss", staff=True)
    bot_id = assistant_user().id
    assert Api(boss).post(f"/api/bots/{bot_id}/token").status_code == 404
    assert Api(boss).client.delete(f"/api/bots/{bot_id}").status_code == 404
    assert assistant_user().is_active


# Answers in a DM -------------------------------------------------------------------------


def test_help_in_a_dm(helper, bob):
    slug = dm_with_assistant(bob)
    reply = ask(helper, bob, slug, "help")
    assert "I'm Parley's assistant" in reply.body
    assert reply.author.is_bot


def test_what_did_i_miss_quotes_the_unread_message_of_a_shared_room(helper, ana, bob, shared, settings):
    settings.PARLEY_SITE_URL = "https://chat.example.com"
    sent = post(ana, shared.slug, "The release moves to Friday because QA found a blocker in the installer.")
    slug = dm_with_assistant(bob)
    reply = ask(helper, bob, slug, "what did I miss?")
    assert "release moves to Friday" in reply.body
    assert "Ana" in reply.body
    assert f"https://chat.example.com/rooms/{shared.slug}/#message-{sent['id']}" in reply.body
    assert f'href="https://chat.example.com/rooms/{shared.slug}/#message-{sent["id"]}"' in reply.html


def test_a_summary_never_holds_a_private_room_the_asker_is_not_in(helper, ana, bob, eve, shared, hidden):
    post(ana, shared.slug, "Standup moved to ten tomorrow, the pineapple cake is in the kitchen.")
    slug = dm_with_assistant(bob)
    for question in ("what did I miss?", "summarise today"):
        reply = ask(helper, bob, slug, question)
        assert "Standup" in reply.body or "pineapple cake" in reply.body
        assert SECRET not in reply.body and "keep it quiet" not in reply.body
    # Read everything: the last 24 hours' fallback is limited the same way.
    Membership.objects.filter(user=bob).update(last_read_message_id=10**12)
    reply = ask(helper, bob, slug, "what did I miss?")
    assert SECRET not in reply.body and "keep it quiet" not in reply.body
    # Eve, who is in that room, does get it: the test's secret is findable at all.
    eve_dm = dm_with_assistant(eve)
    reply = ask(helper, eve, eve_dm, "where did we talk about the launch code?")
    assert SECRET in reply.body


def test_find_never_quotes_a_private_room_the_asker_is_not_in(helper, ana, bob, shared, hidden):
    post(ana, shared.slug, "The pineapple order for the party is placed.")
    slug = dm_with_assistant(bob)
    reply = ask(helper, bob, slug, "where did we talk about pineapple?")
    assert "pineapple order" in reply.body
    assert SECRET not in reply.body and "keep it quiet" not in reply.body
    reply = ask(helper, bob, slug, "find launch code")
    assert SECRET not in reply.body


def test_a_blocked_authors_messages_are_left_out(helper, ana, bob, shared):
    from users.services import user_block

    post(ana, shared.slug, "Deploy window is Tuesday at noon.")
    user_block(blocker=bob, blocked=ana)
    bob.refresh_from_db()
    slug = dm_with_assistant(bob)
    assert "Tuesday" not in ask(helper, bob, slug, "what did I miss?").body
    assert "Tuesday" not in ask(helper, bob, slug, "find deploy window").body


def test_reminders_and_help_read_no_message_at_all(helper, bob, hidden, monkeypatch):
    """The other skills: nothing to leak, and they do not even ask (the context's readers would fail)."""
    from rooms import assistant_bot

    def forbidden(*args, **kwargs):
        raise AssertionError("read messages")

    monkeypatch.setattr(assistant_bot, "unread_for", forbidden)
    monkeypatch.setattr(assistant_bot, "search_messages", forbidden)
    slug = dm_with_assistant(bob)
    assert "help" in ask(helper, bob, slug, "help").body.lower()
    assert "send the report" in ask(helper, bob, slug, "remind me in 2 hours to send the report").body


# In rooms -----------------------------------------------------------------------------------


def test_a_mention_in_a_room_it_was_invited_to_is_answered_there(helper, ana, bob, shared):
    response = Api(ana).post(f"/api/rooms/{shared.slug}/invite", {"user_id": assistant_user().id})
    assert response.status_code == 200, response.content
    post(ana, shared.slug, "We ship the mobile app on Thursday.")
    reply = ask(helper, bob, shared.slug, "@**Assistant** what did I miss?")
    assert reply is not None and "mobile app on Thursday" in reply.body
    assert reply.room_id == shared.id


def test_in_a_room_only_that_rooms_unread_messages_are_summarised(helper, ana, bob, shared, room_factory):
    other = room_factory(ana, "random")
    services.room_join(room=other, user=bob)
    post(ana, other.slug, "Lunch is pizza today.")
    services.room_invite(room=shared, inviter=ana, invitee=assistant_user())
    post(ana, shared.slug, "The database migration finished overnight.")
    reply = ask(helper, bob, shared.slug, "@**Assistant** what did I miss?")
    assert "database migration" in reply.body and "pizza" not in reply.body


def test_no_answer_where_it_is_not_a_member(helper, ana, bob, shared):
    assert ask(helper, bob, shared.slug, "@**Assistant** help") is None
    assert not Delivery.objects.filter(bot=assistant_user()).exists()


def test_at_all_does_not_wake_it(helper, ana, bob, shared):
    services.room_invite(room=shared, inviter=ana, invitee=assistant_user())
    assert ask(helper, bob, shared.slug, "@**all** help, anyone?") is None
    assert ask(helper, bob, shared.slug, "what did I miss?") is None  # no mention: not for it


def test_it_never_joins_by_itself(ana):
    response = Api(ana).post("/api/rooms", {"name": "new room"})
    slug = response.json()["room"]["slug"]
    assert not Membership.objects.filter(room__slug=slug, user=assistant_user()).exists()


def test_bots_never_wake_it(helper, ana, shared):
    created = bots.bot_create(owner=ana, name="Builder")
    room, _ = services.dm_open(user=created.bot, other=assistant_user())
    messaging.message_post(room=room, author=created.bot, body="help")
    services.room_invite(room=shared, inviter=ana, invitee=created.bot)
    services.room_invite(room=shared, inviter=ana, invitee=assistant_user())
    messaging.message_post(room=shared, author=created.bot, body="@**Assistant** help")
    step(helper)
    step(helper)  # nor do its own answers
    assert not answers(room.slug) and not answers(shared.slug)


def test_its_own_answers_never_wake_it(helper, bob):
    slug = dm_with_assistant(bob)
    ask(helper, bob, slug, "help")
    for _ in range(3):
        step(helper)
    assert len(answers(slug)) == 1


def test_a_question_from_someone_who_left_is_not_answered(helper, ana, bob, shared):
    services.room_invite(room=shared, inviter=ana, invitee=assistant_user())
    post(bob, shared.slug, "@**Assistant** what did I miss?")
    services.room_leave(room=shared, user=bob)
    step(helper)
    assert not answers(shared.slug)


# Restarts ----------------------------------------------------------------------------------


def test_a_restart_never_answers_twice(helper, bob):
    slug = dm_with_assistant(bob)
    ask(helper, bob, slug, "help")
    # A crash after posting and before marking the question done: it is pending again.
    Delivery.objects.filter(bot=assistant_user()).update(status=Delivery.PENDING)
    step(Assistant())
    assert len(answers(slug)) == 1
    assert Delivery.objects.get(bot=assistant_user()).status == Delivery.DELIVERED


def test_a_question_asked_while_it_was_down_is_answered_after_the_restart(helper, bob):
    slug = dm_with_assistant(bob)
    step(helper)
    post(bob, slug, "help")  # the worker is down
    post(bob, slug, "what did I miss?")
    restarted = Assistant()
    step(restarted)
    assert len(answers(slug)) == 2


def test_an_error_in_the_engine_is_answered_and_does_not_stop_the_others(helper, bob, monkeypatch):
    real = rooms.assistant.answer

    def flaky(question, **kwargs):
        if "explode" in question:
            raise RuntimeError("boom")
        return real(question, **kwargs)

    monkeypatch.setattr(rooms.assistant, "answer", flaky)
    slug = dm_with_assistant(bob)
    post(bob, slug, "explode please")
    post(bob, slug, "help")
    step(helper)
    first, second = answers(slug)
    assert first.body == SORRY
    assert "I'm Parley's assistant" in second.body


# Reminders ---------------------------------------------------------------------------------


def test_a_reminder_is_stored_confirmed_and_delivered_once_when_due(helper, bob):
    now = timezone.now()
    slug = dm_with_assistant(bob)
    reply = ask(helper, bob, slug, "remind me in 2 hours to send the report", now=now)
    assert "send the report" in reply.body
    reminder = Reminder.objects.get()
    assert reminder.user == bob and reminder.room is None and reminder.delivered_at is None
    assert abs(reminder.due_at - (now + timedelta(hours=2))) < timedelta(minutes=1)
    step(helper, now + timedelta(hours=1))
    assert len(answers(slug)) == 1  # not yet
    step(helper, now + timedelta(hours=2, minutes=1))
    delivered = answers(slug)[-1]
    assert "Reminder" in delivered.body and "send the report" in delivered.body
    assert delivered.client_id == f"reminder-{reminder.id}"
    reminder.refresh_from_db()
    assert reminder.delivered_at is not None
    # A restart, and a crash before the mark: still one DM.
    Reminder.objects.update(delivered_at=None)
    step(Assistant(), now + timedelta(hours=3))
    assert len([m for m in answers(slug) if "Reminder" in m.body]) == 1


def test_a_reminder_asked_in_a_room_comes_as_a_dm(helper, ana, bob, shared):
    now = timezone.now()
    services.room_invite(room=shared, inviter=ana, invitee=assistant_user())
    ask(helper, bob, shared.slug, "@**Assistant** remind me in 10 minutes to water the plants", now=now)
    assert Reminder.objects.get().room == shared
    step(helper, now + timedelta(minutes=11))
    dm, _ = services.dm_open(user=bob, other=assistant_user())
    [delivered] = answers(dm.slug)
    assert "water the plants" in delivered.body and "general" in delivered.body


def test_a_reminder_two_hundred_years_ahead_is_refused_and_not_stored(helper, bob):
    slug = dm_with_assistant(bob)
    reply = ask(helper, bob, slug, "remind me in 200 years to check")
    assert not Reminder.objects.exists()
    assert reply is not None


def test_a_restart_stores_a_reminder_once(helper, bob):
    slug = dm_with_assistant(bob)
    ask(helper, bob, slug, "remind me in 2 hours to send the report")
    Delivery.objects.filter(bot=assistant_user()).update(status=Delivery.PENDING)
    step(Assistant())
    assert Reminder.objects.count() == 1


# The worker, the language model, the process ---------------------------------------------------


def test_the_webhooks_worker_runs_the_assistant_in_the_same_loop(bob):
    worker = webhooks.Worker()
    try:
        worker.step()
        slug = dm_with_assistant(bob)
        post(bob, slug, "help")
        worker.step()
        worker.drain()
        assert len(answers(slug)) == 1
        assert Delivery.objects.get(bot=assistant_user()).status == Delivery.DELIVERED  # never sent as a webhook
    finally:
        worker.close()


class FakeModel:
    """A local OpenAI-compatible chat-completions server: answers citing the first message it was given."""

    def __init__(self):
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append((self.path, body))
                prompt = body["messages"][-1]["content"]
                cited = prompt.split("[#", 1)[1].split("]", 1)[0]
                raw = json.dumps({"choices": [{"message": {"role": "assistant",
                                                           "content": f"Ana says the release is Friday [#{cited}]."}}]})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def test_the_language_model_writes_the_answer_when_configured(helper, ana, bob, shared, hidden, settings):
    model = FakeModel()
    try:
        settings.PARLEY_ASSISTANT_LLM_URL = model.url
        settings.PARLEY_ASSISTANT_LLM_MODEL = "fake-model"
        settings.PARLEY_ASSISTANT_LLM_KEY = "sk-local"
        sent = post(ana, shared.slug, "The release is on Friday.")
        slug = dm_with_assistant(bob)
        reply = ask(helper, bob, slug, "what did I miss?")
        assert "Ana says the release is Friday" in reply.body
        assert f"#message-{sent['id']}" in reply.body
        [(path, request)] = model.requests
        assert path == "/v1/chat/completions" and request["model"] == "fake-model"
        assert SECRET not in json.dumps(request)  # the model is handed only what Bob may read
    finally:
        model.server.shutdown()


@pytest.mark.server
def test_manage_py_run_bots_answers_the_assistant_in_its_own_process(start_server, sqlite_url):
    server = start_server(sqlite_url)
    ana = Http.signup(server.url, "Ana")
    bob = Http.signup(server.url, "Bob")
    status, room = ana.post("/api/rooms", {"name": f"ops {time.monotonic_ns()}"})
    slug = room["room"]["slug"]
    assert bob.post(f"/api/rooms/{slug}/join")[0] == 200
    status, people = bob.get("/api/users?q=assistant")
    [helper] = [p for p in people["users"] if p["is_bot"] and p["display_name"] == "Assistant"]
    status, dm = bob.post("/api/dms", {"user_id": helper["id"]})
    assert status in (200, 201)
    dm_slug = dm["room"]["slug"]

    def run_bots():
        subprocess.run([sys.executable, "manage.py", "run_bots", "--once", "-v", "0"], cwd=ROOT, check=True,
                       timeout=120, env=server_env(sqlite_url))

    run_bots()  # its cursor starts at the stream head
    assert ana.post(f"/api/rooms/{slug}/messages", {"body": "Quarterly numbers are in the shared drive."})[0] == 201
    status, question = bob.post(f"/api/rooms/{dm_slug}/messages", {"body": "what did I miss?"})
    assert status == 201
    run_bots()
    _, history = bob.get(f"/api/rooms/{dm_slug}/messages")
    last = history["messages"][-1]
    assert last["author"]["display_name"] == "Assistant" and last["author"]["is_bot"]
    assert "Quarterly numbers" in last["body"]
    assert last["reply_to"]["id"] == question["message"]["id"]
