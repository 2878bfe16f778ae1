"""Rich messages (API.md Part 2, issue 11): Markdown, mentions, replies, edit, delete, reactions.

Everything goes through the HTTP API and the long poll (GET /api/events via
the `feed` fixture), so these tests hold whatever the delivery modules are
called. Who may call which endpoint in which kind of room is
tests/rooms/test_rich_authz.py; this file is what each call does.

The models Reaction and Mention are imported inside the tests that count them,
so that this module is collected before the server side lands.
"""
import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rooms import messaging, services
from rooms.models import Message
from tests.conftest import error_of
from tests.htmltags import Tags

pytestmark = pytest.mark.django_db

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
RICH_FIELDS = {"html", "mentions", "reply_to", "reactions", "attachments", "edited_at"}


def name_of(user):
    return f"{user.first_name} {user.last_name}"


def mention(user):
    return f"@**{name_of(user)}**"


# Calls ---------------------------------------------------------------------------------------------


def send(client, room, body, **extra):
    return client.post(f"/api/rooms/{room.slug}/messages", {"body": body, **extra})


def posted(client, room, body, **extra):
    """Post through the API; return the message JSON."""
    response = send(client, room, body, **extra)
    assert response.status_code == 201, response.content
    return response.json()["message"]


def get(client, message_id):
    return client.get(f"/api/messages/{message_id}")


def edit(client, message_id, body):
    return client.patch(f"/api/messages/{message_id}", {"body": body})


def delete(client, message_id):
    return client.client.delete(f"/api/messages/{message_id}")


def react(client, message_id, emoji):
    return client.post(f"/api/messages/{message_id}/reactions", {"emoji": emoji})


def unreact(client, message_id, emoji):
    return client.client.delete(f"/api/messages/{message_id}/reactions/{quote(emoji, safe='')}")


def history(client, room):
    response = client.get(f"/api/rooms/{room.slug}/messages")
    assert response.status_code == 200, response.content
    return response.json()["messages"]


def search(client, q):
    response = client.get("/api/search", {"q": q})
    assert response.status_code == 200, response.content
    return response.json()["messages"]


def listed_room(client, room):
    """The room as GET /api/rooms shows it to this client (with unread_count and mention_count)."""
    rooms = {r["slug"]: r for r in client.get("/api/rooms").json()["rooms"]}
    return rooms[room.slug]


def reactions_of(message):
    return [(r["emoji"], r["user_ids"]) for r in message["reactions"]]


# The scene: Ana and Bob in a public room, Cy in it too, Eve outside ----------------------------------


class Chat:
    def __init__(self, api, make_user, room_factory):
        self.ana, self.bob, self.cy, self.eve = (make_user(n) for n in ("Ana", "Bob", "Cy", "Eve"))
        self.staff = make_user("Stella", staff=True)
        self.room = room_factory(self.ana, "lobby")
        for user in (self.bob, self.cy):
            services.room_join(room=self.room, user=user)
        self.other_room = room_factory(self.ana, "elsewhere")
        self.a, self.b, self.c, self.e, self.s = (api(u) for u in (self.ana, self.bob, self.cy, self.eve, self.staff))


@pytest.fixture
def chat(api, make_user, room_factory):
    return Chat(api, make_user, room_factory)


# The message object ----------------------------------------------------------------------------------


def test_a_new_message_carries_the_rich_fields_with_empty_values(chat):
    sent = posted(chat.a, chat.room, "plain words")
    assert RICH_FIELDS <= set(sent)
    assert sent["mentions"] == [] and sent["reply_to"] is None
    assert sent["reactions"] == [] and sent["attachments"] == [] and sent["edited_at"] is None
    assert "plain words" in sent["html"]
    assert sent["body"] == "plain words"


def test_history_get_and_the_event_give_the_same_message_json(chat, feed):
    bob_feed = feed(chat.bob)
    sent = posted(chat.a, chat.room, "same **everywhere**")
    [event] = bob_feed.take("message")
    [in_history] = history(chat.b, chat.room)
    fetched = get(chat.b, sent["id"])
    assert fetched.status_code == 200, fetched.content
    assert fetched.json()["message"] == in_history == event["message"] == sent


def test_the_room_object_has_a_mention_count(chat):
    assert listed_room(chat.b, chat.room)["mention_count"] == 0
    detail = chat.b.get(f"/api/rooms/{chat.room.slug}").json()["room"]
    assert detail["mention_count"] == 0


