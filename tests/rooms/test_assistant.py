"""The assistant's brain (rooms/assistant): plain data in, plain data out; no database, no network but 127.0.0.1."""
import json
import re
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rooms.assistant import AskerContext, LLMConfig, Record, RoomRef, answer
from rooms.assistant.intents import classify, load
from rooms.assistant.reminders import ReminderProblem, reminder_parse
from rooms.assistant.words import keywords

HELDOUT = Path(__file__).with_name("assistant_heldout.json")
# Measured 72/79 = 0.911 on the first run over the held-out set (bench/assistant.py); one miss more still passes.
HELDOUT_ACCURACY = 0.88
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 18, 13, 5, tzinfo=timezone.utc)  # a Wednesday, 14:05 in Paris
LINK = re.compile(r"#message-(\d+)|\[#(\d+)\]")


def record(id, text, author="Ana", room="general", at=0):
    return Record(id=id, room_slug=room, room_name=room.title(), author_name=author, text=text,
                  created_at=NOW - timedelta(hours=3) + timedelta(minutes=at or id))


CONVERSATION = [
    record(1, "Morning all! The release is planned for Friday. I'll write the release notes today."),
    record(2, "ok", author="Bob"),
    record(3, "The deploy pipeline failed on staging again, the database migration timed out.", author="Bob"),
    record(4, "lol", author="Carol"),
    record(5, "If the migration is not fixed by Thursday we move the release to Monday."),
    record(6, "Fixed: the migration needed an index. @**all** please test the staging deploy.", author="Bob"),
]
SECRET = record(99, "The acquisition of Initech closes on the release date", author="CEO", room="board")


class Spy:
    """An AskerContext whose data is only `unread` and `readable`, recording every call the assistant makes."""

    def __init__(self, unread=(), readable=()):
        self.calls = []
        self.unread_records = list(unread)
        self.readable = list(readable)

    def context(self, room=RoomRef("general", "General"), url=True):
        return AskerContext(
            name="Eve", room=room, unread=self.unread, search=self.search,
            message_url=(lambda r: f"https://parley.test/rooms/{r.room_slug}/#message-{r.id}") if url else (lambda r: None),
        )

    def unread(self):
        self.calls.append(("unread",))
        return self.unread_records

    def search(self, words, limit):
        self.calls.append(("search", tuple(words), limit))
        found = [r for r in self.readable if all(w.lower() in r.text.lower() for w in words)]
        return found[:limit]


def ask(question, spy=None, **options):
    spy = spy or Spy(CONVERSATION, CONVERSATION)
    return answer(question, asker=spy.context(), now=NOW, **options), spy


def linked_ids(text):
    return {int(a or b) for a, b in LINK.findall(text)}


# ---- Intents ---------------------------------------------------------------------------------------

def test_intents_reach_the_measured_accuracy_on_the_held_out_phrasings():
    heldout = load(HELDOUT)
    total = sum(len(phrasings) for phrasings in heldout.values())
    right = sum(classify(text).name == intent for intent, phrasings in heldout.items() for text in phrasings)
    assert right / total >= HELDOUT_ACCURACY, f"{right}/{total}"


def test_the_held_out_phrasings_are_not_in_the_training_set():
    trained = {text.lower() for phrasings in load().values() for text in phrasings}
    assert not [text for phrasings in load(HELDOUT).values() for text in phrasings if text.lower() in trained]


@pytest.mark.parametrize("question, intent", [
    ("help", "help"),
    ("@**Assistant** what did I miss?", "summary"),
    ("summarise today", "summary"),
    ("where did we talk about the release date?", "find"),
    ("find deploy logs", "find"),
    ("remind me tomorrow at 9 to send the report", "remind"),
    ("hello", "smalltalk"),
])
def test_the_contract_phrasings_reach_their_skill(question, intent):
    assert ask(question)[0].intent == intent


# ---- Summary ---------------------------------------------------------------------------------------

