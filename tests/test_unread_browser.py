"""Issue 14 in a real Chromium: the "New messages" line, bold rooms and the "@" badge, "Mark all
read", muting a room, and the notifications panel, each at desktop size and at a 390x844 phone size.

Browser notifications and the sound are counted by an init script that stands in for
window.Notification and AudioContext (the page cannot tell): what the page asks for is what
is checked, never a fixed wait.
"""
import pytest
from playwright.sync_api import expect

from tests.test_browser import CONFIRMED, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}

# Notification: permission "default" until requestPermission() (counted) grants it; each
# notification is recorded. AudioContext: each chime's oscillators are counted.
STUBS = """
(() => {
  const shown = [];
  let permission = 'default';
  window.__notifications = shown;
  window.__permissionRequests = 0;
  window.__oscillators = 0;
  class FakeNotification extends EventTarget {
    constructor(title, options = {}) { super(); this.title = title; this.body = options.body; shown.push({ title, body: options.body }); (window.__notes = window.__notes || []).push(this); }
    close() {}
    static get permission() { return permission; }
    static async requestPermission() { window.__permissionRequests += 1; permission = 'granted'; return permission; }
  }
  window.Notification = FakeNotification;
  class FakeAudioContext {
    constructor() { this.state = 'running'; this.currentTime = 0; this.destination = {}; }
    resume() { return Promise.resolve(); }
    createOscillator() {
      window.__oscillators += 1;
      return { type: '', frequency: {}, connect: (node) => node, start() {}, stop() {} };
    }
    createGain() {
      return { gain: { setValueAtTime() {}, exponentialRampToValueAtTime() {} }, connect: (node) => node };
    }
  }
  window.AudioContext = FakeAudioContext;
})();
"""


@pytest.fixture(params=sorted(SIZES))
def size(request):
    return request.param


def resize(person, size):
    person.page.set_viewport_size(SIZES[size])


def show_sidebar(page, size):
    """On a phone the room list slides in from the burger button."""
    if size == "phone" and "sidebar-open" not in (page.locator("#app").get_attribute("class") or ""):
        page.locator("#sidebar-toggle").click()
        expect(page.locator("#sidebar")).to_be_in_viewport()


def hide_sidebar(page, size):
    if size == "phone" and "sidebar-open" in (page.locator("#app").get_attribute("class") or ""):
        page.keyboard.press("Escape")
        expect(page.locator("#backdrop")).to_be_hidden()


def item(page, slug):
    return page.locator(f"#room-list [data-slug='{slug}'], #dm-list [data-slug='{slug}']")


def unread_counts(person, slug):
    status, body = person.api("GET", "/api/rooms")
    assert status == 200
    room = next(r for r in body["rooms"] if r["slug"] == slug)
    return room["unread_count"], room["mention_count"]


def notifications(page):
    return page.evaluate("window.__notifications.map(n => n.title)")