# Markdown --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, tag, text", [
    ("**bold**", "strong", "bold"),
    ("*slanted*", "em", "slanted"),
    ("~~gone~~", "del", "gone"),
    ("say `x = 1` now", "code", "x = 1"),
    ("```\nfenced()\n```", "pre", "fenced()"),
    ("> quoted", "blockquote", "quoted"),
    ("- one\n- two", "ul", "two"),
    ("1. first\n2. second", "ol", "second"),
])
def test_markdown_is_rendered_on_the_server(chat, body, tag, text):
    sent = posted(chat.a, chat.room, body)
    assert sent["body"] == body  # the source stays as typed
    assert Tags(sent["html"]).named(tag), sent["html"]
    assert text in sent["html"]


def test_raw_html_is_shown_as_text_never_as_a_tag(chat):
    body = '<script>alert(1)</script> <img src=x onerror="alert(2)"> <b>hi</b>'
    sent = posted(chat.a, chat.room, body)
    tags = {tag for tag, _ in Tags(sent["html"]).tags}
    assert not tags & {"script", "img", "b"}, sent["html"]
    assert "<script" not in sent["html"].lower()
    assert "&lt;script&gt;" in sent["html"]
    assert sent["body"] == body


def test_links_open_in_a_new_tab_and_pass_nothing_on(chat):
    sent = posted(chat.a, chat.room, "see [the docs](https://example.com/docs) and https://example.org/x")
    links = {a["href"]: a for a in Tags(sent["html"]).named("a")}
    assert set(links) == {"https://example.com/docs", "https://example.org/x"}  # autolinks too
    for link in links.values():
        assert set(link["rel"].split()) == {"nofollow", "noopener", "noreferrer"}
        assert link["target"] == "_blank"


@pytest.mark.parametrize("body", [
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](data:text/html;base64,PHNjcmlwdD4=)",
    "<javascript:alert(1)>",
    "[click](vbscript:msgbox(1))",
])
def test_only_http_https_and_mailto_links_are_links(chat, body):
    sent = posted(chat.a, chat.room, body)
    tags = Tags(sent["html"]).tags
    for tag, attrs in tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), sent["html"]
            assert not re.match(r"\s*(javascript|data|vbscript):", value or "", re.I), sent["html"]
    for tag, attrs in tags:
        if tag == "a" and "href" in attrs:
            assert attrs["href"].split(":")[0].lower() in ("http", "https", "mailto"), sent["html"]


def test_a_mailto_link_is_kept(chat):
    sent = posted(chat.a, chat.room, "[write](mailto:ana@example.com)")
    assert [a["href"] for a in Tags(sent["html"]).named("a")] == ["mailto:ana@example.com"]


# Mentions --------------------------------------------------------------------------------------------


def test_a_members_display_name_is_a_mention(chat):
    sent = posted(chat.a, chat.room, f"hi {mention(chat.bob)}, look")
    assert sent["mentions"] == [chat.bob.id]
    spans = Tags(sent["html"]).named("span")
    assert [(s["class"], s["data-user-id"]) for s in spans] == [("mention", str(chat.bob.id))]
    assert name_of(chat.bob) in sent["html"]


def test_a_non_members_name_is_not_a_mention(chat):
    sent = posted(chat.a, chat.room, f"hi {mention(chat.eve)}")
    assert sent["mentions"] == []
    assert not Tags(sent["html"]).named("span")
    assert name_of(chat.eve) in sent["html"]  # the literal text stays
    assert listed_room(chat.e, chat.room)["mention_count"] == 0


def test_an_unknown_name_is_not_a_mention(chat):
    sent = posted(chat.a, chat.room, "hi @**Nobody At All**")
    assert sent["mentions"] == [] and not Tags(sent["html"]).named("span")


def test_a_mention_in_code_is_not_a_mention(chat):
    for body in (f"`{mention(chat.bob)}`", f"```\n{mention(chat.bob)}\n```"):
        sent = posted(chat.a, chat.room, body)
        assert sent["mentions"] == [], body
        assert not Tags(sent["html"]).named("span"), sent["html"]
    assert listed_room(chat.b, chat.room)["mention_count"] == 0


def test_all_mentions_every_member_and_counts_for_each(chat):
    sent = posted(chat.a, chat.room, "@**all** standup in 5")
    assert {chat.bob.id, chat.cy.id} <= set(sent["mentions"])
    assert chat.eve.id not in sent["mentions"]
    for client in (chat.b, chat.c):
        assert listed_room(client, chat.room)["mention_count"] == 1
    assert listed_room(chat.e, chat.room)["mention_count"] == 0


