"""The five bugs of issue 14's walkthrough, in a real Chromium, at desktop size and at a 390x844 phone size.

1. Typing right after sending is shown at once.
2. A read the debounce still holds is not lost when the page goes away.
3. A link to a public room shows it read-only, with a Join button.
4. Toasts cover neither the composer nor the last message.
5. Send is disabled while the composer holds only white space.
"""
import time

import pytest
from playwright.sync_api import expect

from tests.live import wait_for
from tests.test_browser import CONFIRMED, LOADED, MESSAGES, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SIZES = {"desktop": {"width": 1000, "height": 640}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=list(SIZES))
def size(request):
    return SIZES[request.param]


def person(sign_up, size, first_name):
    someone = sign_up(first_name)
    someone.page.set_viewport_size(size)
    return someone


def unread_of(someone, slug):
    status, body = someone.api("GET", "/api/rooms")
    assert status == 200, body
    return next(room["unread_count"] for room in body["rooms"] if room["slug"] == slug)


def boxes_overlap(a, b):
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] \
        and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


# 1. Typing after sending -------------------------------------------------------------------------


def test_typing_right_after_sending_reaches_the_others_at_once(sign_up, size):
    alice, bob = person(sign_up, size, "Alice"), person(sign_up, size, "Bob")
    room = alice.create_room()
    bob.join(room["slug"])
    alice.open_room(room["slug"], room["name"])
    bob.open_room(room["slug"], room["name"])
    typing = alice.page.locator("#typing")
    composer = bob.page.locator("#composer")

    composer.press_sequentially("Lunch?")
    expect(typing).to_have_text(f"{bob.name} is typing…")
    composer.press("Enter")
    expect(alice.page.locator(f"{CONFIRMED} .body")).to_have_text(["Lunch?"])
    expect(typing).to_have_text("")  # the message ends the typing line

    # Bob's follow-up comes well within the server's 2 s and the client's 3 s: one key is enough.
    started = time.monotonic()
    composer.press_sequentially("o")
    expect(typing).to_have_text(f"{bob.name} is typing…", timeout=2000)
    shown_after = time.monotonic() - started
    assert shown_after < 1.0, f"Alice saw Bob typing {shown_after:.2f} s after his first key"


# 2. Unread state follows the screen ----------------------------------------------------------------


def test_a_message_read_just_before_leaving_the_page_stays_read(sign_up, size):
    alice, bob = person(sign_up, size, "Alice"), person(sign_up, size, "Bob")
    here, elsewhere = bob.create_room(), bob.create_room()
    alice.join(here["slug"])
    alice.join(elsewhere["slug"])
    alice.open_room(here["slug"], here["name"])
    page = alice.page

    # Time stands still in Alice's page: the read debounce (0.4 s) cannot run out before she leaves.
    page.clock.install()
    page.clock.pause_at(time.time() + 60)
    bob.post_message(here["slug"], "Are you there?")
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Are you there?"])  # seen: open, at the bottom
    page.goto(f"{alice.base_url}/rooms/{elsewhere['slug']}/")  # a full-page navigation
    expect(page.locator("#room-title")).to_have_text(elsewhere["name"])

    wait_for(lambda: unread_of(alice, here["slug"]) == 0, 5, "the message Alice saw is still unread")
    page.reload()
    expect(page.locator("#room-title")).to_have_text(elsewhere["name"])
    expect(page.locator(f"#room-list [data-slug='{here['slug']}']")).to_have_count(1)
    expect(page.locator(f"#room-list [data-slug='{here['slug']}'] .unread")).to_be_hidden()
    expect(page).to_have_title("Parley")


# 3. A public room's link, opened by a non-member --------------------------------------------------


