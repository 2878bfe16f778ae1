"""A walk through Parley's main views in a real Chromium, for the accessibility check
(tests/test_a11y_browser.py) and the screenshots (tests/test_screenshots.py).

`Tour` signs up two people in one theme and one window size, fills a room with
messages a person would see (Markdown, a mention, a reply, a reaction), then
`views()` opens each main view and yields its name once the page is ready.
"""
import uuid
from pathlib import Path

from playwright.sync_api import expect

from tests.live import PASSWORD
from tests.test_browser import LOADED, WAIT_MS, Person

ROOT = Path(__file__).resolve().parent.parent
AXE = ROOT / "tests" / "node_modules" / "axe-core" / "axe.min.js"

SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True},
}
THEMES = ("light", "dark")


def new_context(browser, size, theme):
    """A browser context at `size` whose system prefers `theme` (the pages nobody is logged in to follow it)."""
    context = browser.new_context(color_scheme=theme, **SIZES[size])
    context.set_default_timeout(WAIT_MS)
    return context


def register(context, base_url, first_name, last_name):
    page = context.new_page()
    page.goto(base_url + "/register/")
    email = f"{first_name.lower()}-{uuid.uuid4().hex[:10]}@example.com"
    page.fill("#id_email", email)
    page.fill("#id_first_name", first_name)
    page.fill("#id_last_name", last_name)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/rooms/")
    person = Person(page, base_url, f"{first_name} {last_name}")
    person.email = email
    return person


def set_theme(person, theme):
    """Save `theme` on the settings page's form, as the person would."""
    csrf = next(c["value"] for c in person.page.context.cookies() if c["name"] == "csrftoken")
    first, last = person.name.split(" ", 1)
    response = person.page.request.post(person.base_url + "/settings/profile", form={
        "csrfmiddlewaretoken": csrf, "first_name": first, "last_name": last, "theme": theme,
    })  # followed to the settings page, which shows (and so uses up) "Settings saved."
    assert response.ok and response.url.endswith("/settings/"), (response.status, response.url)


class Tour:
    def __init__(self, browser, base_url, size, theme):
        self.base_url, self.size, self.theme = base_url, size, theme
        self.contexts = [new_context(browser, size, theme) for _ in range(3)]
        self.ana = register(self.contexts[0], base_url, "Ana", "Alves")
        self.ben = register(self.contexts[1], base_url, "Ben", "Brown")
        self.anonymous = self.contexts[2].new_page()
        set_theme(self.ana, theme)
        self.room = self.ana.create_room()
        self.ben.join(self.room["slug"])
        slug = self.room["slug"]
        first = self.ana.post_message(slug, "Morning all! The **release** is on Thursday.")
        self.ben.post_message(slug, f"Great. @**{self.ana.name}** can you check the `deploy` script first?")
        status, _ = self.ben.api("POST", f"/api/rooms/{slug}/messages", {
            "body": "Notes:\n- migrations\n- static files\n\n> ship it", "reply_to": first["id"],
        })
        assert status == 201, status
        status, _ = self.ben.api("POST", f"/api/messages/{first['id']}/reactions", {"emoji": "👍"})
        assert status == 200, status
        self.ana.post_message(slug, "Will do, thanks Ben.")

    def close(self):
        for context in self.contexts:
            context.close()

    def views(self):
        """Open each main view in turn; yield (name, page) once it is ready to look at."""
        anonymous, page = self.anonymous, self.ana.page
        for name, path, ready in (
            ("login", "/login/", "#login-heading"),
            ("register", "/register/", "#register-heading"),
            ("password-reset", "/password-reset/", "#reset-heading"),
        ):
            anonymous.goto(self.base_url + path)
            expect(anonymous.locator(ready)).to_be_visible()
            yield name, anonymous

        page.goto(self.base_url + "/rooms/")
        expect(page.locator(f".room-card[data-slug='{self.room['slug']}']")).to_be_visible()
        yield "rooms", page

        page.goto(f"{self.base_url}/rooms/{self.room['slug']}/")
        expect(page.locator("#messages .history-note")).to_have_text(LOADED)
        expect(page.locator("#messages li.message[data-id]")).to_have_count(4)
        expect(page.locator("#message-log")).to_have_attribute("aria-busy", "false")
        page.locator("#composer").fill("Sounds good")
        yield "chat", page

        page.locator("#emoji-button").click()
        expect(page.locator(".emoji-picker")).to_be_visible()
        yield "chat-emoji-picker", page
        page.keyboard.press("Escape")
        expect(page.locator(".emoji-picker")).to_have_count(0)

        if self.size == "phone":
            page.locator("#members-toggle").click()
            expect(page.locator("#members-panel")).to_be_visible()
            expect(page.locator("#members .member")).to_have_count(2)
            yield "chat-members", page
            page.locator("#members-close").click()

        page.goto(self.base_url + "/people/")
        expect(page.locator("#directory-list button[data-user-id]").first).to_be_visible()
        yield "people", page

        page.goto(self.base_url + "/settings/")
        expect(page.locator("#id_theme")).to_have_value(self.theme)
        yield "settings", page
