"""The browser client in a real Chromium against a real gunicorn + gevent server.

Each person has their own browser context (their own cookies) and signs up
through the HTML register page, which also logs them in; people who only need
the API use it from that context (session cookie + CSRF header, as API.md
allows), so each person costs one password hash. Every wait is on a condition
in the page (Playwright's expect), never a fixed sleep. One Chromium serves the
module; each test gets its own server (live_server_url) and fresh people.

Debian's chromium is used (see the Makefile's system-deps); Playwright never
downloads a browser here.
"""
import json
import re
import uuid

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.live import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 10_000  # the longest a condition may take; live delivery takes well under a second
SCREENSHOT = "/tmp/parley-chat.png"

LOADED = re.compile(r"No messages yet|beginning of the history|Load older messages")  # the history note
MESSAGES = "#messages li.message"  # pending copies included
CONFIRMED = "#messages li.message[data-id]"


@pytest.fixture(scope="module")
def browser():
    playwright = sync_playwright().start()
    expect.set_options(timeout=WAIT_MS)
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        expect.set_options(timeout=5_000)
        playwright.stop()


class Person:
    """One signed-up person: their page, and the JSON API spoken with their session."""

    def __init__(self, page, base_url, name):
        self.page = page
        self.base_url = base_url
        self.name = name

    def api(self, method, path, data=None):
        csrf = next(c["value"] for c in self.page.context.cookies() if c["name"] == "csrftoken")
        response = self.page.request.fetch(
            self.base_url + path, method=method, data=json.dumps(data or {}),
            headers={"Content-Type": "application/json", "X-CSRFToken": csrf},
        )
        body = response.body()
        return response.status, json.loads(body) if body else None

    def create_room(self):
        status, body = self.api("POST", "/api/rooms", {"name": f"Room {uuid.uuid4().hex[:8]}"})
        assert status == 201, body
        return body["room"]

    def join(self, slug):
        status, body = self.api("POST", f"/api/rooms/{slug}/join")
        assert status == 200, body

    def post_message(self, slug, text):
        status, body = self.api("POST", f"/api/rooms/{slug}/messages", {"body": text})
        assert status == 201, body
        return body["message"]

    def open_room(self, slug, title):
        """Open a room's chat page; return once its history is shown (the poll took its cursor before it)."""
        self.page.goto(f"{self.base_url}/rooms/{slug}/")
        expect(self.page.locator("#room-title")).to_have_text(title)
        expect(self.page.locator("#messages .history-note")).to_have_text(LOADED)

    def send(self, text):
        """Write in the composer and press Enter, as a person does."""
        self.page.locator("#composer").fill(text)
        self.page.locator("#composer").press("Enter")


@pytest.fixture
def sign_up(browser, live_server_url):
    """Register a person through the HTML page in a fresh browser context.

    Uncaught script errors on any of the test's pages fail the test. The contexts
    close before the server stops (this fixture depends on it), so no long poll
    holds the server's graceful shutdown.
    """
    contexts, errors = [], []

    def register(first_name, last_name="Live"):
        context = browser.new_context(viewport={"width": 1000, "height": 640})
        contexts.append(context)
        return register_in(context, live_server_url, first_name, last_name, errors)

    yield register
    for context in contexts:
        context.close()
    assert not errors, errors


def register_in(context, base_url, first_name, last_name, errors):
    """Register through the HTML page in `context`; the page's uncaught script errors go to `errors`."""
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(f"[{first_name}] {error}"))
    page.goto(base_url + "/register/")
    page.fill("#id_email", f"{first_name.lower()}-{uuid.uuid4().hex[:10]}@example.com")
    page.fill("#id_first_name", first_name)
    page.fill("#id_last_name", last_name)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/rooms/")
    return Person(page, base_url, f"{first_name} {last_name}")


def message_ids(page):
    return [int(i) for i in page.locator(CONFIRMED).evaluate_all("items => items.map(li => li.dataset.id)")]


# 1. issue 2: live messages in an open room -----------------------------------------------


