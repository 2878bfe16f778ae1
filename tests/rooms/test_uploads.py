"""Uploads (issue 12): POST /api/rooms/{slug}/uploads, attaching on post, and files leaving storage.

Every test stores into its own MEDIA_ROOT and temporary-upload directory
(the `media` fixture), so "no orphan file" is a look at two directories.
Files leave storage when the deleting transaction commits; these tests run
inside one that never does, so deletions run under
django_capture_on_commit_callbacks(execute=True), which runs them as a
commit would (and not those of a rolled-back savepoint).
"""
import io
import struct
import threading
import zlib
from datetime import timedelta
from functools import lru_cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from rooms import retention, services, uploads
from rooms.models import Message, Upload
from users import services as user_services

pytestmark = pytest.mark.django_db


# Fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    """A fresh MEDIA_ROOT and temporary-upload directory per test; returns the media root."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.FILE_UPLOAD_TEMP_DIR = tmp_path / "incoming"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def stored(settings):
    """The files in storage and in the temporary directory, as relative paths."""
    found = []
    for root in (settings.MEDIA_ROOT, settings.FILE_UPLOAD_TEMP_DIR):
        found += [str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()]
    return sorted(found)


def send(client, room, name="notes.txt", data=b"some notes\n", content_type="application/octet-stream"):
    """Upload one file as a browser's FormData does."""
    return client.client.post(
        f"/api/rooms/{room.slug}/uploads", {"file": SimpleUploadedFile(name, data, content_type)},
    )


def uploaded(client, room, name="notes.txt", data=b"some notes\n", **kwargs):
    response = send(client, room, name, data, **kwargs)
    assert response.status_code == 201, response.content
    return response.json()["upload"]


def send_raw(client, room, body, boundary="BoUnDaRy"):
    """POST a multipart body built by hand (bytes), as a broken or hostile client might."""
    return client.client.post(
        f"/api/rooms/{room.slug}/uploads", body, content_type=f"multipart/form-data; boundary={boundary}",
    )


def part(name, data, filename=None, content_type="application/octet-stream"):
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename is not None else "")
    headers = f"Content-Disposition: {disposition}\r\n"
    if filename is not None:
        headers += f"Content-Type: {content_type}\r\n"
    return headers.encode() + b"\r\n" + data


def multipart(*parts, boundary="BoUnDaRy", end=True):
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--" + boundary.encode() + b"--\r\n" if end else b"")


def image_bytes(size=(64, 48), mode="RGB", fmt="PNG", color="red", **save):
    out = io.BytesIO()
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def noise_jpeg(size=(300, 200)):
    out = io.BytesIO()
    Image.effect_noise(size, 80).convert("RGB").save(out, "JPEG", quality=95)
    return out.getvalue()


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


