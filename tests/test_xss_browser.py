"""XSS in a real browser: script payloads in every piece of user text render as inert text.

A message, a room name and topic, and display names are made of payloads;
Debian's chromium (through Playwright) opens the room list, the chat page (with
a payload also arriving live through the long poll, and a typing notice) and
the directory. On each page no dialog may fire, no injected element or
attribute may exist in the DOM, the payloads must be visible as text, and the
Content-Security-Policy must report no violation (so it neither blocks the app
nor had anything to block). The Django admin is checked under the same CSP.
"""
import json
import os
import subprocess
import sys
import time

import pytest

from tests.live import ROOT, Http, server_env

pytestmark = [pytest.mark.browser, pytest.mark.server]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "<script>alert(1)</script>"
SVG = '"><svg onload=alert(1)>'
JS_LINK = "javascript:alert(1)"
PAYLOADS = [
    IMG, SCRIPT, SVG, JS_LINK,
    '<a href="javascript:alert(1)">click me</a>',
    "[click](javascript:alert(1))",
    'http://example.com/"><img src=x onerror=alert(1)>',
    "https://example.com/?q=<script>alert(1)</script>",
    "'-alert(1)-' \"-alert(1)-\" `${alert(1)}` {{constructor.constructor('alert(1)')()}}",
    "<iframe src=javascript:alert(1)></iframe><body onload=alert(1)>",
]

# The payloads as a message shows them: messages are Markdown (API.md, Part 2), so
# the backticks around `${alert(1)}` make a code span and are not shown.
SHOWN = [p.replace("`${alert(1)}`", "${alert(1)}") for p in PAYLOADS]

LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]

# Runs in every page before its own scripts: record CSP violations.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""

# What an injection would leave behind: handlers, javascript: URLs, inline or
# foreign scripts, images not from our static files, SVG, frames.
FIND_INJECTED = """
(allowed) => {
  const bad = [];
  const urlAttrs = ['href', 'src', 'action', 'formaction', 'xlink:href', 'data'];
  for (const node of document.querySelectorAll('*')) {
    for (const attr of node.attributes) {
      if (attr.name.toLowerCase().startsWith('on')) bad.push(`${node.tagName} ${attr.name}=${attr.value}`);
      if (urlAttrs.includes(attr.name.toLowerCase()) && /^\\s*javascript:/i.test(attr.value)) {
        bad.push(`${node.tagName} ${attr.name}=${attr.value}`);
      }
    }
  }
  const own = (url, staticOnly) => {
    try {
      const parsed = new URL(url || '', location.href);
      return parsed.origin === location.origin && (!staticOnly || parsed.pathname.includes('/static/'));
    } catch (err) {
      return false;
    }
  };
  for (const script of document.querySelectorAll('script')) {
    const src = script.getAttribute('src');
    if (!(src && own(src, false)) && script.type !== 'application/json') {
      bad.push(`script ${script.outerHTML.slice(0, 100)}`);
    }
  }
  for (const img of document.querySelectorAll('img')) {
    const src = img.getAttribute('src');
    if (!(src && own(src, true))) bad.push(`img ${img.outerHTML.slice(0, 100)}`);
  }
  for (const node of document.querySelectorAll('svg, iframe, object, embed, body body, base, meta[http-equiv]')) {
    if (!(allowed && node.matches(allowed))) bad.push(`${node.tagName} ${node.outerHTML.slice(0, 100)}`);
  }
  return bad;
}
"""


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.dialogs = []

    def on_dialog(dialog):
        page.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.set_default_timeout(15_000)
    yield page
    context.close()


def database_url(request):
    """The database behind live_server_url (the same choice that fixture makes)."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return request.getfixturevalue("postgres_url")
    return request.getfixturevalue("sqlite_url")


# Creates users straight in the server's database, each with an API token and a
# logged-in session: no password hashing (a second apiece with the production
# hasher), so the test spends its time in the browser.
SEED = """
import json, sys, django
django.setup()
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from users.models import User
from users.serializers import user_to_dict
from users.services import token_create