def test_mention_count_is_unread_messages_that_mention_me_and_reading_clears_it(chat):
    first = posted(chat.a, chat.room, f"{mention(chat.bob)} one")
    posted(chat.a, chat.room, "not about Bob")
    last = posted(chat.a, chat.room, f"{mention(chat.bob)} two, {mention(chat.bob)} again")  # one message, one count
    bob_room = listed_room(chat.b, chat.room)
    assert bob_room["mention_count"] == 2 and bob_room["unread_count"] == 3
    assert listed_room(chat.c, chat.room)["mention_count"] == 0
    assert chat.b.post(f"/api/rooms/{chat.room.slug}/read", {"message_id": first["id"]}).status_code == 204
    assert listed_room(chat.b, chat.room)["mention_count"] == 1
    assert chat.b.post(f"/api/rooms/{chat.room.slug}/read", {"message_id": last["id"]}).status_code == 204
    assert listed_room(chat.b, chat.room)["mention_count"] == 0


def test_a_message_naming_me_and_all_counts_once_and_only_others_unblocked_messages_count(chat):
    posted(chat.a, chat.room, f"@**all** and {mention(chat.bob)}")  # named and @all: one mention
    posted(chat.b, chat.room, "@**all** from Bob himself")  # his own: neither unread nor a mention
    posted(chat.c, chat.room, f"{mention(chat.bob)} from Cy")
    bob_room = listed_room(chat.b, chat.room)
    assert (bob_room["unread_count"], bob_room["mention_count"]) == (2, 2)
    assert chat.b.post("/api/blocks", {"user_id": chat.cy.id}).status_code in (200, 201, 204)
    bob_room = listed_room(chat.b, chat.room)
    assert (bob_room["unread_count"], bob_room["mention_count"]) == (1, 1)
    # The room's own endpoint counts the same way as the list.
    detail = chat.b.get(f"/api/rooms/{chat.room.slug}").json()["room"]
    assert (detail["unread_count"], detail["mention_count"]) == (1, 1)
    # Eve is not a member: nothing is unread for her, and nothing mentions her.
    eve_room = listed_room(chat.e, chat.room)
    assert (eve_room["unread_count"], eve_room["mention_count"]) == (0, 0)


# Replies ---------------------------------------------------------------------------------------------


def test_a_reply_quotes_its_original(chat):
    original = posted(chat.a, chat.room, "the **build** is green")
    reply = posted(chat.b, chat.room, "great", reply_to=original["id"])
    quoted = reply["reply_to"]
    assert quoted["id"] == original["id"]
    assert quoted["author"] == {"id": chat.ana.id, "display_name": name_of(chat.ana), "is_bot": False}
    assert "build" in quoted["excerpt"] and "<strong>" not in quoted["excerpt"]
    [_, in_history] = history(chat.b, chat.room)
    assert in_history["reply_to"] == quoted
    assert get(chat.a, reply["id"]).json()["message"]["reply_to"] == quoted


def test_a_long_originals_excerpt_is_short(chat):
    original = posted(chat.a, chat.room, "word " * 700)
    reply = posted(chat.b, chat.room, "tl;dr?", reply_to=original["id"])
    assert 0 < len(reply["reply_to"]["excerpt"]) < len(original["body"])


@pytest.mark.parametrize("bad", ["12", True, 1.5, [1], {"id": 1}, 0, -1])
def test_reply_to_must_be_a_message_id(chat, bad):
    posted(chat.a, chat.room, "something")
    count = Message.objects.count()
    error = error_of(send(chat.a, chat.room, "reply", reply_to=bad), 400, "invalid")
    assert "reply_to" in error["fields"]
    assert Message.objects.count() == count


def test_a_reply_into_another_room_a_deleted_or_a_missing_message_is_400(chat):
    elsewhere = posted(chat.a, chat.other_room, "over there")
    gone = posted(chat.a, chat.room, "soon gone")
    assert delete(chat.a, gone["id"]).status_code == 204
    count = Message.objects.count()
    for target in (elsewhere["id"], gone["id"], 10**9):
        error = error_of(send(chat.a, chat.room, "reply", reply_to=target), 400, "invalid")
        assert "reply_to" in error["fields"], target
    assert Message.objects.count() == count


def test_a_reply_to_a_private_rooms_message_says_nothing_about_it(chat, room_factory):
    secret_room = room_factory(chat.eve, "secret", is_private=True)
    secret = messaging.message_post(room=secret_room, author=chat.eve, body="the secret plan")[0]
    response = send(chat.a, chat.room, "reply", reply_to=secret.id)
    error_of(response, 400, "invalid")
    assert "secret plan" not in response.content.decode()
    # The same answer as for an id that does not exist: nothing says the message is there.
    assert response.content == send(chat.a, chat.room, "reply", reply_to=10**9).content


def test_a_reply_whose_original_is_deleted_says_deleted(chat):
    original = posted(chat.a, chat.room, "I will regret this")
    reply = posted(chat.b, chat.room, "quoting you", reply_to=original["id"])
    assert delete(chat.a, original["id"]).status_code == 204
    expected = {"id": original["id"], "deleted": True}
    assert get(chat.b, reply["id"]).json()["message"]["reply_to"] == expected
    [in_history] = history(chat.b, chat.room)
    assert in_history["reply_to"] == expected
    assert "regret" not in get(chat.b, reply["id"]).content.decode()


