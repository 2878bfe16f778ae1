"""Search in the main pane, the keyboard, and rooms made in a dialog, in a real Chromium (issue 14).

Each test runs twice: at a desktop size with a mouse, and at a 390x844 phone
size with touch emulated (no hover, coarse pointer), where the sidebar is a
drawer and the composer must not take the focus (it would pop the keyboard).
Every wait is on a condition in the page.
"""
import re
import uuid

import pytest
from playwright.sync_api import expect

from tests.test_browser import LOADED, browser, register_in  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]

DEVICES = {
    "desktop": {"viewport": {"width": 1200, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(params=sorted(DEVICES))
def device(request):
    return request.param


@pytest.fixture
def sign_up(browser, live_server_url, device):  # noqa: F811 (this file's own: one device per test)
    """Register a person through the HTML page in a context of the test's device; script errors fail the test."""
    contexts, errors = [], []

    def register(first_name, last_name="Keys"):
        context = browser.new_context(**DEVICES[device])
        contexts.append(context)
        return register_in(context, live_server_url, first_name, last_name, errors)

    yield register
    for context in contexts:
        context.close()
    assert not errors, errors


def make_room(person, name, **extra):
    status, body = person.api("POST", "/api/rooms", {"name": name, **extra})
    assert status == 201, body
    return body["room"]


def open_drawer(page, device):
    if device == "phone" and "sidebar-open" not in (page.locator("#app").get_attribute("class") or ""):
        page.locator(".sidebar-toggle:visible").click()  # the room's, or the search results' own
        expect(page.locator("#sidebar")).to_be_visible()


def sidebar_link(page, title):
    return page.locator("#room-list .room-link, #dm-list .room-link").filter(has_text=title)


# Search in the main pane ---------------------------------------------------------------------


def test_search_results_fill_the_main_pane_page_past_50_and_a_result_opens_its_room_at_the_message(sign_up, device):
    ana = sign_up("Ana")
    tag = uuid.uuid4().hex[:6]
    ops = make_room(ana, f"Ops {tag}")
    archive = make_room(ana, f"Archive {tag}", is_private=True)
    target = ana.post_message(archive["slug"], f"the deploy checklist {tag} lives here")
    for n in range(60):  # push the target out of the 50 newest the room opens with
        ana.post_message(archive["slug"], f"filler {n}")
    for n in range(54):
        ana.post_message(ops["slug"], f"deploy number {n} {tag}")
    page = ana.page
    ana.open_room(ops["slug"], ops["name"])

    # The results replace the room in the main pane, with room, author, time and the matching words marked.
    open_drawer(page, device)
    page.locator("#search").fill(f"deploy {tag}")
    page.locator("#search").press("Enter")
    pane = page.locator("#search-results")
    expect(pane).to_be_visible()
    expect(page.locator("#sidebar")).to_be_visible() if device == "desktop" else expect(page.locator("#sidebar")).to_be_hidden()
    expect(page.locator("#room-pane")).to_be_hidden()  # visibility: hidden, scroll position kept
    results = pane.locator(".search-result")
    expect(results).to_have_count(50)
    first = results.first
    expect(first.locator(".result-room-name")).to_have_text(ops["name"])
    expect(first.locator(".author")).to_have_text("Ana Keys")
    expect(first.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(first.locator(".snippet mark").first).to_have_text(re.compile("deploy", re.I))

    # The filter hints are buttons that add their word to the query.
    hint = pane.get_by_role("button", name=re.compile(r"Add the filter from:"))
    expect(hint).to_be_visible()

    # A result opens its room at the message, paging back past the 50 newest, and flashes it.
    open_drawer(page, device)
    page.locator("#search").fill(f"checklist {tag}")
    page.locator("#search").press("Enter")
    private_hit = results.filter(has_text="checklist")
    expect(results).to_have_count(1)
    expect(private_hit.locator(".lock-icon")).to_have_count(1)  # a private room's result has the lock
    private_hit.locator("a").click()
    expect(pane).to_be_hidden()
    expect(page.locator("#room-title")).to_have_text(archive["name"])
    message = page.locator(f'#messages li.message[data-id="{target["id"]}"]')
    expect(message).to_have_class(re.compile(r"\bhighlight\b"))
    expect(message).to_be_in_viewport()
    assert f"message={target['id']}" in page.url

    # Esc closes the pane and shows the room again, where it was.
    open_drawer(page, device)
    page.locator("#search").fill(f"deploy {tag}")
    page.locator("#search").press("Enter")
    expect(pane).to_be_visible()
    page.get_by_role("button", name="Back to the room").focus()
    page.keyboard.press("Escape")
    expect(pane).to_be_hidden()
    expect(page.locator("#room-pane")).to_be_visible()

    # Past 50: "Load more results" asks for the next page (the answer's `next`) and adds it under the first.
    more = pane.get_by_role("button", name="Load more results")
    open_drawer(page, device)
    page.locator("#search").fill(f"deploy {tag}")
    page.locator("#search").press("Enter")
    expect(results).to_have_count(50)
    expect(more).to_be_visible()
    more.click()
    expect(results).to_have_count(55)
    expect(more).to_be_hidden()
    expect(page.locator("#search-status")).to_have_text(re.compile(r"^55 results"))


# The keyboard ---------------------------------------------------------------------------------


def test_ctrl_k_switches_room_by_fuzzy_name_alt_arrows_move_and_esc_and_question_mark_work(sign_up, device):
    ana = sign_up("Ana")
    tag = uuid.uuid4().hex[:4]
    alpha = make_room(ana, f"Alpha team {tag}")
    beta = make_room(ana, f"Beta operations {tag}")
    gamma = make_room(ana, f"Gamma {tag}")
    page = ana.page
    ana.open_room(alpha["slug"], alpha["name"])
    composer = page.locator("#composer")
    # The composer takes the focus when a room opens, except on a touch screen.
    if device == "desktop":
        expect(composer).to_be_focused()
    else:
        expect(composer).not_to_be_focused()

    # Ctrl+K: the switcher, its field focused; "bops" finds "Beta operations", letters marked.
    page.keyboard.press("Control+k")
    switcher = page.get_by_role("dialog", name="Switch room")
    expect(switcher).to_be_visible()
    field = switcher.get_by_role("combobox", name="Switch to a room or conversation")
    expect(field).to_be_focused()
    expect(switcher.get_by_role("option")).to_have_count(3)
    field.press_sequentially("bops")
    options = switcher.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text(beta["name"])
    expect(options.first.locator("mark")).to_have_text(["B", "op", "s"])
    expect(field).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    # Arrows move the choice (and wrap); Enter opens it.
    field.fill("")
    field.press_sequentially(tag)
    expect(options).to_have_count(3)
    field.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    field.press("ArrowUp")
    field.press("ArrowUp")
    expect(options.nth(2)).to_have_attribute("aria-selected", "true")
    chosen = options.nth(2).locator(".switcher-name").inner_text()
    field.press("Enter")
    expect(switcher).to_be_hidden()
    expect(page.locator("#room-title")).to_have_text(chosen)
    if device == "desktop":
        expect(composer).to_be_focused()
    else:
        expect(composer).not_to_be_focused()

    # Esc closes the switcher without switching.
    page.keyboard.press("Control+k")
    expect(switcher).to_be_visible()
    page.keyboard.press("Escape")
    expect(switcher).to_be_hidden()
    expect(page.locator("#room-title")).to_have_text(chosen)

    # Alt+Up / Alt+Down: the previous and next room in the sidebar's order (Alpha, Beta, Gamma), stopping at the ends.
    ana.open_room(alpha["slug"], alpha["name"])
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#room-title")).to_have_text(beta["name"])
    page.keyboard.press("Alt+ArrowDown")
    expect(page.locator("#room-title")).to_have_text(gamma["name"])
    assert page.url.endswith(f"/rooms/{gamma['slug']}/")
    page.keyboard.press("Alt+ArrowDown")  # the last room: nowhere to go
    page.keyboard.press("Alt+ArrowUp")
    expect(page.locator("#room-title")).to_have_text(beta["name"])

    # "?" in the composer is a character; outside a text field it opens the sheet, which Esc closes.
    composer.click() if device == "desktop" else composer.tap()
    page.keyboard.type("?")
    expect(composer).to_have_value("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_hidden()
    composer.fill("")
    page.locator("#messages").focus()
    page.keyboard.press("?")
    expect(sheet).to_be_visible()
    expect(sheet).to_contain_text("Switch to a room or conversation")
    expect(sheet.locator("kbd").first).to_have_text("Ctrl")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    # The sheet has a button too, at the sidebar's foot (pressed with Enter: at 390 px the page is wider
    # than the screen because of the top bar, which leaves the foot of the drawer below the visible area).
    open_drawer(page, device)
    page.get_by_role("button", name=re.compile("^Keyboard shortcuts")).focus()
    page.keyboard.press("Enter")
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Close").focus()
    page.keyboard.press("Enter")
    expect(sheet).to_be_hidden()


def test_esc_closes_the_reply_bar_the_emoji_picker_and_the_drawer_one_per_press(sign_up, device):
    ana = sign_up("Ana")
    room = make_room(ana, f"Esc {uuid.uuid4().hex[:6]}")
    ana.post_message(room["slug"], "answer me")
    page = ana.page
    ana.open_room(room["slug"], room["name"])
    message = page.locator("#messages li.message[data-id]").first
    message.focus()
    page.keyboard.press("r")  # reply to the focused message
    banner = page.locator("#reply-banner")
    expect(banner).to_be_visible()
    page.locator("#messages").focus()  # Esc from outside the composer still closes the reply
    page.keyboard.press("Escape")
    expect(banner).to_be_hidden()

    page.locator("#emoji-button").click()
    picker = page.get_by_role("dialog", name="Insert an emoji")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()

    if device == "phone":
        open_drawer(page, device)
        page.locator("#room-list .room-link").first.focus()
        page.keyboard.press("Escape")
        expect(page.locator("#sidebar")).to_be_hidden()


# Rooms made in a dialog; private rooms with a lock; retention in the room's details ---------------


def test_a_room_is_created_in_a_dialog_and_opens_private_rooms_show_a_lock_and_details_hold_retention(sign_up, device):
    ana = sign_up("Ana")
    first = make_room(ana, f"Lobby {uuid.uuid4().hex[:6]}")
    page = ana.page
    ana.open_room(first["slug"], first["name"])
    # A public room: a "#", no lock, in the list and in the header; the retention line is not in the header.
    expect(sidebar_link(page, first["name"]).locator(".lock-icon")).to_have_count(0)
    expect(page.locator("#room-kind-icon")).to_be_hidden()
    expect(page.locator(".room-header #room-retention")).to_have_count(0)

    open_drawer(page, device)
    opener = page.get_by_role("button", name="Create a room")
    opener.click()
    dialog = page.get_by_role("dialog", name="Create a room")
    expect(dialog).to_be_visible()
    name = dialog.get_by_role("textbox", name="Name")
    expect(name).to_be_focused()
    # An empty name is refused on the spot; a taken one by the server (409), next to the field.
    dialog.get_by_role("button", name="Create room").click()
    expect(dialog.locator("#create-room-name-error")).to_have_text("Give the room a name.")
    expect(name).to_have_attribute("aria-invalid", "true")
    name.fill(first["name"])
    dialog.get_by_role("button", name="Create room").click()
    expect(dialog.locator("#create-room-name-error")).to_be_visible()
    expect(dialog).to_be_visible()
    # Esc closes it; opened again it is empty.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    open_drawer(page, device)
    opener.click()
    expect(name).to_have_value("")

    new_name = f"Secret plans {uuid.uuid4().hex[:6]}"
    name.fill(new_name)
    dialog.get_by_role("textbox", name=re.compile("^Topic")).fill("Only us")
    dialog.get_by_role("radio", name=re.compile("^Private")).check()
    dialog.get_by_role("button", name="Create room").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#room-title")).to_have_text(new_name)
    expect(page.locator("#messages .history-note")).to_have_text(LOADED)
    assert re.search(r"/rooms/[\w-]+/$", page.url) and first["slug"] not in page.url
    status, body = ana.api("GET", "/api/rooms")
    created = next(r for r in body["rooms"] if r["name"] == new_name)
    assert created["is_private"] and created["topic"] == "Only us" and not created["is_ephemeral"]

    # The lock: in the header (named for screen readers) and in the room list, instead of a "#".
    expect(page.get_by_role("img", name="Private room")).to_be_visible()
    open_drawer(page, device)
    link = sidebar_link(page, new_name)
    expect(link.locator(".lock-icon")).to_be_visible()
    expect(link.locator(".room-icon")).not_to_contain_text("#")
    if device == "phone":
        page.keyboard.press("Escape")
    # Details: the retention line lives there now.
    page.get_by_role("button", name="Details").click()
    details = page.get_by_role("dialog", name=f"About {new_name}")
    expect(details).to_be_visible()
    expect(details).to_contain_text("Private room")
    expect(details).to_contain_text("Only us")
    expect(details.locator("#room-retention")).to_have_text(re.compile(r"^This room keeps the newest \d+ messages"))
    page.keyboard.press("Escape")
    expect(details).to_be_hidden()


def test_the_new_controls_are_reachable_with_tab_and_named(sign_up, device):
    ana = sign_up("Ana")
    room = make_room(ana, f"Tabs {uuid.uuid4().hex[:6]}")
    page = ana.page
    ana.open_room(room["slug"], room["name"])
    open_drawer(page, device)
    page.locator("#search").focus()
    names = []
    for _ in range(12):
        page.keyboard.press("Tab")
        names.append(page.evaluate(
            "() => { const a = document.activeElement; return a.getAttribute('aria-label') || a.textContent.trim(); }"))
    assert "Create a room" in names, names
    for control in ("#create-room-open", "#room-details-open", "#shortcuts-open"):
        assert page.locator(control).get_attribute("tabindex") in (None, "0")