made = []
for spec in json.load(sys.stdin):
    user = User.objects.create_user(spec["email"], None, first_name=spec["first_name"], last_name=spec["last_name"],
                                    is_staff=spec.get("superuser", False), is_superuser=spec.get("superuser", False))
    session = SessionStore()
    session.update({"_auth_user_id": str(user.pk), "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[0],
                    "_auth_user_hash": user.get_session_auth_hash()})
    session.create()
    made.append({"user": user_to_dict(user, viewer=user), "token": token_create(user=user), "session": session.session_key})
print(json.dumps(made))
"""


def seed_users(request, base_url, *specs):
    """Create users (dicts of first_name, last_name, superuser?) and return an Http client for each."""
    tag = time.monotonic_ns()
    specs = [{**spec, "email": f"xss-{tag}-{n}@example.com"} for n, spec in enumerate(specs)]
    done = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=server_env(database_url(request)),
        input=json.dumps(specs), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    clients = []
    for made in json.loads(done.stdout.strip().splitlines()[-1]):
        client = Http(base_url, made["token"])
        client.user, client.session = made["user"], made["session"]
        clients.append(client)
    return clients


def log_in(page, base_url, client):
    """Give the browser the user's session cookie."""
    page.context.add_cookies([{"name": "sessionid", "value": client.session, "url": base_url}])


def assert_inert(page, where, visible=(), allowed=""):
    """No dialog, no injected markup (but the elements matching `allowed`), no CSP violation, payloads as text."""
    assert page.dialogs == [], f"{where}: a dialog fired: {page.dialogs}"
    injected = page.evaluate(FIND_INJECTED, allowed)
    assert injected == [], f"{where}: injected markup in the DOM: {injected}"
    violations = page.evaluate("window.__cspViolations")
    assert violations == [], f"{where}: CSP violations: {violations}"
    text = page.evaluate("document.body.innerText")
    for payload in visible:
        assert payload in text, f"{where}: {payload!r} is not shown as text"


def test_script_payloads_render_as_text_on_the_room_list_chat_page_and_directory(request, live_server_url, page):
    base = live_server_url
    tag = f"x{time.monotonic_ns() % 10**8}"
    evil, victim = seed_users(
        request, base, {"first_name": f"{IMG} {SCRIPT}", "last_name": f"{SVG} {JS_LINK}"},
        {"first_name": "Victor", "last_name": "Victim"},
    )
    evil_name = evil.user["display_name"]
    assert evil_name == f"{IMG} {SCRIPT} {SVG} {JS_LINK}"

    room_name = f"{SCRIPT} {SVG} {tag}"
    topic = f"{IMG} <a href=\"javascript:alert(1)\">x</a> {JS_LINK}"
    status, body = evil.post("/api/rooms", {"name": room_name, "topic": topic})
    assert status == 201, body
    slug = body["room"]["slug"]
    status, body = evil.post("/api/rooms", {"name": f"{IMG} private {tag}", "is_private": True})
    assert status == 201, body
    assert evil.post(f"/api/rooms/{body['room']['slug']}/invite", {"user_id": victim.user["id"]})[0] == 200
    assert victim.post(f"/api/rooms/{slug}/join")[0] == 200
    assert victim.post("/api/dms", {"user_id": evil.user["id"]})[0] in (200, 201)
    for payload in PAYLOADS:
        status, body = evil.post(f"/api/rooms/{slug}/messages", {"body": payload})
        assert status == 201, body

    log_in(page, base, victim)

    # The room list (rendered by the server).
    page.goto(base + "/rooms/")
    page.wait_for_selector(f"li.room-card[data-slug='{slug}']")
    assert_inert(page, "room list", visible=[room_name, topic, f"{IMG} private {tag}"])

    # The chat page (rendered by the browser client from the API).
    page.goto(f"{base}/rooms/{slug}/")
    page.wait_for_function(
        "n => document.querySelectorAll('#messages li.message .body').length >= n", arg=len(PAYLOADS),
    )
    page.wait_for_function("document.querySelectorAll('#members li.member').length >= 2")
    page.wait_for_function("document.querySelectorAll('#room-list li, #dm-list li').length >= 3")
    bodies = page.eval_on_selector_all("#messages li.message .body", "nodes => nodes.map(n => n.textContent)")
    assert bodies[-len(PAYLOADS):] == SHOWN
    members = page.eval_on_selector_all("#members .member-name", "nodes => nodes.map(n => n.textContent)")
    assert evil_name in members
    assert page.text_content("#room-title") == room_name
    assert page.text_content("#room-topic") == topic
    assert_inert(page, "chat page", visible=[evil_name, room_name, topic, *SHOWN])

    # A payload and a typing notice that arrive live, through the long poll.
    live = f"{IMG} live {tag}"
    assert evil.post(f"/api/rooms/{slug}/messages", {"body": live})[0] == 201
    page.wait_for_function(
        "text => [...document.querySelectorAll('#messages li.message .body')].some(n => n.textContent === text)",
        arg=live,
    )
    assert evil.post(f"/api/rooms/{slug}/typing")[0] == 204
    page.wait_for_function("name => document.getElementById('typing').textContent.includes(name)", arg=evil_name)
    assert_inert(page, "chat page after live events", visible=[live])

    # The directory (rendered by the browser client).
    page.goto(base + "/people/")
    page.wait_for_function(
        "name => [...document.querySelectorAll('#directory-list .person-name')].some(n => n.textContent === name)",
        arg=evil_name,
    )
    assert_inert(page, "directory", visible=[evil_name])


