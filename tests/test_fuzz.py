"""Property-based tests (hypothesis): odd message bodies, Markdown, reactions, query parameters and uploads never give a 500.

A body the server accepts comes back exactly as sent, from the send answer,
the history, the event stream and the database; a body it refuses is a 400
and leaves nothing behind. Examples share one database (hypothesis runs them
inside the test's transaction), so each looks only at what it added.
"""
import json
import string

import pytest
from hypothesis import HealthCheck, example, given, settings as hypothesis_settings, strategies as st

from rooms.models import Message
from tests.htmltags import Tags

pytestmark = pytest.mark.django_db

FUZZ = hypothesis_settings(
    max_examples=100, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# The query-parameter tests are cheaper per idea and many-fold per example: fewer examples.
FUZZ_QUERY = hypothesis_settings(FUZZ, max_examples=60)
FUZZ_RAW = hypothesis_settings(FUZZ, max_examples=30)
MAX = 4000

# Characters that break naive code: controls, direction marks and overrides,
# line and paragraph separators, zero-width and BOM, combining marks, astral
# emoji, non-characters, and lone surrogates (valid in JSON, not in UTF-8).
TRICKY = (
    [chr(c) for c in range(0, 32)] + ["\x7f", "\x85", "\xa0"]
    + ["\u200e", "\u200f", "\u202a", "\u202b", "\u202d", "\u202e", "\u2066", "\u2067", "\u2069", "\u061c"]
    + ["\u2028", "\u2029", "\u200b", "\u200d", "\ufeff", "\u0301", "\u20dd", "\ufffd", "\uffff", "\U0010ffff"]
    + ["😀", "👩\u200d👩\u200d👧", "🇫🇷", "\U0001d54f", "ß", "İ", "ﷺ", "", "<", ">", "&", '"', "'", "\\", "/"]
    + ["\ud800", "\udfff", "\udbff\udc00"]
)
any_char = st.characters(exclude_categories=())  # every code point, surrogates included
bodies = st.one_of(
    st.text(any_char, max_size=60),
    st.lists(st.sampled_from(TRICKY), max_size=40).map("".join),
    st.lists(st.sampled_from(TRICKY) | any_char, max_size=30).map("".join),
    # The length edge, in one-unit and in astral (two UTF-16 units, four UTF-8 bytes) characters.
    st.tuples(st.sampled_from(["a", "é", "😀", "\u202e", " "]), st.integers(MAX - 3, MAX + 3), st.sampled_from(["", "x", "😀"]))
    .map(lambda t: (t[0] * t[1])[: t[1] - len(t[2])] + t[2]),
)


def acceptable(body):
    """What the API promises to store: 1 to 4000 characters, not all white space, storable text."""
    if "\x00" in body or not body.strip() or len(body) > MAX:
        return False
    try:
        body.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.fixture
def chat(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, "fuzz")
    client = api(ana)
    cursor = client.get("/api/events").json()["cursor"]
    return {"client": client, "room": room, "cursor": cursor}


@FUZZ
@given(body=bodies)
@example(body="")
@example(body=" \t\r\n\u3000\u2028")
@example(body="\x00")
@example(body="a" * MAX)
@example(body="😀" * MAX)
@example(body="a" * (MAX + 1))
@example(body="\u202egnp.exe")
@example(body="\ud83d")
@example(body="\x1c\x1d\x1e\x1f")
def test_a_message_body_comes_back_identical_or_is_refused_and_not_stored(chat, body):
    client, room = chat["client"], chat["room"]
    count = Message.objects.count()
    raw = json.dumps({"body": body})  # ASCII-escaped JSON, so lone surrogates can be sent at all
    body = json.loads(raw)["body"]  # what the server reads: JSON joins an escaped surrogate pair into one character
    response = client.post(f"/api/rooms/{room.slug}/messages", raw=raw)
    assert response.status_code in (201, 400), response.content[:300]
    assert response["Content-Type"] == "application/json"
    if not acceptable(body):
        assert response.status_code == 400, repr(body[:80])
        assert response.json()["error"]["code"] == "invalid"
        assert Message.objects.count() == count
        return
    assert response.status_code == 201, (repr(body[:80]), response.content[:300])
    sent = response.json()["message"]
    assert sent["body"] == body
    assert Message.objects.get(id=sent["id"]).body == body
    history = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "1"}).json()["messages"]
    assert [m["body"] for m in history] == [body]
    answer = client.get("/api/events", {"cursor": chat["cursor"], "timeout": "0"}).json()
    chat["cursor"] = answer["cursor"]
    delivered = [e["message"]["body"] for e in answer["events"] if e["type"] == "message"]
    assert delivered == [body]
    assert response.content.decode("utf-8")  # the answer is valid UTF-8