def test_attachments_must_be_empty_until_files_exist(chat):
    assert posted(chat.a, chat.room, "no files", attachments=[])["attachments"] == []
    count = Message.objects.count()
    error_of(send(chat.a, chat.room, "a file", attachments=[1]), 400, "invalid")
    error_of(send(chat.a, chat.room, "", attachments=[1]), 400, "invalid")
    error_of(send(chat.a, chat.room, "bad", attachments="1"), 400, "invalid")
    assert Message.objects.count() == count


# GET /api/messages/{id} --------------------------------------------------------------------------------


def test_get_a_message_by_id(chat):
    sent = posted(chat.a, chat.room, "look me up")
    for client in (chat.a, chat.b, chat.e):  # Eve is no member, but the room is public
        response = get(client, sent["id"])
        assert response.status_code == 200, response.content
        assert response.json()["message"]["body"] == "look me up"


def test_get_a_missing_message_is_404_and_anonymous_is_401(chat, api):
    error_of(get(chat.a, 10**9), 404, "not_found")
    sent = posted(chat.a, chat.room, "hi")
    error_of(get(api(), sent["id"]), 401, "not_authenticated")


def test_get_a_message_of_someone_i_block_is_404(chat):
    sent = posted(chat.a, chat.room, "from Ana")
    assert chat.b.post("/api/blocks", {"user_id": chat.ana.id}).status_code in (200, 201)
    error_of(get(chat.b, sent["id"]), 404, "not_found")
    assert get(chat.c, sent["id"]).status_code == 200


# Edit --------------------------------------------------------------------------------------------------


def test_the_author_edits_a_message(chat):
    sent = posted(chat.a, chat.room, "helo wrold")
    response = edit(chat.a, sent["id"], "hello **world**")
    assert response.status_code == 200, response.content
    edited = response.json()["message"]
    assert edited["id"] == sent["id"] and edited["body"] == "hello **world**"
    assert ISO_Z.match(edited["edited_at"])
    assert edited["created_at"] == sent["created_at"]
    assert Tags(edited["html"]).named("strong")
    assert get(chat.b, sent["id"]).json()["message"] == edited
    assert [m["body"] for m in history(chat.b, chat.room)] == ["hello **world**"]


def test_an_edit_resolves_mentions_again(chat):
    sent = posted(chat.a, chat.room, f"ping {mention(chat.bob)}")
    assert sent["mentions"] == [chat.bob.id]
    edited = edit(chat.a, sent["id"], f"ping {mention(chat.cy)} instead").json()["message"]
    assert edited["mentions"] == [chat.cy.id]
    assert [s["data-user-id"] for s in Tags(edited["html"]).named("span")] == [str(chat.cy.id)]
    assert listed_room(chat.b, chat.room)["mention_count"] == 0
    assert listed_room(chat.c, chat.room)["mention_count"] == 1


def test_an_edit_keeps_reactions_and_the_reply(chat):
    original = posted(chat.a, chat.room, "first")
    reply = posted(chat.a, chat.room, "second", reply_to=original["id"])
    assert react(chat.b, reply["id"], "👍").status_code == 200
    edited = edit(chat.a, reply["id"], "second, fixed").json()["message"]
    assert edited["reply_to"]["id"] == original["id"]
    assert reactions_of(edited) == [("👍", [chat.bob.id])]


def test_only_the_author_may_edit(chat):
    sent = posted(chat.a, chat.room, "mine")
    for client in (chat.b, chat.s, chat.e):  # a member, staff, a reader who is not a member
        error_of(edit(client, sent["id"], "theirs"), 403, "forbidden")
    assert get(chat.a, sent["id"]).json()["message"]["body"] == "mine"
    assert get(chat.a, sent["id"]).json()["message"]["edited_at"] is None


def test_an_edit_after_the_window_is_403_edit_window_closed(chat, settings):
    sent = posted(chat.a, chat.room, "old news")
    Message.objects.filter(id=sent["id"]).update(created_at=timezone.now() - timedelta(seconds=3600 + 5))
    error_of(edit(chat.a, sent["id"], "new news"), 403, "edit_window_closed")
    assert get(chat.a, sent["id"]).json()["message"]["body"] == "old news"
    # Just inside the default window it still works.
    Message.objects.filter(id=sent["id"]).update(created_at=timezone.now() - timedelta(seconds=3600 - 60))
    assert edit(chat.a, sent["id"], "new news").status_code == 200