def test_a_room_with_unread_messages_opens_at_a_new_messages_line_which_stays_until_i_leave(sign_up, size):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    resize(ana, size)
    room, other = ana.create_room(), ana.create_room()
    ben.join(room["slug"])
    old = [ben.post_message(room["slug"], f"old {i}") for i in range(5)]
    status, _ = ana.api("POST", f"/api/rooms/{room['slug']}/read", {"message_id": old[-1]["id"]})
    assert status == 204
    ana.post_message(room["slug"], "my own, after the mark")  # mine: never unread
    new = [ben.post_message(room["slug"], f"new {i}") for i in range(40)]

    ana.open_room(room["slug"], room["name"])
    page = ana.page
    line = page.locator("#messages .new-messages")
    expect(line).to_have_count(1)
    expect(line).to_have_text("New messages")
    # The line sits right above the first message Ben wrote after Ana's mark, not above her own.
    first_new = page.locator(f"{CONFIRMED}[data-id='{new[0]['id']}']")
    assert line.evaluate("li => li.nextElementSibling.dataset.id") == str(new[0]["id"])
    expect(first_new).to_be_in_viewport()
    # The list opened at the line (near its top), not at the bottom: the newest is below, offered by the button.
    box, line_box = page.locator("#messages").bounding_box(), line.bounding_box()
    assert box["y"] - 1 <= line_box["y"] <= box["y"] + 40, (box, line_box)
    expect(page.locator(f"{CONFIRMED}[data-id='{new[-1]['id']}']")).not_to_be_in_viewport()
    expect(page.locator("#jump-newest")).to_be_visible()
    page.screenshot(path=f"/tmp/parley-unread-line-{size}.png")
    assert unread_counts(ana, room["slug"]) == (40, 0)  # not read until seen

    # Reading to the bottom marks the room read; the line stays while Ana is in the room.
    page.locator("#jump-newest").click()
    expect(page.locator(f"{CONFIRMED}[data-id='{new[-1]['id']}']")).to_be_in_viewport()
    page.wait_for_function(f"() => fetch('/api/rooms').then(r => r.json()).then(b => "
                           f"b.rooms.find(r => r.slug === '{room['slug']}').unread_count === 0)")
    expect(line).to_have_count(1)

    # Leaving and coming back: nothing unread, no line, the bottom as before.
    show_sidebar(page, size)
    item(page, other["slug"]).locator("a").click()
    expect(page.locator("#room-title")).to_have_text(other["name"])
    show_sidebar(page, size)
    item(page, room["slug"]).locator("a").click()
    expect(page.locator(f"{CONFIRMED}[data-id='{new[-1]['id']}']")).to_be_in_viewport()
    expect(page.locator("#messages .new-messages")).to_have_count(0)
    expect(page.locator("#jump-newest")).to_be_hidden()


def test_the_line_pages_back_to_the_first_unread_message_beyond_the_first_page(sign_up):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    room = ana.create_room()
    ben.join(room["slug"])
    mark = ben.post_message(room["slug"], "read already")
    ana.api("POST", f"/api/rooms/{room['slug']}/read", {"message_id": mark["id"]})
    new = [ben.post_message(room["slug"], f"new {i}") for i in range(70)]  # more than a page (50)
    ana.open_room(room["slug"], room["name"])
    line = ana.page.locator("#messages .new-messages")
    expect(line).to_have_count(1)
    assert line.evaluate("li => li.nextElementSibling.dataset.id") == str(new[0]["id"])
    expect(ana.page.locator(f"{CONFIRMED}[data-id='{new[0]['id']}']")).to_be_in_viewport()
    expect(ana.page.locator("#jump-newest")).to_be_visible()
    # Paging back marked nothing read on the way: the 70 wait until Ana scrolls down to them.
    assert unread_counts(ana, room["slug"]) == (70, 0)


def test_unread_rooms_are_bold_mentions_have_their_own_badge_and_mark_all_read_clears_everything(sign_up, size):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    resize(ana, size)
    here, there, dm_peer = ana.create_room(), ana.create_room(), ana.create_room()
    for room in (here, there, dm_peer):
        ben.join(room["slug"])
    ana.open_room(here["slug"], here["name"])
    page = ana.page
    show_sidebar(page, size)
    there_item = item(page, there["slug"])
    expect(there_item).not_to_have_class("room-item has-unread")
    assert there_item.locator(".room-name").evaluate("n => getComputedStyle(n).fontWeight") == "400"
    expect(page.locator("#mark-all-read")).to_be_hidden()

    ben.post_message(there["slug"], "hello")
    expect(there_item).to_have_class("room-item has-unread")
    assert int(there_item.locator(".room-name").evaluate("n => getComputedStyle(n).fontWeight")) >= 700
    expect(there_item.locator(".unread")).to_have_text("1")
    expect(there_item.locator(".mention-badge")).to_be_hidden()

    ben.post_message(there["slug"], "@**Ana Alves** have a look")
    ben.post_message(dm_peer["slug"], "@**Ana Alves** and here")
    expect(there_item.locator(".unread")).to_have_text("2")
    expect(there_item.locator(".mention-badge")).to_have_text("@")
    expect(there_item.locator(".mention-badge")).to_have_attribute("aria-label", "1 unread mention")
    ben.post_message(there["slug"], "@**Ana Alves** again")
    expect(there_item.locator(".mention-badge")).to_have_text("@2")
    expect(page).to_have_title("(4) Parley")
    expect(item(page, here["slug"])).not_to_have_class("room-item active has-unread")
    page.screenshot(path=f"/tmp/parley-unread-bold-{size}.png")

    # Mark all read: every badge and the bold go, the title too, and the server agrees.
    expect(page.locator("#mark-all-read")).to_be_visible()
    page.locator("#mark-all-read").click()
    expect(there_item.locator(".unread")).to_be_hidden()
    expect(there_item.locator(".mention-badge")).to_be_hidden()
    expect(page.locator("#room-list .has-unread")).to_have_count(0)
    expect(page).to_have_title("Parley")
    expect(page.locator("#mark-all-read")).to_be_hidden()
    assert unread_counts(ana, there["slug"]) == (0, 0)
    assert unread_counts(ana, dm_peer["slug"]) == (0, 0)

    # What comes next counts again.
    ben.post_message(there["slug"], "after that")
    expect(there_item.locator(".unread")).to_have_text("1")