def test_summary_says_who_said_what_with_links_to_the_messages():
    reply, spy = ask("what did I miss?")
    assert reply.intent == "summary" and spy.calls == [("unread",)]
    assert "6 messages in #General from 3 people" in reply.text
    assert "**Ana** (2)" in reply.text and "**Bob** (3)" in reply.text
    assert "[#3](https://parley.test/rooms/general/#message-3)" in reply.text
    assert "Also: **Carol** (1)" in reply.text  # only "lol": named, not quoted
    assert "lol" not in reply.text
    assert set(reply.sources) <= {r.id for r in CONVERSATION} and linked_ids(reply.text) == set(reply.sources)


def test_summary_of_nothing_says_nothing_new():
    reply, _ = ask("what did I miss?", Spy(unread=[]))
    assert reply.text.startswith("Nothing new in #General") and reply.sources == ()


def test_summary_of_a_thousand_long_messages_stays_short():
    flood = [record(i, f"Message {i} about topic {i % 7}. " * 40, author=f"Person {i % 12}") for i in range(1, 1001)]
    reply, _ = ask("catch up", Spy(unread=flood))
    assert "1000 messages" in reply.text and "newest 300" in reply.text
    assert len(reply.text) < 4000


def test_summary_quotes_disarm_mentions_and_code_fences():
    spy = Spy(unread=[record(1, "@**all** the ```release``` moved to Monday, please check the calendar")])
    reply, _ = ask("what did I miss", spy)
    assert "@**all**" not in reply.text and "**@all**" in reply.text and "```" not in reply.text


def test_summary_accepts_plain_dicts_from_the_caller():
    spy = Spy(unread=[vars(r) for r in CONVERSATION])
    assert "**Bob** (3)" in ask("what did I miss?", spy)[0].text


def test_summary_over_several_rooms_names_the_room_of_each_quote():
    spy = Spy(unread=[record(1, "The release moved to Monday after the review."),
                      record(2, "Design review of the new logo is on Thursday.", author="Bob", room="design")])
    reply = answer("what did I miss?", asker=spy.context(room=None), now=NOW)
    assert "2 rooms" in reply.text and "in #Design" in reply.text


# ---- Find ------------------------------------------------------------------------------------------

def test_keywords_drop_question_words_and_stopwords():
    assert keywords("Where did we talk about the release date?") == ["release", "date"]
    assert keywords("@**Assistant** find deploy logs") == ["deploy", "logs"]
    assert keywords("did someone mention the deployments, deployment") == ["deployments"]


def test_find_quotes_the_best_messages_with_room_and_link():
    reply, spy = ask("where did we talk about the release date?",
                     Spy(readable=[record(1, "The release date is Friday"), record(2, "lunch?")]))
    assert spy.calls == [("search", ("release", "date"), 5)]
    assert "**Ana** in #General" in reply.text and "[#1](https://parley.test/rooms/general/#message-1)" in reply.text
    assert reply.sources == (1,)


def test_find_relaxes_to_single_words_when_all_of_them_find_nothing():
    reply, spy = ask("what did Tom say about the migration?")
    assert spy.calls[0] == ("search", ("tom", "migration"), 5)
    assert ("search", ("migration",), 5) in spy.calls
    assert set(reply.sources) == {3, 5, 6}


def test_find_says_so_when_nothing_matches():
    reply, _ = ask("find the kubernetes dashboard", Spy())
    assert reply.text.startswith("I found nothing about *kubernetes* *dashboard*") and reply.sources == ()


def test_find_without_links_writes_plain_references():
    spy = Spy(readable=CONVERSATION)
    reply = answer("find deploy", asker=spy.context(url=False), now=NOW)
    assert "#message-3" in reply.text and "](" not in reply.text


