"""Blocking and strangers' invitations in the browser client (issue 9, item 4), in a real Chromium.

The people, the server and the browser are tests/test_browser.py's fixtures.
"""
import uuid

import pytest
from playwright.sync_api import expect

from tests.test_browser import LOADED, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]


def stranger_invites(inviter, invitee_id):
    """The inviter makes a private room and invites someone they share no room with; return the room."""
    status, body = inviter.api("POST", "/api/rooms", {"name": f"Deals {uuid.uuid4().hex[:8]}", "is_private": True})
    assert status == 201, body
    room = body["room"]
    status, body = inviter.api("POST", f"/api/rooms/{room['slug']}/invite", {"user_id": invitee_id})
    assert status == 200, body
    return room


def me(person):
    status, body = person.api("GET", "/api/me")
    assert status == 200, body
    return body["user"]


def test_a_strangers_invitation_offers_stay_leave_or_leave_and_block(sign_up):
    ana, mallory = sign_up("Ana"), sign_up("Mallory")
    room = stranger_invites(mallory, me(ana)["id"])
    ana.open_room(room["slug"], room["name"])
    notice = ana.page.locator("#room-notice")
    expect(notice).to_contain_text(f"{mallory.name} invited you.")
    expect(notice.locator("button")).to_have_text(["Stay", "Leave", f"Leave and block {mallory.name}"])

    notice.get_by_role("button", name=f"Leave and block {mallory.name}").click()
    expect(ana.page.locator("#room-list")).not_to_contain_text(room["name"])
    expect(ana.page.locator("#toast")).to_contain_text(f"You blocked {mallory.name}")
    status, body = ana.api("GET", "/api/blocks")
    assert [user["display_name"] for user in body["users"]] == [mallory.name]
    status, body = mallory.api("POST", "/api/rooms", {"name": f"Again {uuid.uuid4().hex[:8]}", "is_private": True})
    status, body = mallory.api("POST", f"/api/rooms/{body['room']['slug']}/invite", {"user_id": me(ana)["id"]})
    assert status == 403 and body["error"]["message"] == "You cannot invite this user."


def test_staying_accepts_a_strangers_invitation_for_good(sign_up):
    ana, mallory = sign_up("Ana"), sign_up("Mallory")
    room = stranger_invites(mallory, me(ana)["id"])
    ana.open_room(room["slug"], room["name"])
    notice = ana.page.locator("#room-notice")
    notice.get_by_role("button", name="Stay", exact=True).click()
    expect(notice).to_be_hidden()
    ana.open_room(room["slug"], room["name"])  # a reload: the server remembers
    expect(ana.page.locator("#messages .history-note")).to_have_text(LOADED)
    expect(notice).to_be_hidden()


def test_the_people_page_blocks_and_unblocks(sign_up):
    # A last name of his own: the live database is shared by the session's tests, which make other Bobs.
    ana, bob = sign_up("Ana"), sign_up("Bob", f"Blocked{uuid.uuid4().hex[:6]}")
    page = ana.page
    page.goto(ana.base_url + "/people/")
    row = page.locator("#directory-list li", has_text=bob.name)
    row.get_by_role("button", name="Block", exact=True).click()
    expect(row.get_by_role("button", name="Unblock", exact=True)).to_be_visible()
    expect(page.locator("#directory-status")).to_contain_text(f"You blocked {bob.name}")
    status, _ = bob.api("POST", "/api/dms", {"user_id": me(ana)["id"]})
    assert status == 403

    page.reload()  # the page knows whom I block from the start
    row = page.locator("#directory-list li", has_text=bob.name)
    row.get_by_role("button", name="Unblock", exact=True).click()
    expect(row.get_by_role("button", name="Block", exact=True)).to_be_visible()
    status, _ = bob.api("POST", "/api/dms", {"user_id": me(ana)["id"]})
    assert status == 201