def test_a_muted_room_is_not_bold_and_does_not_notify_but_its_mentions_still_count(sign_up, size):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    resize(ana, size)
    ana.page.context.add_init_script(STUBS)
    lobby, noisy = ana.create_room(), ana.create_room()
    ben.join(lobby["slug"])
    ben.join(noisy["slug"])
    ana.open_room(noisy["slug"], noisy["name"])
    page = ana.page
    page.evaluate("Notification.requestPermission()")  # as if granted on an earlier visit

    # The bell in the room's header opens the panel on this room's level; "Nothing" mutes it.
    bell = page.locator("#room-notify")
    expect(bell).to_be_visible()
    expect(bell).to_contain_text("All")
    bell.click()
    dialog = page.locator("#notify-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#notify-room-name")).to_have_text(noisy["name"])
    expect(page.locator("#notify-room-level")).to_be_focused()
    with page.expect_response(lambda r: r.url.endswith("/membership") and r.request.method == "PATCH") as patched:
        page.locator("#notify-room-level").select_option("none")
    assert patched.value.status == 200
    expect(bell).to_contain_text("Muted")
    page.screenshot(path=f"/tmp/parley-notify-panel-{size}.png")
    page.locator("#notify-close").click()
    expect(dialog).to_be_hidden()
    status, body = ana.api("GET", f"/api/rooms/{noisy['slug']}")
    assert body["room"]["notify"] == "none"

    show_sidebar(page, size)
    item(page, lobby["slug"]).locator("a").click()
    expect(page.locator("#room-title")).to_have_text(lobby["name"])
    show_sidebar(page, size)
    noisy_item = item(page, noisy["slug"])
    expect(noisy_item).to_have_class("room-item room-muted")
    expect(noisy_item.locator(".muted-mark")).to_be_visible()

    ben.post_message(noisy["slug"], "chatter")
    ben.post_message(noisy["slug"], "@**Ana Alves** you are needed")
    expect(noisy_item.locator(".mention-badge")).to_have_text("@")  # mentions still count
    expect(noisy_item.locator(".unread")).to_be_hidden()  # the rest does not show
    expect(noisy_item).not_to_have_class("room-item room-muted has-unread")
    expect(page).to_have_title("(1) Parley")  # only its mention
    assert unread_counts(ana, noisy["slug"]) == (2, 1)

    # A message in a room that is not muted does notify; the muted room's two never did.
    ben.post_message(lobby["slug"], "in the lobby")
    hide_sidebar(page, size)
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["in the lobby"])
    ben.post_message(noisy["slug"], "@**Ana Alves** still muted")
    ben.post_message(lobby["slug"], "@**Ana Alves** ping")  # a marker: every earlier event has been handled
    page.wait_for_function("() => document.querySelectorAll('#messages li.message[data-id]').length === 2")
    titles = notifications(page)
    assert not any(noisy["name"] in title for title in titles), titles