@lru_cache
def blank_png(width, height):
    """A valid 1-bit PNG of this size, all black: megapixels that compress to kilobytes (a decompression bomb)."""
    row = b"\x00" * (1 + (width + 7) // 8)
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND", b"")


def thumbnail_of(settings, upload_id):
    row = Upload.objects.get(id=upload_id)
    return Image.open(settings.MEDIA_ROOT / row.thumbnail.name)


@pytest.fixture
def room(ana, room_factory):
    return room_factory(ana, "Files")


@pytest.fixture
def client(api, ana):
    return api(ana)


def post_message(client, room, **data):
    return client.post(f"/api/rooms/{room.slug}/messages", data)


# Uploading ----------------------------------------------------------------------------------


def test_a_member_uploads_an_image_and_gets_its_size_its_urls_and_a_thumbnail(client, room, settings):
    upload = uploaded(client, room, "holiday photo.png", image_bytes((1000, 500)), content_type="text/plain")

    assert upload == {
        "id": upload["id"],
        "name": "holiday photo.png",
        "size": len(image_bytes((1000, 500))),
        "content_type": "image/png",
        "url": reverse("upload_file", args=[upload["id"], "holiday photo.png"]),
        "thumbnail_url": reverse("upload_thumbnail", args=[upload["id"]]),
        "width": 1000,
        "height": 500,
    }
    assert upload["url"] == f"/files/{upload['id']}/holiday%20photo.png"
    assert upload["thumbnail_url"] == f"/files/{upload['id']}/thumbnail"
    assert len(upload["id"]) >= 22  # 128 random bits
    thumbnail = thumbnail_of(settings, upload["id"])
    assert thumbnail.size == (400, 200), "at most 400x400, the aspect ratio kept"
    row = Upload.objects.get(id=upload["id"])
    assert row.message is None and row.uploader_id == client.user.id and row.room_id == room.id
    assert (settings.MEDIA_ROOT / row.file.name).read_bytes() == image_bytes((1000, 500))
    assert stored(settings) == sorted([row.file.name, row.thumbnail.name]), "no temporary file left"


@pytest.mark.parametrize("fmt, mode, content_type", [
    ("PNG", "RGBA", "image/png"), ("JPEG", "RGB", "image/jpeg"), ("GIF", "P", "image/gif"),
    ("WEBP", "RGBA", "image/webp"), ("PNG", "L", "image/png"), ("JPEG", "CMYK", "image/jpeg"),
])
def test_png_jpeg_gif_and_webp_are_images_with_thumbnails(client, room, settings, fmt, mode, content_type):
    color = (10, 20, 30, 128) if mode == "RGBA" else 7 if mode in ("P", "L") else (1, 2, 3, 4)
    upload = uploaded(client, room, "picture", image_bytes((500, 800), mode=mode, fmt=fmt, color=color))
    assert (upload["content_type"], upload["width"], upload["height"]) == (content_type, 500, 800)
    thumbnail = thumbnail_of(settings, upload["id"])
    assert thumbnail.size == (250, 400)
    if mode == "RGBA":
        assert thumbnail.mode == "RGBA", "transparency is kept"


@pytest.mark.parametrize("name, data, content_type", [
    ("report.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
    ("random.bin", bytes(range(256)) * 4, "application/octet-stream"),
    ("notes.txt", b"plain words\n", "application/octet-stream"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    ("photo.bmp", image_bytes(fmt="BMP"), "image/x-ms-bmp"),
])
def test_other_files_keep_their_sniffed_type_and_have_no_thumbnail_or_size(client, room, name, data, content_type):
    upload = uploaded(client, room, name, data, content_type="image/png")
    assert upload["content_type"] == content_type
    assert (upload["thumbnail_url"], upload["width"], upload["height"]) == (None, None, None)
    assert Upload.objects.get(id=upload["id"]).thumbnail.name == ""


def test_the_type_comes_from_the_bytes_a_png_named_exe_is_a_png(client, room):
    upload = uploaded(client, room, "setup.exe", image_bytes(), content_type="application/x-msdownload")
    assert (upload["name"], upload["content_type"]) == ("setup.exe", "image/png")
    assert upload["thumbnail_url"]


def test_an_html_file_named_png_and_claiming_image_png_is_not_an_image(client, room):
    page = b"<!DOCTYPE html><html><body><script>steal()</script></body></html>"
    upload = uploaded(client, room, "cat.png", page, content_type="image/png")
    assert upload["content_type"] in ("text/html", "application/octet-stream")
    assert upload["content_type"] != "image/png"
    assert upload["thumbnail_url"] is None


def test_an_exif_rotated_jpeg_reports_its_shown_size_and_its_thumbnail_keeps_no_metadata(client, room, settings):
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: shown 300 wide, 600 high
    exif[0x010E] = "SECRET-DESCRIPTION"
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}  # GPS
    photo = io.BytesIO()
    Image.new("RGB", (600, 300), "blue").save(photo, "JPEG", exif=exif)
    assert b"SECRET-DESCRIPTION" in photo.getvalue()

    upload = uploaded(client, room, "phone.jpg", photo.getvalue())

    assert (upload["width"], upload["height"]) == (300, 600)
    thumbnail = thumbnail_of(settings, upload["id"])
    assert thumbnail.size == (200, 400), "turned as shown, then fitted in 400x400"
    assert not thumbnail.getexif() and "exif" not in thumbnail.info
    raw = (settings.MEDIA_ROOT / Upload.objects.get(id=upload["id"]).thumbnail.name).read_bytes()
    assert b"SECRET-DESCRIPTION" not in raw and b"Exif" not in raw


def test_a_big_jpeg_is_decoded_at_reduced_size_and_keeps_its_full_dimensions(client, room, settings, monkeypatch):
    from PIL.JpegImagePlugin import JpegImageFile

    decoded = []
    load = JpegImageFile.load
    monkeypatch.setattr(JpegImageFile, "load", lambda self: decoded.append(self.size) or load(self))
    upload = uploaded(client, room, "big.jpg", image_bytes((4000, 3000), fmt="JPEG"))
    assert (upload["width"], upload["height"]) == (4000, 3000)
    assert decoded and decoded[0] == (1000, 750), "decoded at 1/4 scale: the smallest that still covers 400x400"
    assert thumbnail_of(settings, upload["id"]).size == (400, 300)


def test_under_gevent_pillow_runs_in_the_hubs_threadpool_not_in_the_worker(client, room, settings, monkeypatch):
    settings.COOPERATIVE = True
    threads = []
    inspect = uploads.inspect
    monkeypatch.setattr(uploads, "inspect", lambda file: threads.append(threading.get_ident()) or inspect(file))
    uploaded(client, room, "a.png", image_bytes())
    assert threads and threads[0] != threading.get_ident()


# Refused images ----------------------------------------------------------------------------


def test_a_decompression_bomb_is_a_clear_400_and_leaves_nothing(client, room, settings):
    bomb = blank_png(20_000, 20_000)  # 400 million pixels in about 60 KB
    assert len(bomb) < 200_000
    response = send(client, room, "bomb.png", bomb)
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (400, "invalid")
    assert "pixels" in error["message"]
    assert stored(settings) == [] and not Upload.objects.exists()


def test_an_image_past_the_pixel_limit_but_under_pillows_hard_limit_is_refused_too(client, room, settings):
    response = send(client, room, "big.png", blank_png(8_000, 8_000))  # 64 MP: Pillow only warns
    assert response.status_code == 400 and "pixels" in response.json()["error"]["message"]
    assert stored(settings) == []


@pytest.mark.parametrize("name, data", [
    ("truncated.jpg", noise_jpeg()[: len(noise_jpeg()) // 2]),
    ("garbage.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    ("bad-crc.png", image_bytes()[:-20] + b"\xff" * 20),
    ("truncated.gif", image_bytes(fmt="GIF")[:20]),
    ("riff.webp", b"RIFF\x00\x01\x00\x00WEBPVP8 " + b"\x00" * 64),
])
def test_broken_or_truncated_images_are_a_400_never_a_500_and_leave_nothing(client, room, settings, name, data):
    response = send(client, room, name, data)
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert stored(settings) == [] and not Upload.objects.exists()


# Bad input -----------------------------------------------------------------------------------


def test_an_empty_file_is_refused(client, room, settings):
    response = send(client, room, "empty.txt", b"")
    assert response.status_code == 400 and "empty" in response.json()["error"]["message"]
    assert stored(settings) == []


@pytest.mark.parametrize("sent, kept", [
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\ana\\secret.txt", "secret.txt"),
    ("..\\..\\boot.ini", "boot.ini"),
    ("tab\tand\x07bell\x1b.txt", "tabandbell.txt"),
    ("\u202egnp.exe", "gnp.exe"),
    ("a\u2028b.txt", "ab.txt"),
    ("thumbnail", "thumbnail_"),
    ("..hidden..", "..hidden.."),
])
def test_file_names_lose_paths_and_control_characters(client, room, settings, sent, kept):
    upload = uploaded(client, room, sent)
    assert upload["name"] == kept
    assert upload["url"].startswith(f"/files/{upload['id']}/")
    assert [p for p in stored(settings) if not p.startswith(f"uploads/{upload['id'][:2]}/{upload['id']}")] == []


@pytest.mark.parametrize("raw, cleaned", [
    ("", "file"), (".", "file"), ("...", "file"), ("\x00\x00", "file"), ("a\x00b", "ab"), ("  spaced   out  ", "spaced out"),
    ("x" * 300 + ".jpeg", "x" * 195 + ".jpeg"), ("y" * 300, "y" * 200), ("z" * 190 + "." + "e" * 40, ("z" * 190 + "." + "e" * 40)[:200]),
    ("e\u0301", "\u00e9"), ("\udc80bad.txt", "bad.txt"),
])
def test_clean_name_is_never_empty_and_keeps_the_extension_when_shortening(raw, cleaned):
    assert uploads.clean_name(raw) == cleaned


@pytest.mark.parametrize("filename", ["", ".", ".."])
def test_a_part_whose_file_name_is_empty_or_dots_is_no_file(client, room, settings, filename):
    response = send_raw(client, room, multipart(part("file", b"data", filename=filename)))
    assert response.status_code == 400
    assert stored(settings) == [] and not Upload.objects.exists()


def test_a_file_name_with_nul_bytes_is_cleaned(client, room):
    response = send_raw(client, room, multipart(part("file", b"data", filename="a\x00b.txt")))
    assert response.status_code == 201, response.content
    assert response.json()["upload"]["name"] == "ab.txt"


def test_a_second_file_field_is_refused_and_stores_nothing(client, room, settings):
    response = client.client.post(f"/api/rooms/{room.slug}/uploads", {
        "file": [SimpleUploadedFile("one.txt", b"one"), SimpleUploadedFile("two.txt", b"two")],
    })
    assert response.status_code == 400 and "exactly one file" in response.json()["error"]["message"]
    assert stored(settings) == [] and not Upload.objects.exists()


def test_a_file_in_another_field_is_refused(client, room, settings):
    body = multipart(part("file", b"one", filename="one.txt"), part("other", b"two", filename="two.txt"))
    assert send_raw(client, room, body).status_code == 400
    response = client.client.post(f"/api/rooms/{room.slug}/uploads", {"attachment": SimpleUploadedFile("a", b"a")})
    assert response.status_code == 400
    assert stored(settings) == []


def test_no_file_is_a_400_and_json_is_a_415(client, room):
    assert client.client.post(f"/api/rooms/{room.slug}/uploads", {"name": "x"}).status_code == 400
    assert send_raw(client, room, multipart(part("file", b"not a file part"))).status_code == 400
    response = client.post(f"/api/rooms/{room.slug}/uploads", {"file": "abc"})
    assert response.status_code == 415


def test_a_body_cut_off_in_the_middle_of_the_file_is_a_400_and_leaves_no_file(client, room, settings):
    whole = multipart(part("file", b"x" * 300_000, filename="big.bin"))
    response = send_raw(client, room, whole[:150_000])
    assert response.status_code == 400
    assert "cut off" in response.json()["error"]["message"]
    assert stored(settings) == [] and not Upload.objects.exists()


def test_a_body_cut_off_just_before_the_closing_boundary_is_refused(client, room, settings):
    body = multipart(part("file", b"complete bytes", filename="a.txt"), end=False)
    assert send_raw(client, room, body).status_code == 400
    assert stored(settings) == []


@pytest.mark.parametrize("body, content_type", [
    (b"--x\r\nnonsense", "multipart/form-data"),  # no boundary
    (b"\x00\xff" * 100, "multipart/form-data; boundary=BoUnDaRy"),
    (b"--BoUnDaRy\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n"
     b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64!!!\r\n--BoUnDaRy--\r\n",
     "multipart/form-data; boundary=BoUnDaRy"),
])
def test_malformed_multipart_is_a_400(client, room, settings, body, content_type):
    response = client.client.post(f"/api/rooms/{room.slug}/uploads", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert stored(settings) == []


def test_a_file_over_the_limit_is_413_too_large_while_one_at_the_limit_is_taken(client, room, settings):
    settings.PARLEY_MAX_UPLOAD_MB = 1
    response = send(client, room, "big.bin", b"\x01" * (uploads.MB + 1))
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    assert stored(settings) == [] and not Upload.objects.exists()
    assert uploaded(client, room, "fits.bin", b"\x01" * uploads.MB)["size"] == uploads.MB


def test_an_announced_length_over_the_limit_is_refused_before_reading_the_body(client, room, settings, monkeypatch):
    settings.PARLEY_MAX_UPLOAD_MB = 1
    read = []
    monkeypatch.setattr(uploads.Receiver, "receive_data_chunk", lambda self, data, start: read.append(len(data)))
    response = send(client, room, "big.bin", b"\x01" * (uploads.MB + uploads.MULTIPART_OVERHEAD + 1))
    assert response.status_code == 413 and read == []


def test_uploads_go_past_the_1_mb_json_limit_which_still_holds(client, room, settings):
    assert settings.DATA_UPLOAD_MAX_MEMORY_SIZE == 1_000_000
    assert uploaded(client, room, "three-mb.bin", b"\x02" * (3 * uploads.MB))["size"] == 3 * uploads.MB
    big_json = client.post(f"/api/rooms/{room.slug}/messages", raw='{"body": "' + "a" * 1_100_000 + '"}')
    assert big_json.status_code == 413
    fields = multipart(part("file", b"x", filename="x.txt"), part("note", b"n" * 1_100_000))
    assert send_raw(client, room, fields).status_code == 413, "the form's other fields keep the 1 MB limit"
    assert len(stored(settings)) == 1


def test_the_quota_counts_every_stored_upload_and_refuses_with_413_quota_exceeded(client, room, settings):
    settings.PARLEY_UPLOAD_QUOTA_MB = 1
    first = uploaded(client, room, "a.bin", b"\x03" * 600_000)
    post_message(client, room, attachments=[first["id"]])  # attached files count too
    response = send(client, room, "b.bin", b"\x03" * 600_000)
    assert (response.status_code, response.json()["error"]["code"]) == (413, "quota_exceeded")
    assert len(stored(settings)) == 1
    assert uploaded(client, room, "c.bin", b"\x03" * 400_000)


def test_a_full_quota_is_refused_before_reading_the_body(client, room, settings, monkeypatch):
    settings.PARLEY_UPLOAD_QUOTA_MB = 1
    uploaded(client, room, "a.bin", b"\x03" * uploads.MB)
    read = []
    monkeypatch.setattr(uploads.Receiver, "receive_data_chunk", lambda self, data, start: read.append(len(data)))
    assert send(client, room, "b.bin", b"x").status_code == 413 and read == []


def test_uploads_are_rate_limited_per_user(client, room, settings):
    settings.PARLEY_RATE_LIMITS = True
    settings.PARLEY_RATE_UPLOAD = (2, 600)
    assert send(client, room).status_code == 201
    assert send(client, room).status_code == 201
    response = send(client, room)
    assert (response.status_code, response.json()["error"]["code"]) == (429, "rate_limited")
    assert response["Retry-After"]


def test_a_session_upload_needs_the_csrf_token_like_any_other_write(ana, room, settings):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(ana)
    browser.get("/rooms/")  # sets the CSRF cookie
    url = f"/api/rooms/{room.slug}/uploads"
    assert browser.post(url, {"file": SimpleUploadedFile("a.txt", b"a")}).status_code == 403
    assert stored(settings) == []
    token = browser.cookies["csrftoken"].value
    response = browser.post(url, {"file": SimpleUploadedFile("a.txt", b"a")}, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


# Who may upload -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["public", "private", "dm"])
@pytest.mark.parametrize("who", ["anonymous", "member", "outsider", "staff"])
def test_authorization_matrix_for_uploading(api, make_user, room_factory, settings, kind, who):
    owner, member = make_user("Owner"), make_user("Member")
    outsider, staff = make_user("Outsider"), make_user("Staff", staff=True)
    if kind == "dm":
        target, _ = services.dm_open(user=owner, other=member)
    else:
        target = room_factory(owner, is_private=kind == "private")
        services.room_invite(room=target, inviter=owner, invitee=member)
    client = api({"anonymous": None, "member": member, "outsider": outsider, "staff": staff}[who])
    expected = {
        "anonymous": 401, "member": 201,
        "outsider": 403 if kind == "public" else 404, "staff": 403 if kind == "public" else 404,
    }[who]
    response = send(client, target)
    assert response.status_code == expected, response.content
    assert len(stored(settings)) == (1 if expected == 201 else 0)


def test_an_upload_into_a_room_the_user_left_is_403_and_stores_nothing(api, bob, room, settings):
    services.room_join(room=room, user=bob)
    services.room_leave(room=room, user=bob)
    response = send(api(bob), room)
    assert response.status_code == 403
    assert stored(settings) == [] and not Upload.objects.exists()


def test_leaving_while_the_file_arrives_stores_nothing(bob, room, settings):
    services.room_join(room=room, user=bob)
    services.room_leave(room=room, user=bob)  # after the view's check, before the row is written
    with pytest.raises(uploads.NotAMember):
        uploads.upload_create(room=room, uploader=bob, file=SimpleUploadedFile("a.png", image_bytes()))
    assert stored(settings) == [] and not Upload.objects.exists()


def test_a_database_error_while_writing_the_row_leaves_no_file(ana, room, settings, monkeypatch):
    def broken(self, *args, **kwargs):
        raise RuntimeError("database gone")

    monkeypatch.setattr(Upload, "save", broken)
    with pytest.raises(RuntimeError):
        uploads.upload_create(room=room, uploader=ana, file=SimpleUploadedFile("a.png", image_bytes()))
    assert stored(settings) == []


# Attaching ----------------------------------------------------------------------------------------


def test_a_message_attaches_uploads_in_the_order_given_and_may_have_no_text(client, room, feed, ana):
    first, second = uploaded(client, room, "one.txt"), uploaded(client, room, "two.png", image_bytes())
    watcher = feed(ana)

    response = post_message(client, room, body="", attachments=[second["id"], first["id"]])

    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["attachments"] == [second, first]
    assert message["body"] == ""
    history = client.get(f"/api/rooms/{room.slug}/messages").json()["messages"]
    assert history[-1]["attachments"] == [second, first]
    assert client.get(f"/api/messages/{message['id']}").json()["message"]["attachments"] == [second, first]
    [event] = watcher.take("message")
    assert event["message"]["attachments"] == [second, first]
    rows = Upload.objects.filter(message_id=message["id"]).order_by("attachment_index")
    assert [row.id for row in rows] == [second["id"], first["id"]]


def test_a_message_with_text_and_files_and_one_without_files(client, room):
    upload = uploaded(client, room)
    with_file = post_message(client, room, body="look", attachments=[upload["id"]]).json()["message"]
    plain = post_message(client, room, body="plain", attachments=[]).json()["message"]
    assert (with_file["body"], len(with_file["attachments"])) == ("look", 1)
    assert plain["attachments"] == []
    assert post_message(client, room, body=" ").status_code == 400, "no text and no files: still refused"
    assert post_message(client, room, body="", attachments=[]).status_code == 400


def test_a_resent_post_with_its_client_id_returns_the_first_message(client, room):
    upload = uploaded(client, room)
    first = post_message(client, room, body="", client_id="c1", attachments=[upload["id"]])
    again = post_message(client, room, body="", client_id="c1", attachments=[upload["id"]])
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["message"] == first.json()["message"]


def _attach_error(response):
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and "attachments" in error["fields"]
    return error


def test_attaching_what_is_not_ones_own_unattached_upload_in_this_room_is_the_same_400(
    api, ana, bob, make_user, room, room_factory,
):
    staff = make_user("Staff", staff=True)
    for user in (bob, staff):
        services.room_join(room=room, user=user)
    ana_client, bob_client, staff_client = api(ana), api(bob), api(staff)
    anas = uploaded(ana_client, room)
    elsewhere = room_factory(ana, "Elsewhere")
    other_room = uploaded(ana_client, elsewhere)
    used = uploaded(ana_client, room)
    post_message(ana_client, room, body="sent", attachments=[used["id"]])

    errors = [
        _attach_error(post_message(bob_client, room, body="mine?", attachments=[anas["id"]])),
        _attach_error(post_message(staff_client, room, body="mine?", attachments=[anas["id"]])),
        _attach_error(post_message(ana_client, room, body="x", attachments=[other_room["id"]])),
        _attach_error(post_message(ana_client, room, body="x", attachments=[used["id"]])),
        _attach_error(post_message(ana_client, room, body="x", attachments=["no-such-upload-id-at-all"])),
    ]
    assert all(error == errors[0] for error in errors), "the same answer whether the upload exists or not"
    assert Upload.objects.get(id=anas["id"]).message is None
    assert Message.objects.filter(room=room).count() == 1


def test_a_refused_attachment_rolls_back_the_whole_post(client, room, ana, room_factory):
    mine = uploaded(client, room)
    messages = Message.objects.count()
    _attach_error(post_message(client, room, body="x", attachments=[mine["id"], "not-mine"]))
    assert Message.objects.count() == messages
    assert Upload.objects.get(id=mine["id"]).message is None, "the good one is not attached either"


@pytest.mark.parametrize("attachments", [
    "abc", [1, 2], [None], [""], ["a" * 65], ["same", "same"], [f"id{n}" for n in range(11)], {"id": "x"},
])
def test_malformed_attachments_are_a_400(client, room, attachments):
    _attach_error(post_message(client, room, body="x", attachments=attachments))


def test_a_message_with_ten_files_is_fine(client, room):
    ids = [uploaded(client, room, f"{n}.txt")["id"] for n in range(10)]
    message = post_message(client, room, attachments=ids).json()["message"]
    assert [a["id"] for a in message["attachments"]] == ids


@pytest.mark.parametrize("kind", ["public", "private", "dm"])
def test_authorization_matrix_for_attaching(api, make_user, room_factory, kind):
    """Members attach their own uploads; nobody else posts there at all (403 or 404, as for plain messages)."""
    owner, member = make_user("Owner"), make_user("Member")
    outsider, staff = make_user("Outsider"), make_user("Staff", staff=True)
    if kind == "dm":
        target, _ = services.dm_open(user=owner, other=member)
    else:
        target = room_factory(owner, is_private=kind == "private")
        services.room_invite(room=target, inviter=owner, invitee=member)
    upload = uploaded(api(member), target)
    refused = 403 if kind == "public" else 404
    assert api(None).post(f"/api/rooms/{target.slug}/messages", {"attachments": [upload["id"]]}).status_code == 401
    for stranger in (outsider, staff):
        response = post_message(api(stranger), target, attachments=[upload["id"]])
        assert response.status_code == refused
    _attach_error(post_message(api(owner), target, body="x", attachments=[upload["id"]]))
    assert post_message(api(member), target, attachments=[upload["id"]]).status_code == 201


def test_history_with_attachments_costs_the_same_queries_for_5_and_50_messages(client, ana, room_factory):
    def fill(room, count):
        for n in range(count):
            ids = [uploaded(client, room, f"{n}-{k}.txt")["id"] for k in range(2)]
            post_message(client, room, body=f"message {n}", attachments=ids)

    small, large = room_factory(ana, "small"), room_factory(ana, "large")
    fill(small, 5)
    fill(large, 50)
    counts = []
    for room in (small, large):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/rooms/{room.slug}/messages", {"limit": "200"})
        assert all(len(m["attachments"]) == 2 for m in response.json()["messages"])
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# Cleanup -------------------------------------------------------------------------------------------


def _message_with_files(client, room, count=2):
    ids = [uploaded(client, room, f"{n}.png", image_bytes())["id"] for n in range(count)]
    response = post_message(client, room, body="files", attachments=ids)
    assert response.status_code == 201, response.content
    return response.json()["message"]


def test_deleting_a_message_deletes_its_files(client, room, settings, django_capture_on_commit_callbacks):
    kept = uploaded(client, room, "kept.txt")
    message = _message_with_files(client, room)
    assert len(stored(settings)) == 5

    with django_capture_on_commit_callbacks(execute=True):
        assert client.client.delete(f"/api/messages/{message['id']}").status_code == 204

    assert not Upload.objects.filter(message_id=message["id"]).exists()
    assert stored(settings) == [Upload.objects.get(id=kept["id"]).file.name]


def test_the_retention_purge_deletes_purged_messages_files_and_counts_them(
    client, room, settings, django_capture_on_commit_callbacks,
):
    settings.PARLEY_RETENTION_MESSAGES = 1
    old = _message_with_files(client, room)
    post_message(client, room, body="newest")
    size = sum(a["size"] for a in old["attachments"])

    freed = uploads.Freed()
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.purge_messages(freed=freed) == {room.slug: 1}

    assert (freed.files, freed.bytes) == (2, size)
    assert stored(settings) == [] and not Upload.objects.exists()


def test_the_purge_command_reports_bytes_freed_and_dry_run_deletes_nothing(
    client, room, settings, django_capture_on_commit_callbacks,
):
    settings.PARLEY_RETENTION_MESSAGES = 1
    old = _message_with_files(client, room)
    post_message(client, room, body="newest")
    size = sum(a["size"] for a in old["attachments"])
    before = stored(settings)

    out = io.StringIO()
    call_command("purge_messages", "--dry-run", stdout=out)
    assert f"Would delete 2 file(s): would free {size} bytes" in out.getvalue()
    assert stored(settings) == before

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_messages", stdout=out)
    assert f"Deleted 2 file(s): freed {size} bytes" in out.getvalue()
    assert stored(settings) == []


def test_ephemeral_rooms_files_go_with_their_messages(
    client, ana, room_factory, settings, django_capture_on_commit_callbacks,
):
    room = room_factory(ana, "Fleeting", is_ephemeral=True)
    _message_with_files(client, room)
    assert stored(settings)
    freed = uploads.Freed()
    later = timezone.now() + timedelta(seconds=settings.PARLEY_EPHEMERAL_SECONDS + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.purge_transient(now=later, freed=freed)["ephemeral_messages"] == 1
    assert freed.files == 2
    assert stored(settings) == [] and not Upload.objects.exists()


def test_deleting_an_account_deletes_its_files_attached_or_not(
    api, bob, room, settings, django_capture_on_commit_callbacks,
):
    services.room_join(room=room, user=bob)
    bobs = api(bob)
    _message_with_files(bobs, room)
    uploaded(bobs, room, "draft.txt")
    assert len(stored(settings)) == 5
    with django_capture_on_commit_callbacks(execute=True):
        user_services.user_delete(user=bob)
    assert stored(settings) == [] and not Upload.objects.exists()


def test_uploads_never_attached_are_deleted_after_a_day_with_the_bytes_reported(
    client, room, settings, django_capture_on_commit_callbacks,
):
    stale = uploaded(client, room, "stale.png", image_bytes())
    fresh = uploaded(client, room, "fresh.txt")
    sent = _message_with_files(client, room, count=1)
    Upload.objects.exclude(id=fresh["id"]).update(created_at=timezone.now() - timedelta(days=1, minutes=1))

    out = io.StringIO()
    call_command("purge_messages", "--dry-run", "-v", "2", stdout=out)
    assert f"Would delete 1 upload(s) no message attached ({stale['size']} bytes)" in out.getvalue()
    assert Upload.objects.count() == 3

    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("purge_messages", "-v", "2", stdout=out)
    assert f"Deleted 1 file(s): freed {stale['size']} bytes" in out.getvalue()
    assert set(Upload.objects.values_list("id", flat=True)) == {fresh["id"], sent["attachments"][0]["id"]}
    assert len(stored(settings)) == 1 + 2, "the fresh upload, the sent one and its thumbnail"


def test_a_purge_with_nothing_to_delete_says_nothing_about_files(client, room):
    uploaded(client, room)
    out = io.StringIO()
    call_command("purge_messages", stdout=out)
    assert "file" not in out.getvalue()


def test_deleting_a_room_deletes_its_files(client, room, settings, django_capture_on_commit_callbacks):
    _message_with_files(client, room)
    uploaded(client, room)
    with django_capture_on_commit_callbacks(execute=True):
        room.delete()
    assert stored(settings) == []


def test_a_file_deleted_in_a_rolled_back_transaction_stays(client, room, settings, django_capture_on_commit_callbacks):
    from django.db import transaction

    upload = uploaded(client, room)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            Upload.objects.filter(id=upload["id"]).delete()
            raise RuntimeError("rolled back")
    assert Upload.objects.filter(id=upload["id"]).exists()
    assert stored(settings)