@pytest.mark.browser
@pytest.mark.server
def test_two_people_in_one_room_see_each_others_messages_live_and_their_own_once(sign_up, live_server_url):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    a, b = ana.page, ben.page

    # Ana creates a room on the rooms page (which takes her into it); Ben joins it there.
    name = f"General {uuid.uuid4().hex[:8]}"
    a.fill("#id_name", name)
    a.click("form.create-room button[type=submit]")
    a.wait_for_url(re.compile(r"/rooms/[^/]+/$"))
    slug = a.url.rstrip("/").rsplit("/", 1)[-1]
    b.goto(live_server_url + "/rooms/")
    b.locator(f".room-card[data-slug='{slug}'] button[type=submit]").click()
    b.wait_for_url(a.url)
    for page in (a, b):
        expect(page.locator("#room-title")).to_have_text(name)
        expect(page.locator("#messages .history-note")).to_have_text("No messages yet. Say hello!")
        page.evaluate("window.parleyTestMarker = 'not reloaded'")

    ana.send("Hello Ben")
    expect(b.locator(f"{CONFIRMED} .body")).to_have_text(["Hello Ben"])
    expect(b.locator(f"{CONFIRMED} .author")).to_have_text([ana.name])

    ben.send("Hi Ana")
    expect(a.locator(f"{CONFIRMED} .body")).to_have_text(["Hello Ben", "Hi Ana"])
    expect(a.locator(f"{CONFIRMED} .author")).to_have_text([ana.name, ben.name])
    a.screenshot(path=SCREENSHOT)  # for a person to look at: the chat page with two messages

    ana.send("How are you?")
    expect(b.locator(f"{CONFIRMED} .body")).to_have_text(["Hello Ben", "Hi Ana", "How are you?"])

    # Events arrive in order per room, so each page has by now had the event for its own
    # first message (it came before a message that page shows): the optimistic copy and
    # the event made one message, and nothing is left pending.
    for page in (a, b):
        expect(page.locator(f"{MESSAGES} .body")).to_have_text(["Hello Ben", "Hi Ana", "How are you?"])
        expect(page.locator("#messages li.message.pending")).to_have_count(0)
        ids = message_ids(page)
        assert ids == sorted(set(ids)) and len(ids) == 3, ids
        client_ids = page.locator(CONFIRMED).evaluate_all("items => items.map(li => li.dataset.clientId)")
        assert all(client_ids), client_ids  # the page's sends carried a client_id
        assert page.evaluate("window.parleyTestMarker") == "not reloaded"
    assert message_ids(a) == message_ids(b)


# 2. issue 4: typing and "seen by" in a direct message -----------------------------------


def open_dm_from_people(person, other):
    """Open the DM with `other` by clicking them on the People page."""
    page = person.page
    page.goto(person.base_url + "/people/")
    page.locator("#directory-list button[data-user-id]", has_text=other.name).click()
    page.wait_for_url(re.compile(r"/rooms/[^/]+/$"))
    expect(page.locator("#room-title")).to_have_text(other.name)
    expect(page.locator("#room-badges")).to_contain_text("Direct message")
    expect(page.locator("#messages .history-note")).to_have_text(LOADED)


# Delay the page's typing notices by 800 ms on their way out, as a slow network path might.
SLOW_TYPING_NOTICES = """() => {
  const fetch = window.fetch;
  window.fetch = (url, init) => String(url).endsWith('/typing')
    ? new Promise((resolve) => setTimeout(resolve, 800)).then(() => fetch(url, init))
    : fetch(url, init);
}"""


@pytest.mark.browser
@pytest.mark.server
def test_a_dm_shows_typing_then_the_message_then_seen_by(sign_up):
    cara, dan = sign_up("Cara", "Cole"), sign_up("Dan", "Diaz")
    open_dm_from_people(cara, dan)
    open_dm_from_people(dan, cara)
    assert cara.page.url == dan.page.url  # the one DM room of the two

    expect(dan.page.locator("#typing")).to_have_text("")
    cara.page.locator("#composer").press_sequentially("Are you there?")
    expect(dan.page.locator("#typing")).to_have_text(f"{cara.name} is typing…")
    expect(cara.page.locator("#typing")).to_have_text("")  # not told of her own typing

    cara.page.locator("#composer").press("Enter")
    expect(dan.page.locator(f"{CONFIRMED} .body")).to_have_text(["Are you there?"])
    expect(dan.page.locator("#typing")).to_have_text("")  # the message ends the typing line

    # Dan has the DM open and in view, so his page marks it read, and Cara's says so
    # under her (newest) message.
    expect(cara.page.locator(f"{CONFIRMED}:last-child .seen-by")).to_have_text(f"Seen by {dan.name}")
    expect(cara.page.locator(".seen-by")).to_have_count(1)
    expect(dan.page.locator(".seen-by")).to_have_count(0)  # shown only under one's own messages

    # Dan answers at once, and his typing notice is slower on the network than his message
    # (HTTP keeps no order between two requests). Cara must not then see "Dan is typing…"
    # for seconds after his answer.
    dan.page.evaluate(SLOW_TYPING_NOTICES)
    with dan.page.expect_request_finished(lambda request: request.url.endswith("/typing")):
        dan.send("Yes, here")
    expect(cara.page.locator(f"{CONFIRMED} .body")).to_have_text(["Are you there?", "Yes, here"])
    # The typing notice is on the server now; Cara's next message comes after it in her
    # stream, so once her page shows that message it has had the notice too.
    cara.post_message(cara.page.url.rstrip("/").rsplit("/", 1)[-1], "Good")
    expect(cara.page.locator(f"{CONFIRMED} .body")).to_have_text(["Are you there?", "Yes, here", "Good"])
    assert cara.page.locator("#typing").text_content() == ""