# ---- Reminders -------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, due, text", [
    ("remind me tomorrow at 9 to send the report", "2026-11-19 09:00", "send the report"),
    ("remind me in 2 hours to stretch", "2026-11-18 16:05", "stretch"),
    ("remind me at 17:30 to call Bob", "2026-11-18 17:30", "call Bob"),
    ("remind me to call Bob at 17:30", "2026-11-18 17:30", "call Bob"),
    ("remind me on Friday to water the plants", "2026-11-20 09:00", "water the plants"),
    ("remind me at 13:00 to eat", "2026-11-19 13:00", "eat"),  # 13:00 has passed today
    ("set reminder in 2h: stretch", "2026-11-18 16:05", "stretch"),
    ("remind me in half an hour to leave", "2026-11-18 14:35", "leave"),
    ("remind me to read chapter 3 in 2 hours", "2026-11-18 16:05", "read chapter 3"),
    ("reminder: pay the invoice on the 1st", "2026-12-01 09:00", "pay the invoice"),
])
def test_reminders_read_the_time_in_the_askers_zone(question, due, text):
    reply = answer(question, asker=Spy().context(), now=NOW, tz=PARIS)
    assert reply.intent == "remind" and reply.reminder is not None
    assert reply.reminder.due_at.tzinfo == PARIS
    assert reply.reminder.due_at.strftime("%Y-%m-%d %H:%M") == due
    assert reply.reminder.text == text


def test_reminder_default_zone_is_utc():
    reminder = reminder_parse("remind me tomorrow at 9 to x", now=NOW)
    assert reminder.due_at == datetime(2026, 11, 19, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("question, reason", [
    ("remind me yesterday to call Bob", "already passed"),
    ("remind me on 1 November 2026 to vote", "already passed"),
    ("remind me in 200 years to retire", "more than a year away"),
    ("remind me in 2 years to check the backups", "more than a year away"),
    ("remind me to buy milk", "couldn't find when"),
])
def test_reminders_refuse_the_past_the_far_future_and_no_time(question, reason):
    reply, _ = ask(question)
    assert reply.intent == "remind" and reply.reminder is None and reason in reply.text
    with pytest.raises(ReminderProblem):
        reminder_parse(question, now=NOW)


# ---- Help, small talk, bad input ---------------------------------------------------------------------

def test_help_lists_the_skills_with_examples():
    reply, spy = ask("what can you do?")
    assert reply.intent == "help" and "What did I miss?" in reply.text and "Remind me" in reply.text
    assert spy.calls == []


@pytest.mark.parametrize("question", ["", "   ", "🎉🙂🚀", "x" * 4000, "!!!???", "12345", None])
def test_empty_emoji_or_runaway_input_gets_a_pointer_to_help_and_reads_nothing(question):
    reply, spy = ask(question)
    assert reply.intent == "unknown" and "help" in reply.text and spy.calls == []


def test_a_4000_character_question_is_answered_quickly_within_bounds():
    question = "where did we talk about the release date? " + "blah " * 800
    reply, spy = ask(question[:4000])
    assert reply.intent == "find" and len(spy.calls[0][1]) <= 6 and len(reply.text) < 4000


def test_small_talk_answers_without_reading_messages():
    reply, spy = ask("thanks a lot!")
    assert reply.intent == "smalltalk" and "welcome" in reply.text and spy.calls == []


# ---- Privacy ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("question, calls", [
    ("help", []),
    ("hello", []),
    ("remind me in 2 hours to stretch", []),
    ("what did I miss?", ["unread"]),
    ("where did we talk about the release date?", ["search"]),
])
def test_each_skill_reads_only_through_the_context_and_quotes_only_what_it_was_given(question, calls):
    # The board room's message exists, but the context never hands it over: it must never appear.
    spy = Spy(unread=CONVERSATION, readable=CONVERSATION)
    reply, _ = ask(question, spy)
    assert {call[0] for call in spy.calls} == set(calls)
    given = {r.id for r in CONVERSATION}
    assert set(reply.sources) <= given and linked_ids(reply.text) <= given
    assert "Initech" not in reply.text and "board" not in reply.text.lower()


# ---- The optional language model -----------------------------------------------------------------------