def test_the_notifications_panel_asks_permission_only_on_enable_and_levels_decide_what_notifies(sign_up, size):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    resize(ana, size)
    ana.page.context.add_init_script(STUBS)
    here, there = ana.create_room(), ana.create_room()
    ben.join(here["slug"])
    ben.join(there["slug"])
    ana.open_room(here["slug"], here["name"])
    page = ana.page
    page.bring_to_front()

    show_sidebar(page, size)
    opener = page.locator("#notify-settings")
    expect(opener).to_contain_text("Notifications: off")
    opener.click()
    dialog = page.locator("#notify-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#notify-permission-text")).to_contain_text("ask for your permission when you click Enable")
    assert page.evaluate("window.__permissionRequests") == 0  # opening the panel asks nothing
    expect(page.locator("#notify-default-level")).to_have_value("all")
    expect(page.locator("#notify-sound")).not_to_be_checked()
    page.locator("#notify-enable").click()
    expect(page.locator("#notify-enable")).to_be_hidden()
    expect(page.locator("#notify-permission-text")).to_contain_text("On:")
    assert page.evaluate("window.__permissionRequests") == 1
    expect(opener).to_contain_text("Notifications: on")

    # The sound, off by default, is the user's setting on the server; ticking it plays the chime once.
    with page.expect_response(lambda r: r.url.endswith("/api/me/notifications")):
        page.locator("#notify-sound").check()
    assert page.evaluate("window.__oscillators") == 2
    page.locator("#notify-close").click()
    expect(dialog).to_be_hidden()
    hide_sidebar(page, size)

    # In the open room of a focused tab nothing notifies; another room does, with the sound.
    assert page.evaluate("document.hasFocus() && document.visibilityState === 'visible'")
    ben.post_message(here["slug"], "right here")
    expect(page.locator(f"{CONFIRMED} .body")).to_have_text(["right here"])
    ben.post_message(there["slug"], "over there")
    page.wait_for_function("() => window.__notifications.length === 1")
    assert notifications(page) == [there["name"]]
    assert page.evaluate("window.__oscillators") == 4

    # The default at "mentions": a plain message no longer notifies, a mention does.
    show_sidebar(page, size)
    opener.click()
    with page.expect_response(lambda r: r.url.endswith("/api/me/notifications")):
        page.locator("#notify-default-level").select_option("mentions")
    expect(page.locator("#notify-room-level option").first).to_have_text("My default (Mentions only)")
    page.locator("#notify-close").click()
    hide_sidebar(page, size)
    ben.post_message(there["slug"], "plain")
    ben.post_message(there["slug"], "@**Ana Alves** look")
    page.wait_for_function("() => window.__notifications.length === 2")
    assert notifications(page)[1] == f"Ben Brown mentioned you in {there['name']}"
    show_sidebar(page, size)
    expect(item(page, there["slug"]).locator(".unread")).to_have_text("3")  # all counted, one notified per level
    status, body = ana.api("GET", "/api/me/notifications")
    assert body["notifications"] == {"notify_default": "mentions", "sound": True}

    # The settings page shows the same defaults.
    page.goto(ana.base_url + "/settings/")
    expect(page.locator("#id_notify_default")).to_have_value("mentions")
    expect(page.locator("#id_notify_sound")).to_be_checked()


def test_clicking_a_notification_opens_its_room_and_closes_the_search_results(sign_up):
    ana, ben = sign_up("Ana", "Alves"), sign_up("Ben", "Brown")
    ana.page.context.add_init_script(STUBS)
    lobby, other = ana.create_room(), ana.create_room()
    ben.join(lobby["slug"])
    ben.join(other["slug"])
    ana.open_room(lobby["slug"], lobby["name"])
    page = ana.page
    page.evaluate("Notification.requestPermission()")  # as if granted on an earlier visit
    page.locator("#search").fill("anything")
    page.locator("#search").press("Enter")
    expect(page.locator("#search-results")).to_be_visible()

    ben.post_message(other["slug"], "over here")
    page.wait_for_function("(window.__notes || []).length > 0")
    page.evaluate("window.__notes[window.__notes.length - 1].dispatchEvent(new Event('click'))")
    expect(page.locator("#room-title")).to_have_text(other["name"])
    expect(page.locator("#search-results")).to_be_hidden()