# Query parameters ------------------------------------------------------------------------

numberish = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.text(st.sampled_from("-+0123456789 .e_x"), max_size=8),
    st.sampled_from(["", "-", "--5", "+5", " 5", "5 ", "1e3", "0x10", "٣", "²", "0", "00", "-0", "9" * 18, "9" * 19,
                     "NaN", "inf", "null", "true", "[]", "%", "\x00", "\ud800", "5\x00"]),
    st.text(any_char, max_size=12),
)
texts = st.one_of(st.text(any_char, max_size=30), st.lists(st.sampled_from(TRICKY), max_size=12).map("".join),
                  st.sampled_from(["&", "=", "%", "%%", "'", '"', "*", "(", ")", "OR 1=1", ":*", "!", "<->", "\\"]),
                  st.text(any_char, min_size=190, max_size=260))


def storable(value):
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def query(client, path, params):
    """Send params as the client would, or as a raw query string when they are not valid UTF-8."""
    if all(storable(v) for v in params.values()):
        return client.get(path, params)
    from urllib.parse import quote

    raw = "&".join(f"{k}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in params.items())
    return client.get(f"{path}?{raw}")


def small_int(raw, minimum, maximum):
    """What the API accepts for an integer parameter: plain ASCII digits (an optional minus), in range."""
    body = raw[1:] if raw.startswith("-") else raw
    if not raw.isascii() or not body.isdigit() or len(raw) > 18:
        return None
    value = int(raw)
    return value if minimum <= value <= maximum else None


@pytest.fixture
def reader(api, make_user, room_factory, settings):
    settings.PARLEY_POLL_TIMEOUT_MAX = 0  # valid timeouts answer at once
    ana = make_user("Ana")
    room = room_factory(ana, "fuzz")
    from rooms import messaging

    for n in range(3):
        messaging.message_post(room=room, author=ana, body=f"message {n} fuzz")
    return {"client": api(ana), "room": room}


def assert_json_4xx_or_ok(response):
    assert response.status_code < 500, response.content[:300]
    assert response["Content-Type"] == "application/json", response.content[:300]


@FUZZ_QUERY
@given(before=numberish, limit=numberish)
@example(before="--5", limit="5")
@example(before="1", limit="200")
@example(before="0", limit="201")
def test_history_parameters(reader, before, limit):
    response = query(reader["client"], f"/api/rooms/{reader['room'].slug}/messages", {"before": before, "limit": limit})
    assert_json_4xx_or_ok(response)
    good = (before == "" or small_int(before, 1, 10**18) is not None) and (
        limit == "" or small_int(limit, 1, 200) is not None)
    assert response.status_code == (200 if good else 400), (before, limit, response.content[:200])


# A poll that finds nothing closes its database connection before it waits (rooms/polling.py);
# inside a test's wrapping transaction that would end the test's connection on PostgreSQL.
@pytest.mark.django_db(transaction=True)
@FUZZ_QUERY
@given(cursor=numberish, timeout=numberish)
@example(cursor="1", timeout="-1")
@example(cursor="99999999999999999", timeout="0")
def test_events_parameters(reader, cursor, timeout):
    response = query(reader["client"], "/api/events", {"cursor": cursor, "timeout": timeout})
    assert_json_4xx_or_ok(response)
    if timeout != "" and small_int(timeout, 0, 10**18) is None:
        assert response.status_code == 400
    elif cursor == "":
        assert response.status_code == 200
    else:
        assert response.status_code in (200, 400, 410)
        if not (cursor.isascii() and cursor.isdigit()):
            assert response.status_code == 400


@FUZZ_QUERY
@given(q=texts, room=st.one_of(st.just(""), st.just("fuzz"), texts), limit=numberish)
@example(q="fuzz", room="fuzz", limit="")
@example(q="\x00", room="", limit="")
@example(q="'", room="", limit="")
@example(q="a & b | !c <-> d:*", room="", limit="")
def test_search_parameters(reader, q, room, limit):
    response = query(reader["client"], "/api/search", {"q": q, "room": room, "limit": limit})
    assert_json_4xx_or_ok(response)
    if response.status_code == 200:
        for message in response.json()["messages"]:
            assert message["room"] == reader["room"].slug


@FUZZ_QUERY
@given(q=texts)
@example(q="%")
@example(q="_")
def test_directory_parameters(reader, q):
    response = query(reader["client"], "/api/users", {"q": q})
    assert_json_4xx_or_ok(response)
    if storable(q) and "\x00" not in q and len(q) <= 100:
        assert response.status_code == 200


@FUZZ_RAW
@given(raw=st.text(st.sampled_from(string.printable + "%\x00é😀"), max_size=80))
@example(raw="cursor=%ff%fe&timeout=%00")
@example(raw="limit=%ud800")
@example(raw="&&&==&=")
def test_raw_query_strings(reader, raw):
    """Whatever bytes follow the ?, including broken percent escapes."""
    client = reader["client"]
    for path in (f"/api/rooms/{reader['room'].slug}/messages", "/api/events", "/api/search", "/api/users"):
        assert_json_4xx_or_ok(client.get(f"{path}?{raw}"))


# Markdown built to explode, against the renderer alone (rooms/markdown.py); the
# message endpoints will run the same bodies once they render.
HOSTILE_MARKDOWN = st.one_of(
    bodies,
    st.tuples(
        st.sampled_from([">", "> ", "- ", "1. ", "[", "[x](", "*", "_", "`", "~~", "@**", "<", "&#", "(", "\x00"]),
        st.integers(1, 4000),
    ).map(lambda t: (t[0] * t[1])[:MAX]),
    st.lists(st.sampled_from(TRICKY + ["**", "[x](javascript:alert(1))", "<script>", "```", "@**all**"]), max_size=200).map("".join),
)


@FUZZ
@given(body=HOSTILE_MARKDOWN)
@example(body=">" * MAX)
@example(body="[x](https://example.com/" + "a" * (MAX - 30) + ")")
def test_markdown_renders_hostile_bodies_into_the_allow_list(body):
    """Whatever the body, the rendered HTML holds only the contract's tags, and mentions only members."""
    from rooms.markdown import ALLOWED_TAGS, render

    result = render(body, members={1: "Ana", 2: "Bob"})
    for tag, attrs in Tags(result.html).tags:
        assert tag in ALLOWED_TAGS
        assert set(attrs) <= {"a": {"href", "rel", "target"}, "span": {"class", "data-user-id"}}.get(tag, set())
    assert set(result.mentions) <= {1, 2}


# Rich messages (issue 11): Markdown built to hurt, and reactions that are not emoji ----------------------

ALLOWED_TAGS = {"p", "br", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a", "span"}
SAFE_SCHEMES = ("http", "https", "mailto")
MARKDOWNISH = [
    "**", "*", "_", "__", "~~", "~", "`", "```", "```python\n", "~~~", "\n", "\n\n", "> ", ">>>> ", "- ", "* ",
    "1. ", "2) ", "# ", "#", "[", "]", "(", ")", "](", "![", "<", ">", "&", "&amp;", "&#x3C;", "&lt;", '"', "'",
    "\\", "|", "---", "    ", "\t", "@**", "@**all**", "@**Ana Fuzz**", "@**Nobody**", ":", "://",
    "http://", "https://example.com/", "mailto:a@b.c", "javascript:alert(1)", "JaVaScRiPt:", "data:text/html,",
    "vbscript:", "<script>", "</script>", "<img src=x onerror=alert(1)>", "<a href='javascript:x'>", "<svg/onload=1>",
    "<style>", "<iframe>", "<!--", "-->", "<![CDATA[", "&#106;avascript:", "\u202e", "\u200b", "😀", "\x00",
    "[x](javascript:alert(1))", "[x](https://e.com \"t\")", "<https://e.com>", "<javascript:alert(1)>",
    "www.example.com", "a@b.c", "\ud800",
]
markdown_bodies = st.one_of(
    st.lists(st.sampled_from(MARKDOWNISH), max_size=60).map("".join),
    st.lists(st.sampled_from(MARKDOWNISH) | st.text(any_char, max_size=3), max_size=40).map("".join),
    # Deep nesting and long runs of one construct.
    st.tuples(st.sampled_from(["> ", ">", "- ", "* ", "1. ", "[", "(", "**", "`", "~~", "<", "![", "  - ", "\t>"]),
              st.integers(1, 2000), st.sampled_from(["x", "", "[x](https://e.com)", "@**all**"]))
    .map(lambda t: (t[0] * t[1])[: MAX - len(t[2])] + t[2]),
    # Long links.
    st.integers(1, MAX - 40).map(lambda n: "https://example.com/" + "a" * n),
    st.integers(1, MAX - 40).map(lambda n: "[x](https://example.com/" + "(" * (n // 2) + ")"),
)


def assert_html_is_allowed(html):
    parsed = Tags(html)
    assert set(parsed.end_tags) <= ALLOWED_TAGS, html[:300]
    for tag, attrs in parsed.tags:
        assert tag in ALLOWED_TAGS, (tag, html[:300])
        for name, value in attrs.items():
            assert not name.startswith("on"), (name, html[:300])
            assert name not in ("style", "src", "srcdoc", "formaction"), (name, html[:300])
        if tag == "a" and attrs.get("href") is not None:
            assert attrs["href"].split(":", 1)[0].lower() in SAFE_SCHEMES, html[:300]
        if tag == "span" and attrs:
            assert attrs.get("class") == "mention", html[:300]


@pytest.fixture
def rich_chat(api, make_user, room_factory):
    ana = make_user("Ana", last_name="Fuzz")
    room = room_factory(ana, "rich fuzz")
    return {"client": api(ana), "room": room}


@FUZZ
@given(body=markdown_bodies)
@example(body=">" * (MAX - 1) + "x")  # nested quotes, as deep as a message allows
@example(body="> " * (MAX // 2))
@example(body="https://example.com/" + "a" * (MAX - 20))  # a 4,000-character link
@example(body="[x](" * (MAX // 4))
@example(body="*" * MAX)
@example(body="`" * MAX)
@example(body="<script>alert(1)</script>")
@example(body="[click](javascript:alert(1))")
@example(body="<img src=x onerror=alert(1)>")
@example(body="@**all** @**Ana Fuzz** `@**Ana Fuzz**`")
@example(body="- " * 1000 + "x")
def test_markdown_never_fails_and_renders_only_allowed_tags(rich_chat, body):
    client, room = rich_chat["client"], rich_chat["room"]
    raw = json.dumps({"body": body})
    response = client.post(f"/api/rooms/{room.slug}/messages", raw=raw)
    assert response.status_code in (201, 400), response.content[:300]
    assert response["Content-Type"] == "application/json"
    if response.status_code == 400:
        assert not acceptable(json.loads(raw)["body"]), repr(body[:80])
        return
    message = response.json()["message"]
    assert_html_is_allowed(message["html"])
    assert "<script" not in message["html"].lower()
    fetched = client.get(f"/api/messages/{message['id']}")
    assert fetched.status_code == 200 and fetched.json()["message"]["html"] == message["html"]
    # An edit renders again, through the same allow-list.
    edited = client.patch(f"/api/messages/{message['id']}", {"body": body[::-1] if body.strip() else "x"})
    assert edited.status_code in (200, 400), edited.content[:300]
    if edited.status_code == 200:
        assert_html_is_allowed(edited.json()["message"]["html"])


EMOJI_PARTS = [
    "👍", "🏽", "🏿", "\u200d", "\ufe0f", "\ufe0e", "\u20e3", "1", "#", "*", "🇫", "🇷", "🇺", "👨", "👩", "👧", "❤",
    "🏳", "🌈", "🏴", "\U000e0067", "\U000e007f", ":", "thumbsup", "+1", "heart", " ", "a", "\u0301", "\x00", "😀",
    "\ud83d", "©", "™", "↔", "☺", "✋", "🫠", "\U0001faff", "\U0010ffff", "%", "/", "?", "#", "..",
]
emoji_strings = st.one_of(
    st.lists(st.sampled_from(EMOJI_PARTS), max_size=8).map("".join),
    st.text(any_char, max_size=10),
    st.sampled_from(EMOJI_PARTS),
)


@pytest.fixture
def reaction_target(api, make_user, room_factory):
    ana = make_user("Ana")
    room = room_factory(ana, "reaction fuzz")
    from rooms import messaging

    message = messaging.message_post(room=room, author=ana, body="react to me")[0]
    return {"client": api(ana), "message": message}


@FUZZ
@given(emoji=emoji_strings)
@example(emoji="👍")
@example(emoji=":thumbsup:")
@example(emoji="👍👍")
@example(emoji="\u200d")
@example(emoji="🇫")
@example(emoji="\ud83d")
@example(emoji="/")
@example(emoji="..")
def test_reactions_never_fail(reaction_target, emoji):
    from urllib.parse import quote

    client, message = reaction_target["client"], reaction_target["message"]
    response = client.post(f"/api/messages/{message.id}/reactions", raw=json.dumps({"emoji": emoji}))
    assert response.status_code in (200, 400), response.content[:300]
    assert response["Content-Type"] == "application/json"
    encoded = quote(emoji.encode("utf-8", "surrogatepass"), safe="")
    assert client.client.delete(f"/api/messages/{message.id}/reactions/{encoded}").status_code < 500
    if response.status_code == 200:
        # What was stored can be taken back by its own spelling, URL-encoded in the path.
        for stored in [r["emoji"] for r in response.json()["message"]["reactions"]]:
            assert stored
            removed = client.client.delete(f"/api/messages/{message.id}/reactions/{quote(stored, safe='')}")
            assert removed.status_code == 204, (stored, removed.content[:200])
        assert client.get(f"/api/messages/{message.id}").json()["message"]["reactions"] == []


# Uploads ---------------------------------------------------------------------------------

FUZZ_UPLOAD = hypothesis_settings(FUZZ, max_examples=60)
upload_names = st.one_of(
    st.text(any_char, max_size=40),
    st.lists(st.sampled_from(TRICKY + [".", "..", "/", "\\", "\r\n", ";", "="]), max_size=20).map("".join),
    st.text(any_char, min_size=240, max_size=300),
)
# Random bytes, and the start of each image format followed by random bytes (broken images).
IMAGE_STARTS = [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<html>", b"%PDF-"]
upload_data = st.one_of(
    st.binary(max_size=600),
    st.tuples(st.sampled_from(IMAGE_STARTS), st.binary(max_size=400)).map(b"".join),
)


@pytest.fixture
def upload_chat(chat, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path
    return chat


def _media_files(settings):
    return {str(p) for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()} if settings.MEDIA_ROOT.exists() else set()


@FUZZ_UPLOAD
@given(name=upload_names, data=upload_data)
@example(name="", data=b"x")
@example(name="..", data=b"\x89PNG\r\n\x1a\n")
@example(name="a\x00b", data=b"")
@example(name="thumbnail", data=b"GIF89a")
def test_any_file_and_name_is_stored_or_refused_never_a_500(upload_chat, settings, name, data):
    from rooms.models import Upload

    client, room = upload_chat["client"], upload_chat["room"]
    before, rows = _media_files(settings), Upload.objects.count()
    # By hand, as any client may: the name goes into the header as it is (quotes, CR LF and all).
    body = (b'--B\r\nContent-Disposition: form-data; name="file"; filename="' + name.encode("utf-8", "surrogatepass")
            + b'"\r\nContent-Type: image/png\r\n\r\n' + data + b"\r\n--B--\r\n")
    response = client.client.post(
        f"/api/rooms/{room.slug}/uploads", body, content_type="multipart/form-data; boundary=B",
    )
    assert response.status_code in (201, 400), response.content[:300]
    assert response["Content-Type"] == "application/json"
    if response.status_code == 400:
        assert _media_files(settings) == before and Upload.objects.count() == rows
        return
    upload = response.json()["upload"]
    assert upload["size"] == len(data) > 0
    assert upload["name"] and "/" not in upload["name"] and "\\" not in upload["name"]
    assert all(c.isprintable() for c in upload["name"]) and len(upload["name"]) <= 200
    assert upload["url"].startswith(f"/files/{upload['id']}/")


@FUZZ_RAW
@given(body=st.one_of(
    st.binary(max_size=500),
    st.tuples(st.just(b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n"),
              st.binary(max_size=300), st.sampled_from([b"", b"\r\n--B--\r\n", b"\r\n--B", b"\r\n--B\r\n"])).map(b"".join),
), boundary=st.sampled_from(["B", "", "\x00", "a" * 80]))
def test_a_raw_multipart_body_never_gives_a_500(upload_chat, settings, body, boundary):
    client, room = upload_chat["client"], upload_chat["room"]
    response = client.client.post(
        f"/api/rooms/{room.slug}/uploads", body, content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert response.status_code in (201, 400, 413, 415), response.content[:300]
    assert response["Content-Type"] == "application/json"