def test_the_edit_window_follows_the_setting(chat, settings):
    settings.PARLEY_EDIT_SECONDS = 5
    sent = posted(chat.a, chat.room, "quick")
    assert edit(chat.a, sent["id"], "quick fix").status_code == 200
    Message.objects.filter(id=sent["id"]).update(created_at=timezone.now() - timedelta(seconds=10))
    error_of(edit(chat.a, sent["id"], "too late"), 403, "edit_window_closed")


def test_the_window_closed_is_still_forbidden_for_others(chat):
    """Someone else gets plain 403 forbidden: the window is not their business."""
    sent = posted(chat.a, chat.room, "old")
    Message.objects.filter(id=sent["id"]).update(created_at=timezone.now() - timedelta(days=2))
    error_of(edit(chat.b, sent["id"], "x"), 403, "forbidden")


@pytest.mark.parametrize("data", [
    {}, {"body": ""}, {"body": "   \n\t"}, {"body": None}, {"body": 5}, {"body": ["x"]}, {"body": "a\x00b"},
])
def test_an_edit_with_a_bad_body_is_400_and_changes_nothing(chat, data):
    sent = posted(chat.a, chat.room, "keep me")
    error_of(chat.a.patch(f"/api/messages/{sent['id']}", data), 400, "invalid")
    after = get(chat.a, sent["id"]).json()["message"]
    assert after["body"] == "keep me" and after["edited_at"] is None


def test_an_edit_over_the_length_limit_is_400(chat, settings):
    sent = posted(chat.a, chat.room, "short")
    limit = settings.PARLEY_MAX_MESSAGE_CHARS
    error_of(edit(chat.a, sent["id"], "x" * (limit + 1)), 400, "invalid")
    assert edit(chat.a, sent["id"], "x" * limit).status_code == 200


def test_an_edit_reaches_members_as_message_updated(chat, feed):
    sent = posted(chat.a, chat.room, "before")
    bob_feed, eve_feed = feed(chat.bob), feed(chat.eve)
    edited = edit(chat.a, sent["id"], "after **edit**").json()["message"]
    [event] = bob_feed.take("message_updated")
    assert event == {"type": "message_updated", "room": chat.room.slug, "message": edited}
    assert eve_feed.take("message_updated") == []  # not a member


def test_search_finds_the_edited_text_not_the_old(chat):
    sent = posted(chat.a, chat.room, "pineapple pizza")
    edit(chat.a, sent["id"], "margherita pizza")
    assert search(chat.a, "pineapple") == []
    assert [m["id"] for m in search(chat.a, "margherita")] == [sent["id"]]


def test_a_reply_excerpt_follows_an_edit(chat):
    original = posted(chat.a, chat.room, "meeting at 3")
    reply = posted(chat.b, chat.room, "ok", reply_to=original["id"])
    edit(chat.a, original["id"], "meeting at 4")
    excerpt = get(chat.b, reply["id"]).json()["message"]["reply_to"]["excerpt"]
    assert "4" in excerpt and "3" not in excerpt


# Delete ------------------------------------------------------------------------------------------------


def test_the_author_deletes_a_message_and_it_is_gone_everywhere(chat):
    kept = posted(chat.a, chat.room, "zucchini stays")
    gone = posted(chat.a, chat.room, "zucchini goes")
    response = delete(chat.a, gone["id"])
    assert response.status_code == 204 and response.content == b""
    assert [m["id"] for m in history(chat.b, chat.room)] == [kept["id"]]
    assert [m["id"] for m in search(chat.a, "zucchini")] == [kept["id"]]
    error_of(get(chat.a, gone["id"]), 404, "not_found")
    error_of(delete(chat.a, gone["id"]), 404, "not_found")  # a second delete
    error_of(edit(chat.a, gone["id"], "back?"), 404, "not_found")
    error_of(react(chat.b, gone["id"], "👍"), 404, "not_found")


def test_staff_may_delete_any_message_in_a_room_they_may_read(chat):
    sent = posted(chat.a, chat.room, "off topic")
    response = delete(chat.s, sent["id"])  # staff, not a member of this public room
    assert response.status_code == 204, response.content
    error_of(get(chat.a, sent["id"]), 404, "not_found")


def test_others_may_not_delete(chat):
    sent = posted(chat.a, chat.room, "mine")
    error_of(delete(chat.b, sent["id"]), 403, "forbidden")
    error_of(delete(chat.e, sent["id"]), 403, "forbidden")
    assert get(chat.a, sent["id"]).status_code == 200


def test_a_deleted_message_no_longer_counts_as_unread_or_as_a_mention(chat):
    posted(chat.a, chat.room, "one")
    gone = posted(chat.a, chat.room, f"two {mention(chat.bob)}")
    before = listed_room(chat.b, chat.room)
    assert (before["unread_count"], before["mention_count"]) == (2, 1)
    assert delete(chat.a, gone["id"]).status_code == 204
    after = listed_room(chat.b, chat.room)
    assert (after["unread_count"], after["mention_count"]) == (1, 0)


