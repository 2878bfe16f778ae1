"""The settings page, the theme and "Forgot password?" in a real Chromium (issue 14), at
desktop and phone size."""
import re
import time

import pytest
from playwright.sync_api import expect

from tests.live import PASSWORD
from tests.test_browser import browser  # noqa: F401 (fixture)
from tests.tour import SIZES, new_context, register

pytestmark = [pytest.mark.browser, pytest.mark.server]

# The page background (--bg) of each theme, as getComputedStyle answers.
LIGHT_BG, DARK_BG = "rgb(245, 246, 248)", "rgb(15, 18, 23)"
NEW_PASSWORD = "a brand new passphrase 7"


def background(page):
    return page.evaluate("getComputedStyle(document.body).backgroundColor")


def log_in(context, base_url, email, password=PASSWORD):
    page = context.new_page()
    page.goto(base_url + "/login/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    return page


@pytest.mark.parametrize("size", list(SIZES))
def test_the_theme_chosen_in_settings_follows_the_person_and_system_follows_the_device(browser, live_server_url, size):
    mine, elsewhere = new_context(browser, size, "light"), new_context(browser, size, "dark")
    try:
        ana = register(mine, live_server_url, "Ana", "Alves")
        page = ana.page
        assert background(page) == LIGHT_BG  # "system", on a light device

        page.goto(live_server_url + "/settings/")
        expect(page.locator("#id_theme")).to_have_value("system")
        page.fill("#id_first_name", "Anna")
        page.select_option("#id_theme", "dark")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator(".notice.success")).to_have_text("Settings saved.")
        expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        assert background(page) == DARK_BG
        if size == "desktop":
            expect(page.locator(".whoami")).to_have_text("Anna Alves")

        # Another browser, on a dark device: dark because she chose it; then "light" wins over the device.
        other = log_in(elsewhere, live_server_url, ana.email)
        other.wait_for_url("**/rooms/")
        assert background(other) == DARK_BG
        other.goto(live_server_url + "/settings/")
        other.select_option("#id_theme", "light")
        other.get_by_role("button", name="Save", exact=True).click()
        expect(other.locator("html")).to_have_attribute("data-theme", "light")
        assert background(other) == LIGHT_BG

        # "Match the system": each device's own preference.
        other.select_option("#id_theme", "system")
        other.get_by_role("button", name="Save", exact=True).click()
        expect(other.locator("html")).to_have_attribute("data-theme", "system")
        assert background(other) == DARK_BG
        page.reload()
        assert background(page) == LIGHT_BG
    finally:
        mine.close()
        elsewhere.close()


def mailed_link(log_path, email, timeout=10):
    """The reset link in the mail the live server printed (the console email backend) for `email`."""
    deadline = time.monotonic() + timeout
    pattern = re.compile(r"To: " + re.escape(email) + r"[\s\S]*?(http://\S+/password-reset/\S+/\S+/)")
    while time.monotonic() < deadline:
        match = pattern.search(log_path.read_text(errors="replace"))
        if match:
            return match[1]
        time.sleep(0.1)  # the worker writes the mail to its log; nothing to wait on but the file
    raise AssertionError(f"no mail to {email} in {log_path}")


@pytest.mark.parametrize("size", list(SIZES))
def test_forgot_password_mails_a_link_that_sets_a_new_password_and_logs_out_elsewhere(
        browser, live_server_url, tmp_path, size):
    mine, stranger = new_context(browser, size, "light"), new_context(browser, size, "light")
    try:
        ana = register(mine, live_server_url, "Ana", "Alves")  # her session stays open here
        page = stranger.new_page()
        page.goto(live_server_url + "/login/")
        page.get_by_role("link", name="Forgot password?").click()
        expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
        page.fill("#id_email", ana.email)
        page.get_by_role("button", name="Send the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

        link = mailed_link(tmp_path / "server0.log", ana.email)
        page.goto(link)
        expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
        page.fill("#id_new_password1", NEW_PASSWORD)
        page.fill("#id_new_password2", NEW_PASSWORD)
        page.get_by_role("button", name="Set the new password").click()
        expect(page.get_by_role("heading", name="Your password is changed")).to_be_visible()

        # Her open session elsewhere ends; the new password logs in, the old one does not.
        ana.page.goto(live_server_url + "/rooms/")
        ana.page.wait_for_url("**/login/**")
        refused = log_in(stranger, live_server_url, ana.email, PASSWORD)
        expect(refused.locator(".form-errors")).to_contain_text("Wrong email or password.")
        page = log_in(stranger, live_server_url, ana.email, NEW_PASSWORD)
        page.wait_for_url("**/rooms/")

        # The link worked once.
        page.goto(link)
        expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    finally:
        mine.close()
        stranger.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_an_unknown_email_gets_the_same_page_in_the_browser(browser, live_server_url, tmp_path, size):
    context = new_context(browser, size, "dark")
    try:
        page = context.new_page()
        page.goto(live_server_url + "/password-reset/")
        assert background(page) == DARK_BG  # nobody logged in: the device's preference
        page.fill("#id_email", "nobody-at-all@example.com")
        page.get_by_role("button", name="Send the link").click()
        expect(page.get_by_role("heading", name="Check your email")).to_be_visible()
        assert "nobody-at-all@example.com" not in (tmp_path / "server0.log").read_text(errors="replace")
    finally:
        context.close()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_room_card_looks_the_same_whether_or_not_one_is_a_member(browser, live_server_url, size):
    """The members panel's `.member` rule once reached the rooms page's member cards too."""
    context, other_context = new_context(browser, size, "light"), new_context(browser, size, "light")
    try:
        ana, ben = register(context, live_server_url, "Ana", "Alves"), register(other_context, live_server_url, "Ben", "Brown")
        mine, theirs = ana.create_room(), ben.create_room()
        ana.page.goto(live_server_url + "/rooms/")
        look = """(card) => { const s = getComputedStyle(card), name = getComputedStyle(card.querySelector('.room-name'));
            return [s.paddingTop, s.paddingBottom, s.fontSize, name.fontSize]; }"""
        member = ana.page.locator(f".room-card.member[data-slug='{mine['slug']}']").evaluate(look)
        other = ana.page.locator(f".room-card:not(.member)[data-slug='{theirs['slug']}']").evaluate(look)
        assert member == other
    finally:
        context.close()
        other_context.close()
