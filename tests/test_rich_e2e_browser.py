"""Rich messages end to end (issue 11): two people, two browser contexts, one real server.

The server's half of Part 2 (rooms/messaging.py, rooms/markdown.py) and the
browser's (static/js/parley/) were built apart against API.md; here they run
together. Alice and Bob each have their own context; what one does through
the page, the other sees live, without a reload, and a reload shows the same
from history. Every wait is on a condition in the page, never a sleep.
"""
import re

import pytest
from playwright.sync_api import expect

from tests.live import wait_for
from tests.test_browser import CONFIRMED, LOADED, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCREENSHOT = "/tmp/rich.png"


def alice_and_bob_in_a_room(sign_up):
    """Alice and Bob in a new room, both pages open on it."""
    alice, bob = sign_up("Alice", "Adams"), sign_up("Bob", "Brown")
    room = alice.create_room()
    bob.join(room["slug"])
    alice.open_room(room["slug"], room["name"])
    bob.open_room(room["slug"], room["name"])
    return alice, bob, room


def message(page, text):
    """The confirmed message whose body contains `text`."""
    return page.locator(CONFIRMED).filter(has=page.locator(".body", has_text=text))


def open_action_bar(page, text):
    """Hover the message (as a mouse user does) so its action bar shows; return the message."""
    item = message(page, text)
    item.hover()
    expect(item.locator(".message-actions")).to_be_visible()
    return item


def pick_reaction(item, name, emoji):
    """The reaction picker is open in `item`: search `name`, check `emoji` comes first, Enter."""
    search = item.locator(".emoji-picker input[type=search]")
    expect(search).to_be_focused()
    search.press_sequentially(name)
    expect(item.locator(".emoji-picker [role=option]").first).to_have_text(emoji)
    search.press("Enter")
    expect(item.locator(".emoji-picker")).to_have_count(0)


def chip(item, emoji):
    return item.locator(f".reactions .reaction[data-emoji='{emoji}']")


def server_counts(person, slug):
    """(unread_count, mention_count) of room `slug` for `person`, as the server has them."""
    status, body = person.api("GET", "/api/rooms")
    assert status == 200, body
    room = next(r for r in body["rooms"] if r["slug"] == slug)
    return room["unread_count"], room["mention_count"]


def no_dialogs(page):
    """Record every dialog the page opens (and dismiss it); return the list."""
    opened = []

    def on_dialog(dialog):
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


# 1. Formatting ---------------------------------------------------------------------------


def test_markdown_sent_by_alice_reaches_bob_formatted_live_and_html_in_it_stays_text(sign_up):
    alice, bob, _ = alice_and_bob_in_a_room(sign_up)
    dialogs = {"alice": no_dialogs(alice.page), "bob": no_dialogs(bob.page)}
    bob.page.evaluate("window.parleyTestMarker = 'not reloaded'")

    alice.send("**bold** and ~~gone~~ and a link https://example.com")
    body = message(bob.page, "bold").locator(".body")
    expect(body.locator("strong")).to_have_text("bold")
    expect(body.locator("del")).to_have_text("gone")
    link = body.locator("a")
    expect(link).to_have_text("https://example.com")
    expect(link).to_have_attribute("href", "https://example.com")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer")
    expect(link).to_have_attribute("target", "_blank")
    expect(body).to_have_text("bold and gone and a link https://example.com")

    alice.send("<script>alert(1)</script> <img src=x onerror=alert(2)>")
    for page in (alice.page, bob.page):
        body = message(page, "<script>").locator(".body")
        expect(body).to_have_text("<script>alert(1)</script> <img src=x onerror=alert(2)>")
        assert body.locator("script, img").count() == 0
    # A marker sent after the script: once it is shown, the script had its chance to run.
    alice.send("after the script")
    expect(message(bob.page, "after the script")).to_have_count(1)
    assert dialogs == {"alice": [], "bob": []}, dialogs
    assert bob.page.evaluate("window.parleyTestMarker") == "not reloaded"


# 2. Mentions -----------------------------------------------------------------------------


