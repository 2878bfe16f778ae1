"""Accessibility in a real Chromium (issue 14): axe-core on the main views in both themes at
desktop and phone size, and what axe cannot see: the message log's live region, keyboard
reach, and tap targets on a touch screen.

axe-core comes from the npm registry (tests/package.json, pinned; `make test` runs
`npm ci --prefix tests`). Without it these tests fail: they never skip.
"""
import uuid

import pytest
from playwright.sync_api import expect

from tests.test_browser import CONFIRMED, LOADED, browser, sign_up  # noqa: F401 (fixtures)
from tests.tour import AXE, SIZES, THEMES, Tour, new_context, register

pytestmark = [pytest.mark.browser, pytest.mark.server]

BLOCKING = ("serious", "critical")


@pytest.fixture(scope="module")
def axe_source():
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci --prefix tests` (or `make test-deps`) first.", pytrace=False)
    return AXE.read_text()


def axe_violations(page, source):
    """Run axe-core in the page; return its serious and critical violations, one line each."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)  # through the DevTools protocol, so the page's CSP does not stop it
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"] if v["impact"] in BLOCKING
    ]


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize("size", list(SIZES))
def test_axe_finds_no_serious_violation_on_the_main_views(browser, live_server_url, axe_source, size, theme):
    tour = Tour(browser, live_server_url, size, theme)
    try:
        found, seen = {}, []
        for name, page in tour.views():
            seen.append(name)
            assert page.evaluate("document.documentElement.dataset.theme") in (theme, "system")
            violations = axe_violations(page, axe_source)
            if violations:
                found[name] = violations
        assert {"login", "register", "rooms", "chat", "chat-emoji-picker", "people", "settings"} <= set(seen)
        assert found == {}, "\n".join(f"{name}: {line}" for name, lines in found.items() for line in lines)
    finally:
        tour.close()


def test_the_axe_check_fails_a_page_with_a_serious_violation(browser, live_server_url, axe_source):
    """The check above can fail: an unlabelled button and grey-on-grey text are caught."""
    context = new_context(browser, "desktop", "light")
    try:
        page = context.new_page()
        page.goto(live_server_url + "/login/")
        page.evaluate("""() => {
          const button = document.createElement('button');
          button.className = 'icon-button';
          document.querySelector('main').append(button);
          const faint = document.createElement('p');
          faint.textContent = 'Hard to read';
          faint.style.color = '#bbb';  // allowed: the CSP governs the page's own styles, not this test's DOM calls
          document.querySelector('main').append(faint);
        }""")
        ids = {line.split(" ")[0] for line in axe_violations(page, axe_source)}
        assert {"button-name", "color-contrast"} <= ids
    finally:
        context.close()


# The message log: new messages are read out, history is not ------------------------------------

# Records, from before the page's own scripts run, every message <li> put into the list and
# whether the log was aria-busy at that moment (attribute records come in order with the
# insertions, and each tells the value before it, so the value at any point is known).
WATCH_LOG = """
window.parleyLogAdds = [];
new MutationObserver((records) => {
  const log = document.getElementById('message-log');
  if (!log) return;
  const busyRecords = records.filter((r) => r.type === 'attributes' && r.target === log);
  let busy = busyRecords.length ? busyRecords[0].oldValue : log.getAttribute('aria-busy');
  for (const record of records) {
    if (record.type === 'attributes' && record.target === log) {
      const next = busyRecords[busyRecords.indexOf(record) + 1];
      busy = next ? next.oldValue : log.getAttribute('aria-busy');
    } else if (record.type === 'childList' && log.contains(record.target)) {
      for (const node of record.addedNodes) {
        if (node.nodeType === 1 && node.matches('li.message')) {
          window.parleyLogAdds.push({ id: node.dataset.id || null, busy });
        }
      }
    }
  }
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['aria-busy'], attributeOldValue: true });
"""


@pytest.mark.parametrize("size", list(SIZES))
def test_the_message_log_reads_out_new_messages_but_not_history(browser, live_server_url, size):
    context = new_context(browser, size, "light")
    other = new_context(browser, "desktop", "light")
    try:
        ana, ben = register(context, live_server_url, "Ana", "Alves"), register(other, live_server_url, "Ben", "Brown")
        room = ana.create_room()
        ben.join(room["slug"])
        history = [ben.post_message(room["slug"], f"Old message {n}")["id"] for n in range(60)]
        # Read, so the room opens at the newest page (an unread room loads back to its first unread).
        assert ana.api("POST", f"/api/rooms/{room['slug']}/read", {"message_id": history[-1]})[0] == 204

        ana.page.add_init_script(WATCH_LOG)
        ana.open_room(room["slug"], room["name"])
        log = ana.page.locator("#message-log")
        expect(log).to_have_attribute("role", "log")
        expect(log).to_have_attribute("aria-live", "polite")
        expect(log).to_have_attribute("aria-relevant", "additions")
        expect(log).to_have_attribute("aria-busy", "false")
        expect(ana.page.locator("#messages")).to_have_attribute("aria-label", "Messages")

        # Older messages, a page further back: also history.
        ana.page.locator("[data-action=load-older]").click()
        expect(ana.page.locator(CONFIRMED)).to_have_count(60)
        expect(ana.page.locator("#messages .history-note")).to_have_text(LOADED)
        expect(log).to_have_attribute("aria-busy", "false")

        live = ben.post_message(room["slug"], "Something new")
        expect(ana.page.locator(f"{CONFIRMED}[data-id='{live['id']}']")).to_be_visible()
        adds = ana.page.evaluate("window.parleyLogAdds")
        history_adds = [a for a in adds if a["id"] and int(a["id"]) in history]
        assert {int(a["id"]) for a in history_adds} == set(history)
        assert all(a["busy"] == "true" for a in history_adds), [a for a in history_adds if a["busy"] != "true"][:3]
        live_adds = [a for a in adds if a["id"] == str(live["id"])]
        assert live_adds and live_adds[0]["busy"] != "true", live_adds
    finally:
        context.close()
        other.close()


# Keyboard and touch ------------------------------------------------------------------------

# Every visible control, whatever its tabindex says (tabindex="-1" on a button takes it out of
# the keyboard's reach, which is what this looks for), and anything else made focusable.
CONTROLS = """() => [...document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]')]
  .filter((e) => (e.matches('a[href], button, input, select, textarea') || e.tabIndex >= 0)
    && !e.disabled && e.offsetParent !== null && getComputedStyle(e).visibility !== 'hidden')
  .map((e) => e.id || e.name || e.getAttribute('href') || e.textContent.trim())"""


def tab_through(page, limit=120):
    """Press Tab until the focus comes round again; return what was focused, in order."""
    seen = []
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        current = page.evaluate("""() => { const e = document.activeElement;
            return e === document.body ? null : (e.id || e.name || e.getAttribute('href') || e.textContent.trim()); }""")
        if current is not None and current in seen and current == seen[0]:
            break
        if current is not None and current not in seen:
            seen.append(current)
    return seen


@pytest.mark.parametrize("size", list(SIZES))
def test_every_control_of_the_chat_and_settings_pages_is_reached_with_the_keyboard(browser, live_server_url, size):
    context = new_context(browser, size, "light")
    try:
        ana = register(context, live_server_url, "Ana", "Alves")
        room = ana.create_room()
        ana.post_message(room["slug"], "Hello")
        for path in (f"/rooms/{room['slug']}/", "/settings/"):
            ana.page.goto(ana.base_url + path)
            if "rooms" in path:
                expect(ana.page.locator("#messages .history-note")).to_have_text(LOADED)
            controls = ana.page.evaluate(CONTROLS)
            assert len(controls) >= 8, controls
            reached = tab_through(ana.page)
            assert set(controls) <= set(reached), (path, set(controls) - set(reached))
    finally:
        context.close()


def test_members_leave_and_the_other_controls_are_44_px_tall_on_a_touch_screen(browser, live_server_url):
    context = new_context(browser, "phone", "light")
    try:
        ana = register(context, live_server_url, "Ana", "Alves")
        room = ana.create_room()
        ana.open_room(room["slug"], room["name"])
        page = ana.page
        expect(page.locator("#leave-room")).to_be_visible()
        for selector in ("#members-toggle", "#leave-room", "#sidebar-toggle", "#send", "#emoji-button", "#attach-button"):
            box = page.locator(selector).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, (selector, box)
        # The header stays one row high: Members and Leave side by side.
        members, leave = page.locator("#members-toggle").bounding_box(), page.locator("#leave-room").bounding_box()
        assert members["y"] == leave["y"]
        for link in page.locator(".topnav a, .account .button").all():
            assert link.bounding_box()["height"] >= 44, link.text_content()
    finally:
        context.close()


def test_a_mouse_keeps_the_compact_buttons(sign_up):
    """44 px is for fingers: with a mouse (pointer: fine) the header keeps its small buttons."""
    ana = sign_up("Ana", "Alves")
    room = ana.create_room()
    ana.page.set_viewport_size({"width": 390, "height": 844})
    ana.open_room(room["slug"], room["name"])
    assert ana.page.locator("#members-toggle").bounding_box()["height"] < 44
