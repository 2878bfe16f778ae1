"""Files and images in a real Chromium against a real server (issue 12).

Alice adds files the three ways a person does (drop onto the room, paste a
screenshot, the paperclip), sends them, and Bob sees them live: images as
thumbnails that open in the viewer, other files as a card with a download
link. A file over the size limit is refused before anything is uploaded, and
the server's 413 (a quota) is shown as it says it. Drag and drop and paste are
synthetic events carrying a real DataTransfer, built in the page from bytes
made here; the file chooser is Playwright's.

These need the server's half (POST /api/rooms/{slug}/uploads, attachments on
messages, and serving upload.url / thumbnail_url).
"""
import base64
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.test_browser import CONFIRMED, browser, sign_up  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def live_server_env(request, tmp_path):
    """The uploads of this test's server go to a directory of its own; a test may add settings."""
    return {"PARLEY_MEDIA_ROOT": str(tmp_path / "media"), **getattr(request, "param", {})}


def png_bytes(width=48, height=32, colour=(76, 95, 213)):
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, "PNG")
    return buffer.getvalue()


# Build a File from base64 bytes inside the page and hand it to `target` as a drop or a paste.
DROP = """async ({ b64, name, type, size, selector }) => {
  const bytes = b64 !== null ? Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)) : new Uint8Array(size);
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const target = document.querySelector(selector);
  const fire = (kind) => target.dispatchEvent(new DragEvent(kind, { bubbles: true, cancelable: true, dataTransfer: data }));
  fire('dragenter');
  fire('dragover');
  const zoneShown = !document.getElementById('drop-zone').hidden;
  fire('drop');
  return { zoneShown, zoneAfter: !document.getElementById('drop-zone').hidden };
}"""

PASTE = """({ b64, name, type }) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, { type }));
  const composer = document.getElementById('composer');
  composer.focus();
  return composer.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: data }));
}"""


def drop(page, name, type_, data=None, size=0):
    b64 = base64.b64encode(data).decode() if data is not None else None
    return page.evaluate(DROP, {"b64": b64, "name": name, "type": type_, "size": size, "selector": "#messages"})


def two_in_a_room(sign_up):
    alice, bob = sign_up("Alice", "Archer"), sign_up("Bob", "Baker")
    room = alice.create_room()
    bob.join(room["slug"])
    alice.open_room(room["slug"], room["name"])
    bob.open_room(room["slug"], room["name"])
    return alice, bob, room


def uploads_seen(page):
    """Every request the page makes to an uploads endpoint, as it happens."""
    seen = []
    page.on("request", lambda request: seen.append(request.url) if request.url.endswith("/uploads") else None)
    return seen