def test_a_mention_chosen_with_autocomplete_is_highlighted_for_bob_and_badged_in_his_other_room(sign_up):
    alice, bob, room = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    composer = a.locator("#composer")
    other = bob.create_room()  # his sidebar shows it live
    expect(b.locator(f"#room-list [data-slug='{other['slug']}']")).to_have_count(1)

    # In the room: Bob sees Alice's mention of him highlighted, live.
    composer.click()
    composer.press_sequentially("@Bo")
    expect(a.locator("#composer-form [role=listbox] [role=option] .completion-name")).to_have_text(["Bob Brown"])
    composer.press("Enter")
    expect(composer).to_have_value("@**Bob Brown** ")
    composer.press_sequentially("are you there?")
    composer.press("Enter")
    mention = message(b, "are you there?")
    expect(mention).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(mention.locator(".body .mention.me")).to_have_text("@Bob Brown")
    expect(mention.locator(".body")).to_have_text("@Bob Brown are you there?")
    # Alice's own copy shows the mention, not as one of her.
    expect(message(a, "are you there?")).not_to_have_class(re.compile(r"\bmentions-me\b"))
    expect(message(a, "are you there?").locator(".body .mention")).to_have_text("@Bob Brown")

    # Bob moves to another room at once, from his sidebar: the read of this one still reaches the server.
    other_link = b.locator(f"#room-list [data-slug='{other['slug']}'] a.room-link")
    other_link.click()
    expect(b.locator("#room-title")).to_have_text(other["name"])
    wait_for(lambda: server_counts(bob, room["slug"]) == (0, 0), 10, "Bob's read of the room he left was lost")

    # There, the next mention puts an "@" badge on the first room in his sidebar.
    item = b.locator(f"#room-list [data-slug='{room['slug']}']")
    expect(item.locator(".mention-badge")).to_be_hidden()
    composer.press_sequentially("@Bo")
    expect(a.locator("#composer-form [role=listbox]")).to_be_visible()
    composer.press("Enter")
    composer.press_sequentially("look here")
    composer.press("Enter")
    expect(item.locator(".mention-badge")).to_be_visible()
    expect(item.locator(".mention-badge")).to_have_attribute("aria-label", "1 unread mention")
    expect(item.locator(".unread")).to_have_text("1")

    # Opening the room clears it, and the message is highlighted there.
    item.locator("a.room-link").click()
    expect(b.locator("#room-title")).to_have_text(room["name"])
    expect(message(b, "look here")).to_have_class(re.compile(r"\bmentions-me\b"))
    expect(b.locator(f"#room-list [data-slug='{room['slug']}'] .mention-badge")).to_be_hidden()
    expect(b.locator(f"#room-list [data-slug='{room['slug']}'] .unread")).to_be_hidden()
    # The server agrees.
    wait_for(lambda: server_counts(bob, room["slug"]) == (0, 0), 10, "Bob's read never reached the server")


# 3. Reactions ------------------------------------------------------------------------------


def test_reactions_from_the_action_bar_and_chips_toggle_live_for_both(sign_up):
    alice, bob, _ = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    alice.send("React to this")

    item = open_action_bar(b, "React to this")
    item.locator(".message-actions [data-action=react]").click()
    pick_reaction(item, "thumbs", "👍")

    thumbs_a = chip(message(a, "React to this"), "👍")
    thumbs_b = chip(message(b, "React to this"), "👍")
    expect(thumbs_a.locator(".reaction-count")).to_have_text("1")
    expect(thumbs_a).to_have_attribute("aria-pressed", "false")
    expect(thumbs_a).to_have_attribute("title", "Bob Brown reacted with 👍")
    expect(thumbs_b).to_have_attribute("aria-pressed", "true")

    thumbs_a.click()
    for page, title in ((a, "You and Bob Brown reacted with 👍"), (b, "You and Alice Adams reacted with 👍")):
        thumb = chip(message(page, "React to this"), "👍")
        expect(thumb.locator(".reaction-count")).to_have_text("2")
        expect(thumb).to_have_attribute("title", title)
    expect(thumbs_a).to_have_attribute("aria-pressed", "true")

    thumbs_b.click()
    for page, title, mine in ((a, "You reacted with 👍", "true"), (b, "Alice Adams reacted with 👍", "false")):
        thumb = chip(message(page, "React to this"), "👍")
        expect(thumb.locator(".reaction-count")).to_have_text("1")
        expect(thumb).to_have_attribute("title", title)
        expect(thumb).to_have_attribute("aria-pressed", mine)

    thumbs_a.click()  # the last one gone: no chip left for anyone
    for page in (a, b):
        expect(message(page, "React to this").locator(".reactions .reaction:not(.add)")).to_have_count(0)


# 4. Edit --------------------------------------------------------------------------------------