def test_a_delete_reaches_members_in_order_after_earlier_events(chat, feed):
    bob_feed, eve_feed = feed(chat.bob), feed(chat.eve)
    first = posted(chat.a, chat.room, "first")
    assert [e["message"]["id"] for e in bob_feed.take("message")] == [first["id"]]
    second = posted(chat.a, chat.room, "second")
    react(chat.c, second["id"], "👍")
    assert delete(chat.a, first["id"]).status_code == 204
    seen = [e for e in bob_feed.take() if e.get("room") == chat.room.slug]
    assert [(e["type"], e.get("message", {}).get("id") or e.get("message_id")) for e in seen] == [
        ("message", second["id"]), ("reaction", second["id"]), ("message_deleted", first["id"]),
    ]
    assert seen[-1] == {"type": "message_deleted", "room": chat.room.slug, "message_id": first["id"]}
    assert eve_feed.take("message_deleted") == []


def test_a_client_that_was_away_gets_edits_reactions_and_deletes_through_its_cursor(chat, feed):
    kept = posted(chat.a, chat.room, "draft")
    doomed = posted(chat.a, chat.room, "oops")
    bob_feed = feed(chat.bob)  # Bob's cursor; then he goes away
    edit(chat.a, kept["id"], "final")
    react(chat.c, kept["id"], "🎉")
    delete(chat.a, doomed["id"])
    seen = [e for e in bob_feed.take() if e.get("room") == chat.room.slug]
    assert [(e["type"], e.get("message", {}).get("id") or e.get("message_id")) for e in seen] == [
        ("message_updated", kept["id"]), ("reaction", kept["id"]), ("message_deleted", doomed["id"]),
    ]
    assert seen[0]["message"]["body"] == "final"


# Reactions ---------------------------------------------------------------------------------------------

GOOD_EMOJI = ["👍", "👍🏽", "👨\u200d👩\u200d👧", "🇫🇷", "❤️", "🎉", "1️⃣", "🏳️\u200d🌈"]


@pytest.mark.parametrize("emoji", GOOD_EMOJI)
def test_a_member_reacts_with_one_emoji(chat, emoji):
    sent = posted(chat.a, chat.room, "react to me")
    response = react(chat.b, sent["id"], emoji)
    assert response.status_code == 200, response.content
    message = response.json()["message"]
    assert message["id"] == sent["id"]
    assert reactions_of(message) == [(emoji, [chat.bob.id])]
    assert reactions_of(get(chat.e, sent["id"]).json()["message"]) == [(emoji, [chat.bob.id])]
    assert reactions_of(history(chat.a, chat.room)[0]) == [(emoji, [chat.bob.id])]


def test_a_shortcode_is_stored_as_its_emoji(chat):
    sent = posted(chat.a, chat.room, "react to me")
    assert reactions_of(react(chat.b, sent["id"], ":thumbsup:").json()["message"]) == [("👍", [chat.bob.id])]
    # The same emoji typed as itself joins the same entry.
    assert reactions_of(react(chat.c, sent["id"], "👍").json()["message"]) == [("👍", [chat.bob.id, chat.cy.id])]


@pytest.mark.parametrize("emoji", [
    "hello", "👍👍", "👍 ", " 👍", "", " ", "\u200d", ":nosuchshortcode:", "thumbsup", ":thumbsup", "a",
    "<script>", "👍" * 40, "\ufe0f", 5, None, True, ["👍"], {"emoji": "👍"},
])
def test_a_reaction_that_is_not_one_emoji_is_400(chat, emoji):
    from rooms.models import Reaction

    sent = posted(chat.a, chat.room, "react to me")
    error_of(react(chat.b, sent["id"], emoji), 400, "invalid")
    assert Reaction.objects.count() == 0


def test_a_reaction_without_emoji_is_400(chat):
    sent = posted(chat.a, chat.room, "react to me")
    error_of(chat.b.post(f"/api/messages/{sent['id']}/reactions", {}), 400, "invalid")


def test_reacting_twice_is_one_reaction(chat):
    from rooms.models import Reaction

    sent = posted(chat.a, chat.room, "react to me")
    react(chat.b, sent["id"], "👍")
    second = react(chat.b, sent["id"], ":thumbsup:")
    assert second.status_code == 200
    assert reactions_of(second.json()["message"]) == [("👍", [chat.bob.id])]
    assert Reaction.objects.count() == 1