def test_an_image_dropped_pasted_and_a_file_attached_reach_the_other_person(sign_up):
    alice, bob, room = two_in_a_room(sign_up)
    a, b = alice.page, bob.page
    chips = a.locator("#upload-list .upload-chip")
    send = a.locator("#send")
    expect(send).to_be_disabled()  # nothing to send yet

    # 1. Drop an image onto the room: the drop zone shows while dragging, the chip fills, Send works with no text.
    picture = png_bytes(480, 360)
    zone = drop(a, "pixel.png", "image/png", picture)
    assert zone == {"zoneShown": True, "zoneAfter": False}, zone
    expect(chips).to_have_count(1)
    expect(chips.locator(".upload-name")).to_have_text("pixel.png")
    expect(chips.first).to_have_class(re.compile(r"\bdone\b"))
    expect(send).to_be_enabled()
    send.click()
    expect(chips).to_have_count(0)
    expect(a.locator("#composer")).to_be_focused()

    message = b.locator(CONFIRMED).last
    thumb = message.locator(".attachments a.attachment-image img")
    expect(thumb).to_have_attribute("alt", "pixel.png")
    # The box is reserved before the image loads: 480x360 drawn within 320 px.
    expect(thumb).to_have_attribute("width", "320")
    expect(thumb).to_have_attribute("height", "240")
    b.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    sent = alice.api("GET", f"/api/rooms/{room['slug']}/messages")[1]["messages"][-1]
    upload = sent["attachments"][0]
    assert sent["body"] == "" and upload["name"] == "pixel.png" and upload["content_type"] == "image/png", sent
    expect(thumb).to_have_attribute("src", upload["thumbnail_url"])

    # 2. Bob opens it full size; Esc closes the viewer and gives the focus back to the thumbnail.
    link = message.locator("a.attachment-image")
    link.click()
    viewer = b.locator(".viewer[role=dialog]")
    expect(viewer).to_be_visible()
    expect(viewer).to_have_attribute("aria-modal", "true")
    expect(viewer.locator(".viewer-close")).to_be_focused()
    full = viewer.locator("img.viewer-image")
    expect(full).to_have_attribute("src", upload["url"])
    expect(full).to_have_attribute("alt", "pixel.png")
    b.wait_for_function("img => img.complete && img.naturalWidth === 480", arg=full.element_handle())
    b.keyboard.press("Tab")  # the focus stays in the dialog
    assert b.evaluate("document.activeElement.closest('.viewer') !== null")
    b.keyboard.press("Escape")
    expect(viewer).to_have_count(0)
    expect(link).to_be_focused()
    # A click outside the picture closes it too.
    link.click()
    expect(viewer).to_be_visible()
    viewer.click(position={"x": 5, "y": 5})
    expect(viewer).to_have_count(0)

    # 3. Alice pastes a screenshot and sends it with text.
    assert a.evaluate(PASTE, {"b64": base64.b64encode(png_bytes(60, 40)).decode(), "name": "image.png", "type": "image/png"}) is False
    expect(chips.locator(".upload-name")).to_have_text(re.compile(r"^screenshot-\d{4}-\d{2}-\d{2}-\d{6}\.png$"))
    expect(chips.first).to_have_class(re.compile(r"\bdone\b"))
    alice.send("Here is the screenshot")
    message = b.locator(CONFIRMED).last
    expect(message.locator(".body")).to_have_text("Here is the screenshot")
    expect(message.locator(".attachments img")).to_have_attribute("alt", re.compile(r"^screenshot-.*\.png$"))

    # 4. A text file through the paperclip: Bob sees a card with its name, size and a download link.
    with a.expect_file_chooser() as chooser:
        a.locator("#attach-button").click()
    chooser.value.set_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello, world"}])
    expect(chips.first).to_have_class(re.compile(r"\bdone\b"))
    send.click()
    card = b.locator(CONFIRMED).last.locator(".attachment-file")
    expect(card.locator(".attachment-name")).to_have_text("notes.txt")
    expect(card.locator(".attachment-meta")).to_contain_text("12 B")
    download = card.locator("a.attachment-download")
    expect(download).to_have_attribute("download", "notes.txt")
    expect(b.locator(CONFIRMED).last.locator("img")).to_have_count(0)
    answer = b.request.get(bob.base_url + download.get_attribute("href"))
    assert answer.status == 200 and answer.body() == b"hello, world"
    assert answer.headers.get("x-content-type-options") == "nosniff"


@pytest.mark.parametrize("live_server_env", [{"PARLEY_UPLOAD_QUOTA_MB": "1"}], indirect=True)
def test_a_file_over_the_limit_is_refused_before_uploading_and_the_servers_413_is_shown(sign_up):
    alice, _, _ = two_in_a_room(sign_up)
    page = alice.page
    uploads = uploads_seen(page)
    chips = page.locator("#upload-list .upload-chip")

    # Over PARLEY_MAX_UPLOAD_MB (25 by default): an error on the chip, no request, nothing to send.
    drop(page, "film.mov", "video/quicktime", size=26 * 1024 * 1024)
    expect(chips).to_have_count(1)
    expect(chips.first).to_have_class(re.compile(r"\bfailed\b"))
    expect(chips.locator(".upload-status")).to_have_text("film.mov is too large (26 MB; the limit is 25 MB).")
    expect(page.locator("#send")).to_be_disabled()
    assert uploads == []
    chips.locator(".upload-remove").click()
    expect(chips).to_have_count(0)

    # Under the size limit but over this server's 1 MB quota: the server's 413 is shown as it says it.
    drop(page, "more.bin", "application/octet-stream", size=1536 * 1024)
    expect(chips.first).to_have_class(re.compile(r"\bfailed\b"))
    expect(chips.locator(".upload-status")).to_have_text(re.compile(r"^more\.bin: Your files already take up your 1 MB"))
    assert len(uploads) == 1, uploads
    expect(page.locator("#send")).to_be_disabled()
    chips.locator(".upload-remove").click()

    # An upload that does not finish holds Send back, even with text; its × aborts it.
    page.route("**/uploads", lambda route: None)  # never answered
    drop(page, "slow.png", "image/png", png_bytes())
    expect(chips.first).to_have_class(re.compile(r"\buploading\b"))
    expect(chips.first.locator("progress")).to_have_count(1)
    page.locator("#composer").fill("waiting for it")
    expect(page.locator("#send")).to_be_disabled()
    page.locator("#composer").press("Enter")
    expect(page.locator("#toast")).to_contain_text("still uploading")
    expect(page.locator("#messages li.message")).to_have_count(0)

    # At 375 px the chip and the composer's buttons stay on the screen.
    page.set_viewport_size({"width": 375, "height": 700})
    for selector in ("#upload-list .upload-chip", "#attach-button", "#send", "#composer"):
        box = page.locator(selector).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (selector, box)
    chips.locator(".upload-remove").click()
    expect(chips).to_have_count(0)
    expect(page.locator("#send")).to_be_enabled()