def test_an_edit_from_the_action_bar_reaches_bob_live_and_up_arrow_edits_the_last_message(sign_up):
    alice, bob, _ = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    alice.send("Helo wrold")
    expect(message(b, "Helo wrold")).to_have_count(1)

    item = open_action_bar(a, "Helo wrold")
    item.locator(".message-actions [data-action=edit]").click()
    editor = a.locator("#messages .edit-input")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Helo wrold")
    editor.fill("Hello **world**")
    editor.press("Enter")
    expect(a.locator("#messages .editor")).to_have_count(0)

    for page in (a, b):
        edited = message(page, "Hello world")
        expect(edited.locator(".body")).to_have_text("Hello world")
        expect(edited.locator(".body strong")).to_have_text("world")
        expect(edited.locator(".edited")).to_have_text("(edited)")
    expect(message(b, "Helo wrold")).to_have_count(0)
    expect(b.locator(CONFIRMED)).to_have_count(1)

    # Up arrow in the empty composer edits her newest message, and Enter saves it.
    alice.send("Second one")
    expect(message(b, "Second one")).to_have_count(1)
    composer = a.locator("#composer")
    expect(composer).to_have_value("")
    composer.press("ArrowUp")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("Second one")
    editor.press("End")
    editor.press_sequentially(", changed")
    editor.press("Enter")
    expect(composer).to_be_focused()  # the focus goes back where it came from
    expect(message(b, "Second one, changed").locator(".edited")).to_have_text("(edited)")
    expect(message(b, "Hello world").locator(".edited")).to_have_count(1)


# 5. Reply and delete -----------------------------------------------------------------------