def test_reactions_come_in_the_order_first_added_and_users_in_the_order_they_reacted(chat):
    sent = posted(chat.a, chat.room, "react to me")
    react(chat.c, sent["id"], "🎉")
    react(chat.b, sent["id"], "👍")
    react(chat.a, sent["id"], "👍")
    last = react(chat.b, sent["id"], "🎉").json()["message"]
    assert reactions_of(last) == [("🎉", [chat.cy.id, chat.bob.id]), ("👍", [chat.bob.id, chat.ana.id])]


def test_a_reaction_reaches_members_as_an_event(chat, feed):
    sent = posted(chat.a, chat.room, "react to me")
    ana_feed, eve_feed = feed(chat.ana), feed(chat.eve)
    react(chat.b, sent["id"], ":thumbsup:")
    [event] = ana_feed.take("reaction")
    assert event == {
        "type": "reaction", "room": chat.room.slug, "message_id": sent["id"], "emoji": "👍",
        "user": {"id": chat.bob.id, "display_name": name_of(chat.bob), "is_bot": False}, "action": "added",
    }
    assert eve_feed.take("reaction") == []


@pytest.mark.parametrize("emoji", ["👍", "❤️", "👨\u200d👩\u200d👧", "🇫🇷"])
def test_removing_a_reaction_is_204_and_an_event(chat, feed, emoji):
    sent = posted(chat.a, chat.room, "react to me")
    react(chat.b, sent["id"], emoji)
    react(chat.c, sent["id"], emoji)
    ana_feed = feed(chat.ana)
    response = unreact(chat.b, sent["id"], emoji)
    assert response.status_code == 204, response.content
    assert reactions_of(get(chat.a, sent["id"]).json()["message"]) == [(emoji, [chat.cy.id])]
    [event] = ana_feed.take("reaction")
    assert (event["action"], event["emoji"], event["user"]["id"], event["message_id"]) == (
        "removed", emoji, chat.bob.id, sent["id"])
    assert event["room"] == chat.room.slug


def test_removing_a_reaction_that_is_not_there_is_204_and_no_event(chat, feed):
    sent = posted(chat.a, chat.room, "react to me")
    react(chat.c, sent["id"], "👍")
    ana_feed = feed(chat.ana)
    assert unreact(chat.b, sent["id"], "👍").status_code == 204  # Bob never reacted
    assert unreact(chat.b, sent["id"], "🎉").status_code == 204  # nobody did
    assert ana_feed.take("reaction") == []
    assert reactions_of(get(chat.a, sent["id"]).json()["message"]) == [("👍", [chat.cy.id])]


def test_the_last_user_removing_an_emoji_removes_its_entry(chat):
    sent = posted(chat.a, chat.room, "react to me")
    react(chat.b, sent["id"], "👍")
    react(chat.b, sent["id"], "🎉")
    unreact(chat.b, sent["id"], "👍")
    assert reactions_of(get(chat.a, sent["id"]).json()["message"]) == [("🎉", [chat.bob.id])]


def test_a_non_member_of_a_public_room_may_read_but_not_react(chat):
    sent = posted(chat.a, chat.room, "react to me")
    error_of(react(chat.e, sent["id"], "👍"), 403, "forbidden")
    error_of(react(chat.s, sent["id"], "👍"), 403, "forbidden")  # staff too: reacting is for members
    assert get(chat.e, sent["id"]).json()["message"]["reactions"] == []


def test_a_reaction_on_a_missing_message_is_404(chat):
    error_of(react(chat.a, 10**9, "👍"), 404, "not_found")
    error_of(unreact(chat.a, 10**9, "👍"), 404, "not_found")


def test_deleting_a_message_deletes_its_reactions(chat):
    from rooms.models import Reaction

    sent = posted(chat.a, chat.room, "react to me")
    react(chat.b, sent["id"], "👍")
    react(chat.c, sent["id"], "🎉")
    delete(chat.a, sent["id"])
    assert Reaction.objects.count() == 0


# Ephemeral rooms ---------------------------------------------------------------------------------------


def test_an_ephemeral_message_can_be_reacted_to_edited_and_deleted_while_it_is_kept(chat, room_factory):
    room = room_factory(chat.ana, "fleeting", is_ephemeral=True)
    services.room_join(room=room, user=chat.bob)
    first = posted(chat.a, room, "now you see me")
    assert react(chat.b, first["id"], "👍").status_code == 200
    edited = edit(chat.a, first["id"], "now you still see me")
    assert edited.status_code == 200, edited.content
    assert reactions_of(edited.json()["message"]) == [("👍", [chat.bob.id])]
    assert delete(chat.a, first["id"]).status_code == 204
    assert history(chat.b, room) == []  # ephemeral rooms keep no history