def test_a_public_rooms_link_shows_it_read_only_with_a_join_button(sign_up, size):
    ana, bob = person(sign_up, size, "Ana"), person(sign_up, size, "Bob")
    room = ana.create_room()
    ana.post_message(room["slug"], "Welcome")
    ana.post_message(room["slug"], "Read the topic first")
    url = f"{bob.base_url}/rooms/{room['slug']}/"
    page = bob.page

    page.goto(url)
    expect(page.locator("#room-title")).to_have_text(room["name"])
    assert page.url == url  # not sent to the room list
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Welcome", "Read the topic first"])
    expect(page.locator("#composer-form")).to_be_hidden()  # read-only
    join = page.locator("#join-bar button", has_text="Join")
    expect(join).to_be_visible()
    page.locator(CONFIRMED).first.hover()
    expect(page.locator(f"{CONFIRMED} .message-actions").first).to_be_hidden()  # no reply, react or edit
    page.screenshot(path=f"/tmp/parley-visitor-{size['width']}x{size['height']}.png")  # for a person to look at

    join.click()
    expect(page.locator("#composer-form")).to_be_visible()
    expect(page.locator("#join-bar")).to_be_hidden()
    expect(page.locator("#leave-room")).to_be_visible()
    page.locator(CONFIRMED).first.hover()
    expect(page.locator(f"{CONFIRMED} .message-actions").first).to_be_visible()
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Welcome", "Read the topic first"])
    assert page.url == url
    bob.send("Hello, I just joined")
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["Welcome", "Read the topic first", "Hello, I just joined"])
    ana.open_room(room["slug"], room["name"])
    expect(ana.page.locator(f"{CONFIRMED} .body")).to_have_text(["Welcome", "Read the topic first", "Hello, I just joined"])


# 4. Toasts ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("messages", [2, 30])
def test_a_toast_covers_neither_the_composer_nor_the_last_message(sign_up, size, messages):
    ana = person(sign_up, size, "Ana")
    room = ana.create_room()
    for n in range(messages):
        ana.post_message(room["slug"], f"Message {n + 1}")
    ana.open_room(room["slug"], room["name"])
    page = ana.page
    last = page.locator(f"{CONFIRMED}").last
    expect(last.locator(".body")).to_have_text(f"Message {messages}")

    # Too long to send: the composer grows to its tallest, and a toast says why nothing was sent.
    page.locator("#composer").fill(("word " * 20 + "\n") * 50)
    page.locator("#composer").press("Enter")
    toast = page.locator("#toast")
    expect(toast).to_contain_text("at most")
    expect(last).to_be_in_viewport(ratio=1)  # still in sight, above the grown composer and below the toast
    toast_box = toast.bounding_box()
    page.screenshot(path=f"/tmp/parley-toast-{size['width']}x{size['height']}-{messages}.png")  # for a person to look at
    for name, locator in (("composer", page.locator("#composer-form")), ("last message", last)):
        box = locator.bounding_box()
        assert not boxes_overlap(toast_box, box), f"the toast {toast_box} covers the {name} {box}"
    for name, locator in (("composer", page.locator("#composer")), ("last message", last)):
        assert page.evaluate(
            "([toast, other]) => { const r = other.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.left + r.width / 2, r.top + Math.min(r.height / 2, 8));"
            " return !toast.contains(hit); }",
            [toast.element_handle(), locator.element_handle()],
        ), f"the toast is on top of the {name}"


# 5. White space only --------------------------------------------------------------------------------


def test_send_is_disabled_while_the_composer_holds_only_white_space(sign_up, size):
    ana = person(sign_up, size, "Ana")
    room = ana.create_room()
    ana.open_room(room["slug"], room["name"])
    page = ana.page
    composer, send = page.locator("#composer"), page.locator("#send")

    expect(send).to_be_disabled()  # empty
    composer.press_sequentially("  ")
    expect(send).to_be_disabled()
    composer.press("Shift+Enter")
    composer.press_sequentially("   ")
    expect(send).to_be_disabled()
    composer.press_sequentially("\u200b")  # a zero-width space: still nothing to see, and the server refuses it
    expect(send).to_be_disabled()
    composer.press("Enter")  # nothing happens, and nothing goes wrong
    expect(page.locator(MESSAGES)).to_have_count(0)
    expect(page.locator("#toast")).to_be_hidden()
    expect(page.locator("#messages .history-note")).to_have_text(LOADED)

    composer.press_sequentially("hi")
    expect(send).to_be_enabled()
    expect(composer).to_have_value("  \n   \u200bhi")
    composer.press("Backspace")
    composer.press("Backspace")
    expect(send).to_be_disabled()
    composer.press_sequentially("ok")
    send.click()
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["ok"])
    expect(composer).to_have_value("")
    expect(send).to_be_disabled()