def test_a_reply_quotes_and_jumps_to_its_original_and_says_message_deleted_once_it_is_gone(sign_up):
    alice, bob, _ = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    alice.send("The *original* question")
    for n in range(12):  # enough to push the original out of view
        alice.send(f"filler {n}")
    expect(message(b, "filler 11")).to_have_count(1)

    item = open_action_bar(b, "original question")
    item.locator(".message-actions [data-action=reply]").click()
    expect(b.locator("#reply-banner")).to_be_visible()
    expect(b.locator("#reply-banner")).to_contain_text("Replying to Alice Adams: The original question")
    expect(b.locator("#composer")).to_be_focused()
    b.locator("#composer").press_sequentially("Here is my answer")
    b.locator("#composer").press("Enter")
    expect(b.locator("#reply-banner")).to_be_hidden()

    for page in (a, b):
        quote = message(page, "Here is my answer").locator(".reply-quote")
        expect(quote.locator(".reply-author")).to_have_text("Alice Adams")
        expect(quote.locator(".reply-excerpt")).to_have_text("The original question")

    # Clicking the quote scrolls to the original and flashes it.
    original = message(a, "original question")
    expect(original).not_to_be_in_viewport()
    message(a, "Here is my answer").locator(".reply-quote").click()
    expect(original).to_be_in_viewport()
    expect(original).to_have_class(re.compile(r"\bhighlight\b"))

    # Alice deletes the original, accepting the confirmation; Bob sees it go and the quote change.
    questions = []
    a.on("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    original.hover()
    original.locator(".message-actions [data-action=delete]").click()
    for page in (a, b):
        expect(message(page, "original question")).to_have_count(0)
        quote = message(page, "Here is my answer").locator(".reply-quote")
        expect(quote).to_have_class(re.compile(r"\bdeleted\b"))
        expect(quote).to_have_text(re.compile(r"message deleted"))
        expect(quote).not_to_contain_text("original")
    assert len(questions) == 1 and "Delete your message" in questions[0], questions


# 6. History agrees with live events ---------------------------------------------------------

# Each message as the page shows it: body, edited marker, reply quote, reaction chips.
DESCRIBE = """items => items.map((li) => ({
  body: li.querySelector('.body').innerHTML,
  edited: Boolean(li.querySelector('.edited')),
  mentionsMe: li.classList.contains('mentions-me'),
  quote: li.querySelector('.reply-quote') ? li.querySelector('.reply-quote').textContent : null,
  chips: [...li.querySelectorAll('.reaction:not(.add)')].map((c) => [c.textContent, c.title, c.getAttribute('aria-pressed')]),
}))"""


def test_a_reload_shows_what_the_live_events_showed(sign_up):
    alice, bob, room = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    slug = room["slug"]
    first = alice.post_message(slug, "First, @**Bob Brown**")
    second = alice.post_message(slug, "To be deleted")
    reply = bob.api("POST", f"/api/rooms/{slug}/messages", {"body": "Answer to it", "reply_to": second["id"]})
    assert reply[0] == 201, reply
    kept = bob.api("POST", f"/api/rooms/{slug}/messages", {"body": "Answer to the first", "reply_to": first["id"]})
    assert kept[0] == 201, kept
    expect(message(b, "Answer to the first")).to_have_count(1)

    # Done through both pages' API while Bob watches: an edit, reactions, a delete.
    status, _ = alice.api("PATCH", f"/api/messages/{first['id']}", {"body": "First (fixed), @**Bob Brown**"})
    assert status == 200
    for person, emoji in ((alice, "🎉"), (bob, "🎉"), (bob, ":heart:")):
        status, body = person.api("POST", f"/api/messages/{first['id']}/reactions", {"emoji": emoji})
        assert status == 200, body
    status, _ = alice.api("DELETE", f"/api/messages/{second['id']}")
    assert status == 204

    expect(message(b, "To be deleted")).to_have_count(0)
    expect(message(b, "First (fixed)").locator(".reaction:not(.add)")).to_have_count(2)
    expect(message(b, "First (fixed)").locator(".reaction[data-emoji='🎉'] .reaction-count")).to_have_text("2")
    expect(message(b, "Answer to it").locator(".reply-quote.deleted")).to_have_count(1)
    expect(message(b, "Answer to the first").locator(".reply-excerpt")).to_have_text("First (fixed), @Bob Brown")
    live = b.locator(CONFIRMED).evaluate_all(DESCRIBE)

    b.reload()
    expect(b.locator("#messages .history-note")).to_have_text(LOADED)
    expect(b.locator(CONFIRMED)).to_have_count(3)
    reloaded = b.locator(CONFIRMED).evaluate_all(DESCRIBE)
    assert reloaded == live
    assert live[0]["edited"] and live[0]["mentionsMe"] and len(live[0]["chips"]) == 2, live[0]
    assert "message deleted" in live[1]["quote"], live[1]


# 7. Keyboard only -----------------------------------------------------------------------------


def test_the_keyboard_alone_reaches_a_message_its_action_bar_and_adds_a_reaction(sign_up):
    alice, bob, _ = alice_and_bob_in_a_room(sign_up)
    a, b = alice.page, bob.page
    alice.send("Keyboard target")
    item = message(b, "Keyboard target")
    expect(item).to_have_count(1)

    # Tab from the top of the page until the message has the focus (the list, then its messages).
    b.evaluate("document.activeElement && document.activeElement.blur()")
    for _ in range(60):
        b.keyboard.press("Tab")
        if item.evaluate("li => li === document.activeElement"):
            break
    expect(item).to_be_focused()
    expect(item.locator(".message-actions")).to_be_visible()

    # Its bar's buttons are next in the tab order: reply, then react.
    b.keyboard.press("Tab")
    expect(item.locator(".message-actions [data-action=reply]")).to_be_focused()
    b.keyboard.press("Tab")
    react = item.locator(".message-actions [data-action=react]")
    expect(react).to_be_focused()
    b.keyboard.press("Enter")
    search = item.locator(".emoji-picker input[type=search]")
    expect(search).to_be_focused()
    b.keyboard.press("ArrowRight")  # the quick reactions: 👍 then ❤️
    b.keyboard.press("Enter")
    expect(item.locator(".emoji-picker")).to_have_count(0)
    expect(chip(item, "❤️")).to_have_attribute("aria-pressed", "true")
    expect(chip(message(a, "Keyboard target"), "❤️").locator(".reaction-count")).to_have_text("1")
    # The focus stays on the message, so the keyboard user goes on from there.
    expect(item).to_be_focused()
    b.keyboard.press("+")  # the shortcut opens the picker again
    expect(search).to_be_focused()
    b.keyboard.press("Enter")  # 👍, the first quick reaction
    expect(chip(message(a, "Keyboard target"), "👍").locator(".reaction-count")).to_have_text("1")
    expect(item).to_be_focused()


# A look at the page ----------------------------------------------------------------------------


def test_a_screenshot_of_a_room_with_rich_messages(sign_up):
    alice, bob, room = alice_and_bob_in_a_room(sign_up)
    slug = room["slug"]
    first = alice.post_message(slug, "Release notes:\n\n- **faster** polls\n- ~~old~~ new `code`\n\n> quoted line")
    bob.api("POST", f"/api/messages/{first['id']}/reactions", {"emoji": "👍"})
    alice.api("POST", f"/api/messages/{first['id']}/reactions", {"emoji": "🎉"})
    bob.api("POST", f"/api/rooms/{slug}/messages", {"body": "@**Alice Adams** see https://example.com", "reply_to": first["id"]})
    edited = bob.post_message(slug, "```\nprint('hi')\n```")
    bob.api("PATCH", f"/api/messages/{edited['id']}", {"body": "```\nprint('hello')\n```"})
    a = alice.page
    expect(message(a, "print('hello')").locator(".edited")).to_have_count(1)
    expect(message(a, "see https").locator(".reply-quote")).to_have_count(1)
    message(a, "see https").hover()
    a.screenshot(path=SCREENSHOT)