def test_the_ephemeral_purge_takes_the_message_and_its_reactions(chat, room_factory, settings):
    from rooms import retention
    from rooms.models import Reaction

    room = room_factory(chat.ana, "fleeting", is_ephemeral=True)
    services.room_join(room=room, user=chat.bob)
    sent = posted(chat.a, room, "gone soon")
    react(chat.b, sent["id"], "👍")
    react(chat.a, sent["id"], "🎉")
    retention.purge_transient(now=timezone.now() + timedelta(seconds=settings.PARLEY_EPHEMERAL_SECONDS + 1))
    assert not Message.objects.filter(id=sent["id"]).exists()
    assert Reaction.objects.count() == 0
    error_of(get(chat.b, sent["id"]), 404, "not_found")
    error_of(edit(chat.a, sent["id"], "still here?"), 404, "not_found")
    error_of(react(chat.b, sent["id"], "❤️"), 404, "not_found")
    error_of(delete(chat.a, sent["id"]), 404, "not_found")
    assert Reaction.objects.count() == 0


# Retention ---------------------------------------------------------------------------------------------


def test_the_retention_purge_takes_reactions_and_mentions_with_the_message(chat, room_factory):
    from rooms.models import Mention, Reaction

    room = room_factory(chat.ana, "short memory", retention_messages=1)
    services.room_join(room=room, user=chat.bob)
    old = posted(chat.a, room, f"old {mention(chat.bob)}")
    react(chat.b, old["id"], "👍")
    new = posted(chat.a, room, f"new {mention(chat.bob)}")
    react(chat.b, new["id"], "🎉")
    call_command("purge_messages", verbosity=0)
    assert not Message.objects.filter(id=old["id"]).exists()
    assert not Reaction.objects.filter(message_id=old["id"]).exists()
    assert not Mention.objects.filter(message_id=old["id"]).exists()
    assert Reaction.objects.filter(message_id=new["id"]).count() == 1
    assert Mention.objects.filter(message_id=new["id"]).count() == 1
    assert listed_room(chat.b, room)["mention_count"] == 1


# Rate limits -------------------------------------------------------------------------------------------


@pytest.fixture
def limits_on(settings, monkeypatch):
    """Rate limits on (as tests/test_ratelimit.py does), generous for everything but what a test narrows."""
    from parley import ratelimit

    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_TRUSTED_PROXIES = 0
    clock = {"now": 1_800_000_010.0}  # 10 s into a minute window: three quick calls stay in one window
    monkeypatch.setattr(ratelimit, "clock", lambda: clock["now"])
    ratelimit.reset_local()
    yield settings
    ratelimit.reset_local()


def test_the_third_reaction_in_the_window_is_429(chat, limits_on):
    limits_on.PARLEY_RATE_REACT = (2, 60)
    sent = posted(chat.a, chat.room, "react to me")
    assert react(chat.b, sent["id"], "👍").status_code == 200
    assert react(chat.b, sent["id"], "❤️").status_code == 200
    response = react(chat.b, sent["id"], "🎉")
    error_of(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1
    assert react(chat.c, sent["id"], "🎉").status_code == 200  # per user


def test_edits_and_deletes_share_one_limit(chat, limits_on):
    limits_on.PARLEY_RATE_EDIT = (2, 60)
    sent = posted(chat.a, chat.room, "one")
    assert edit(chat.a, sent["id"], "two").status_code == 200
    assert edit(chat.a, sent["id"], "three").status_code == 200
    error_of(delete(chat.a, sent["id"]), 429, "rate_limited")
    assert get(chat.a, sent["id"]).status_code == 200


# Query counts ------------------------------------------------------------------------------------------


def fill(chat, room, count):
    """`count` messages, each a reply to the one before, mentioning Bob, with two reactions."""
    previous = None
    for n in range(count):
        extra = {"reply_to": previous} if previous else {}
        message = posted(chat.a, room, f"message {n} for {mention(chat.bob)}", **extra)
        react(chat.b, message["id"], "👍")
        react(chat.c, message["id"], "🎉" if n % 2 else "👍")
        previous = message["id"]


def history_queries(client, room):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "200"})
    assert response.status_code == 200
    return len(queries), response.json()["messages"]


def test_history_with_reactions_and_replies_costs_the_same_queries_for_5_and_50_messages(chat, room_factory):
    small, large = room_factory(chat.ana, "small"), room_factory(chat.ana, "large")
    for room in (small, large):
        for user in (chat.bob, chat.cy):
            services.room_join(room=room, user=user)
    fill(chat, small, 5)
    fill(chat, large, 50)
    few, few_messages = history_queries(chat.b, small)
    many, many_messages = history_queries(chat.b, large)
    assert len(few_messages) == 5 and len(many_messages) == 50
    assert all(m["reactions"] and m["mentions"] == [chat.bob.id] for m in many_messages)
    assert all(m["reply_to"] for m in many_messages[1:])
    assert few == many, f"{few} queries for 5 messages, {many} for 50"