# The admin's own inline SVG icons (its theme switcher); any handler on them would still be caught.
ADMIN_ICONS = "svg.base-svgs, svg[class^='theme-icon-when-']"


def test_the_django_admin_works_under_the_csp(request, live_server_url, page):
    """The admin needs no inline script: its pages report no CSP violation and its scripts run."""
    base = live_server_url
    tag = f"admin{time.monotonic_ns() % 10**8}"
    evil, root = seed_users(
        request, base, {"first_name": IMG, "last_name": SVG}, {"first_name": "Root", "last_name": "Admin", "superuser": True},
    )
    status, body = evil.post("/api/rooms", {"name": f"{SCRIPT} {tag}", "topic": IMG})
    assert status == 201, body
    slug, room_id = body["room"]["slug"], body["room"]["id"]
    assert evil.post(f"/api/rooms/{slug}/messages", {"body": SVG})[0] == 201
    log_in(page, base, root)
    for path in ("/admin/", "/admin/users/user/", f"/admin/users/user/{evil.user['id']}/change/",
                 "/admin/rooms/room/", f"/admin/rooms/room/{room_id}/change/", "/admin/rooms/message/"):
        page.goto(base + path)
        page.wait_for_load_state("load")
        if path != "/admin/":  # the index loads no jQuery; lists and forms do, from static files
            assert page.evaluate("typeof django === 'object' && typeof django.jQuery === 'function'"), path
        assert_inert(page, path, allowed=ADMIN_ICONS)
    # The changelist's select-all checkbox is admin JavaScript at work.
    page.goto(base + "/admin/users/user/")
    page.check("#action-toggle")
    assert page.eval_on_selector_all("input.action-select", "boxes => boxes.every(b => b.checked)")
    assert_inert(page, "admin actions", allowed=ADMIN_ICONS)


def test_the_checks_catch_an_injection_when_there_is_one(page):
    """The same checks on a page that does inject (no server, no CSP): they must see it."""
    page.set_content(f"<p>hello</p><div>{IMG}</div><a href='{JS_LINK}'>x</a>{SCRIPT}<img>")
    page.wait_for_function("document.readyState === 'complete'")
    page.wait_for_timeout(200)  # the broken image's error event, and its alert
    assert page.dialogs, "the payload's alert was not seen"
    injected = page.evaluate(FIND_INJECTED, "")
    assert any(item.startswith("IMG onerror") for item in injected)
    assert any("javascript:" in item for item in injected)
    assert any(item.startswith("script <script>alert(1)") for item in injected)
    assert "img <img>" in injected
    with pytest.raises(AssertionError):
        assert_inert(page, "an injecting page")