# 2b. issue 10: the composer's limit is the server's -------------------------------------


@pytest.mark.browser
@pytest.mark.server
@pytest.mark.parametrize("live_server_env", [{"PARLEY_MAX_MESSAGE_CHARS": 50}])
def test_the_composer_refuses_a_message_over_the_servers_configured_length(sign_up):
    gil = sign_up("Gil")
    room = gil.create_room()
    gil.open_room(room["slug"], room["name"])

    gil.send("x" * 51)
    expect(gil.page.locator("#toast")).to_have_text("Messages can be at most 50 characters.")
    expect(gil.page.locator("#char-count")).to_have_text("51 / 50")
    expect(gil.page.locator("#char-count")).to_have_class(re.compile(r"\bover\b"))
    expect(gil.page.locator("#composer")).to_have_value("x" * 51)  # kept, to shorten
    expect(gil.page.locator(MESSAGES)).to_have_count(0)

    gil.send("é" * 50)  # characters, not bytes
    expect(gil.page.locator(f"{CONFIRMED} .body")).to_have_text(["é" * 50])


# 3. unread counts for rooms that are not open -------------------------------------------


@pytest.mark.browser
@pytest.mark.server
def test_a_message_in_another_room_raises_its_unread_badge_and_the_tab_title(sign_up):
    finn, eve = sign_up("Finn"), sign_up("Eve")
    here, elsewhere = finn.create_room(), finn.create_room()
    eve.join(here["slug"])
    eve.join(elsewhere["slug"])

    eve.open_room(here["slug"], here["name"])
    page = eve.page
    badge = page.locator(f"#room-list [data-slug='{elsewhere['slug']}'] .unread")
    here_badge = page.locator(f"#room-list [data-slug='{here['slug']}'] .unread")
    expect(page.locator(f"#room-list [data-slug='{elsewhere['slug']}']")).to_be_visible()
    expect(badge).to_be_hidden()
    expect(page).to_have_title("Parley")

    finn.post_message(elsewhere["slug"], "Over here")
    expect(badge).to_be_visible()
    expect(badge).to_have_text("1")
    expect(page).to_have_title("(1) Parley")
    expect(here_badge).to_be_hidden()

    finn.post_message(elsewhere["slug"], "Still over here")
    expect(badge).to_have_text("2")
    expect(page).to_have_title("(2) Parley")

    # Opening the room reads it: its badge and the count in the title go.
    page.locator(f"#room-list [data-slug='{elsewhere['slug']}'] a").click()
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Over here", "Still over here"])
    expect(page).to_have_title("Parley")
    expect(badge).to_be_hidden()


# 4. reconnecting after the network drops -------------------------------------------------


@pytest.mark.browser
@pytest.mark.server
def test_messages_sent_while_offline_arrive_once_and_in_order_after_reconnecting(sign_up):
    hal, gil = sign_up("Hal"), sign_up("Gil")
    room = hal.create_room()
    slug = room["slug"]
    gil.join(slug)
    gil.open_room(slug, room["name"])
    page = gil.page
    status = page.locator("#connection-status")
    bodies = page.locator(f"{MESSAGES} .body")
    reconnecting = re.compile(r"\breconnecting\b")

    hal.post_message(slug, "one")
    hal.post_message(slug, "two")
    expect(bodies).to_have_text(["one", "two"])
    expect(status).to_be_hidden()

    page.context.set_offline(True)
    expect(status).to_have_class(reconnecting)
    expect(status).to_be_visible()
    for text in ("three", "four", "five"):
        hal.post_message(slug, text)
    assert bodies.all_text_contents() == ["one", "two"]  # nothing came through meanwhile

    page.context.set_offline(False)
    expect(bodies).to_have_text(["one", "two", "three", "four", "five"])
    expect(status).not_to_have_class(reconnecting)
    expect(status).to_be_hidden()

    # A duplicate of anything above would come before this one (delivery is ordered per room).
    hal.post_message(slug, "six")
    expect(bodies).to_have_text(["one", "two", "three", "four", "five", "six"])
    ids = message_ids(page)
    assert ids == sorted(set(ids)) and len(ids) == 6, ids