class FakeModel:
    """An OpenAI-compatible chat-completions server on 127.0.0.1, answering as `behaviour` says."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.requests = []
        self.release = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                status, payload = fake.behaviour(body)
                if status is None:  # hang until the test ends
                    fake.release.wait(10)
                    return
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(payload if isinstance(payload, bytes) else json.dumps(payload).encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def config(self, timeout=5.0):
        return LLMConfig(url=f"http://127.0.0.1:{self.server.server_port}/v1", model="tiny", key="sekret", timeout=timeout)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def model_server():
    servers = []

    def start(behaviour):
        servers.append(FakeModel(behaviour))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def said(content):
    return lambda body: (200, {"choices": [{"message": {"role": "assistant", "content": content}}]})


def test_the_model_writes_the_summary_from_the_unread_messages_only(model_server):
    server = model_server(said("Ana plans the release for Friday [#1]; Bob fixed the migration [#6]. See also [#99]. @**all**"))
    spy = Spy(unread=CONVERSATION[:3] + CONVERSATION[5:], readable=CONVERSATION + [SECRET])
    reply, _ = ask("what did I miss?", spy, llm=server.config())
    assert reply.by_llm and reply.intent == "summary" and reply.sources == (1, 6)
    assert "[#1](https://parley.test/rooms/general/#message-1)" in reply.text
    assert "[#99]" in reply.text and "#message-99" not in reply.text  # an id it made up is not a link
    assert "@**all**" not in reply.text
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sekret" and request["body"]["model"] == "tiny"
    prompt = "\n".join(message["content"] for message in request["body"]["messages"])
    assert set(map(int, re.findall(r"^\[#(\d+)\]", prompt, re.M))) == {1, 2, 3, 6}
    assert "lol" not in prompt and "Initech" not in prompt and "Thursday" not in prompt


def test_a_long_model_answer_full_of_citations_still_fits_a_message(model_server):
    server = model_server(said("[#1] " * 1000))
    reply, _ = ask("what did I miss?", llm=server.config())
    assert reply.by_llm and len(reply.text) <= 3900 and reply.sources == (1,)


def test_the_model_answers_a_find_from_the_search_results_only(model_server):
    server = model_server(said("The release is on Friday [#1]."))
    spy = Spy(readable=[CONVERSATION[0], CONVERSATION[2]])
    reply, _ = ask("where did we talk about the release date?", spy, llm=server.config())
    assert reply.by_llm and reply.intent == "find" and reply.sources == (1,)
    prompt = server.requests[0]["body"]["messages"][1]["content"]
    assert "[#1]" in prompt and "[#3]" not in prompt and "deploy pipeline" not in prompt


def test_the_model_is_not_asked_when_there_is_nothing_to_summarise(model_server):
    server = model_server(said("anything"))
    reply, _ = ask("what did I miss?", Spy(), llm=server.config())
    assert not reply.by_llm and reply.text.startswith("Nothing new") and server.requests == []


@pytest.mark.parametrize("behaviour", [
    pytest.param(lambda body: (500, {"error": "boom"}), id="500"),
    pytest.param(lambda body: (200, b"<html>surely not json</html>"), id="garbage"),
    pytest.param(lambda body: (200, {"choices": []}), id="no-choices"),
    pytest.param(lambda body: (200, {"choices": [{"message": {"content": "  "}}]}), id="empty"),
    pytest.param(lambda body: (None, None), id="timeout"),
])
def test_any_model_failure_falls_back_to_the_classic_answer(model_server, behaviour):
    server = model_server(behaviour)
    classic, _ = ask("what did I miss?")
    reply, _ = ask("what did I miss?", llm=server.config(timeout=0.3))
    assert not reply.by_llm and reply.text == classic.text and len(server.requests) == 1


def test_an_unreachable_model_falls_back_too():
    with socket_closed_port() as port:
        reply, _ = ask("find deploy", llm=LLMConfig(url=f"http://127.0.0.1:{port}/v1/chat/completions", model="m"))
    assert not reply.by_llm and "deploy pipeline" in reply.text


def test_no_endpoint_configured_means_no_model():
    assert LLMConfig.configured(url="", model="") is None
    config = LLMConfig.configured(url="http://127.0.0.1:8080/v1/", model="m", key="k", timeout=3)
    assert config.endpoint == "http://127.0.0.1:8080/v1/chat/completions" and config.timeout == 3


class socket_closed_port:
    """A 127.0.0.1 port with nothing listening (bound, then closed)."""

    def __enter__(self):
        import socket

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]

    def __exit__(self, *exc):
        return False
