"""Serving uploaded files (rooms/files.py): who may read, the headers, ranges, nginx hand-off, no held connection.

Uploads are made here directly (bytes into default_storage, then the row),
so these tests do not depend on the upload endpoint.
"""
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.urls import reverse

from rooms import messaging, polling, services
from rooms.models import Upload
from tests.conftest import Api
from users.services import user_block

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4  # enough of a PNG for serving, which never decodes it
BODY = bytes(range(256)) * 1000  # 256,000 bytes: several chunks


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PARLEY_X_ACCEL_REDIRECT = ""
    return settings.MEDIA_ROOT


@pytest.fixture
def make_upload():
    """make_upload(uploader, room, data=..., name=..., content_type=..., message=None, thumbnail=None)."""

    def make(uploader, room, *, data=BODY, name="report.pdf", content_type="application/pdf", message=None,
             thumbnail=None):
        upload = Upload(uploader=uploader, room=room, name=name, size=len(data), content_type=content_type,
                        message=message)
        upload.file.save("ignored", ContentFile(data), save=False)  # stored by id (models.upload_path)
        if thumbnail is not None:
            upload.thumbnail.save(f"{upload.id}.png", ContentFile(thumbnail), save=False)
        upload.save()
        return upload

    return make


def url(upload, name=None):
    return reverse("upload_file", args=[upload.id, name or upload.name])


def thumb_url(upload):
    return reverse("upload_thumbnail", args=[upload.id])


def attach(upload, author=None):
    message, _ = messaging.message_post(room=upload.room, author=author or upload.uploader, body="a file")
    upload.message = message
    upload.save(update_fields=["message"])
    return upload


def body_of(response):
    return b"".join(response.streaming_content) if response.streaming else response.content


# Who may read --------------------------------------------------------------------------------


ROLES = ["anonymous", "pending", "nonmember", "member", "uploader", "staff"]


@pytest.fixture
def world(make_user, room_factory, make_upload):
    """An uploader and a member in a public room, a private room and a DM; a non-member, staff, a pending user."""
    uploader, member = make_user("Uma"), make_user("Mia")
    people = {
        "uploader": uploader, "member": member, "nonmember": make_user("Nico"),
        "staff": make_user("Stella", staff=True), "pending": make_user("Pat", approved=False),
    }
    public = room_factory(uploader, "public files")
    private = room_factory(uploader, "private files", is_private=True)
    services.room_join(room=public, user=member)
    services.room_invite(room=private, inviter=uploader, invitee=member)
    dm, _ = services.dm_open(user=uploader, other=member)
    rooms = {"public": public, "private": private, "dm": dm}
    return people, rooms


def client_for(role, people):
    if role == "anonymous":
        return Client()
    if role == "pending":  # a session for someone staff has not approved yet (a token would not work at all)
        client = Client()
        client.force_login(people["pending"])
        return client
    return Api(people[role]).client


def expected(role, kind, attached):
    if not attached:
        return role == "uploader"
    if role in ("uploader", "member"):
        return True
    return kind == "public" and role in ("nonmember", "staff")


@pytest.mark.parametrize("attached", [True, False], ids=["attached", "not_attached"])
@pytest.mark.parametrize("kind", ["public", "private", "dm"])
def test_a_file_is_readable_exactly_by_its_rooms_readers_once_attached_and_by_its_uploader_before(
        world, make_upload, kind, attached):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms[kind], thumbnail=PNG)
    if attached:
        attach(upload)
    for role in ROLES:
        client = client_for(role, people)
        response = client.get(url(upload))
        thumbnail = client.get(thumb_url(upload))
        if expected(role, kind, attached):
            assert response.status_code == 200, role
            assert body_of(response) == BODY, role
            assert thumbnail.status_code == 200 and body_of(thumbnail) == PNG, role
        else:  # never 403: a 404 confirms nothing about the file
            assert response.status_code == 404, role
            assert thumbnail.status_code == 404, role
            assert response["Cache-Control"] == "no-store"


def test_a_session_reads_files_as_a_token_does(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["private"]))
    client = Client()
    client.force_login(people["member"])
    assert client.get(url(upload)).status_code == 200
    client.force_login(people["nonmember"])
    assert client.get(url(upload)).status_code == 404


def test_an_unknown_id_and_a_wrong_name_get_the_same_404(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["public"]))
    reader = Api(people["member"]).client
    assert reader.get(url(upload)).status_code == 200
    assert reader.get(url(upload, "other.pdf")).status_code == 404
    assert reader.get(url(upload, "REPORT.PDF")).status_code == 404
    assert reader.get(reverse("upload_file", args=["x" * 22, upload.name])).status_code == 404


def test_a_file_with_a_non_ascii_name_is_served_under_that_name(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["public"], name="Überblick 2026 (final).pdf"))
    response = Api(people["member"]).client.get(url(upload))
    assert response.status_code == 200
    assert response["Content-Disposition"] == "attachment; filename*=utf-8''%C3%9Cberblick%202026%20%28final%29.pdf"


def test_files_of_someone_the_reader_blocks_are_404_as_their_messages_are(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["public"]))
    user_block(blocker=people["member"], blocked=people["uploader"])
    people["member"].refresh_from_db()
    assert Api(people["member"]).client.get(url(upload)).status_code == 404
    assert Api(people["nonmember"]).client.get(url(upload)).status_code == 200


def test_a_member_who_leaves_a_private_room_loses_its_files(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["private"]))
    reader = Api(people["member"]).client
    assert reader.get(url(upload)).status_code == 200
    services.room_leave(room=rooms["private"], user=people["member"])
    assert reader.get(url(upload)).status_code == 404


def test_a_file_goes_with_its_message(world, make_upload):
    people, rooms = world
    upload = attach(make_upload(people["uploader"], rooms["public"]))
    messaging.message_delete(message=upload.message)
    assert Api(people["uploader"]).client.get(url(upload)).status_code == 404


def test_only_get_and_head_are_allowed(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"])
    assert Api(people["uploader"]).client.post(url(upload)).status_code == 405


# Headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("content_type, inline", [
    ("image/png", True), ("image/jpeg", True), ("image/gif", True), ("image/webp", True),
    ("image/svg+xml", False), ("text/html", False), ("application/pdf", False), ("text/plain", False),
    ("video/mp4", False), ("application/octet-stream", False),
])
def test_only_png_jpeg_gif_and_webp_are_inline_everything_else_is_an_attachment(world, make_upload, content_type,
                                                                               inline):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="file.bin", content_type=content_type)
    response = Api(people["uploader"]).client.get(url(upload))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Disposition"] == ('inline; filename="file.bin"' if inline
                                               else 'attachment; filename="file.bin"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert response["Cache-Control"] == "private, max-age=86400"
    assert response["Cross-Origin-Resource-Policy"] == "same-origin"
    assert response["ETag"] == f'"{upload.id}"'


def test_an_html_upload_is_never_rendered_even_when_it_claims_to_be_an_image(world, make_upload):
    """The type comes from the bytes at upload; a malformed stored type falls back to a download."""
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="x.html", data=b"<script>alert(1)</script>",
                         content_type="text/html\r\nX-Evil: 1")
    response = Api(people["uploader"]).client.get(url(upload))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "X-Evil" not in response


def test_the_pages_csp_does_not_replace_the_files(world, make_upload, settings):
    people, rooms = world
    assert settings.PARLEY_CSP  # the middleware sets it when a response has none
    upload = make_upload(people["uploader"], rooms["public"])
    assert Api(people["uploader"]).client.get(url(upload))["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_thumbnails_are_inline_images_with_the_same_headers(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="photo.jpg", content_type="image/jpeg",
                         thumbnail=PNG)
    response = Api(people["uploader"]).client.get(thumb_url(upload))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="photo-thumbnail.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_thumbnail_stored_without_an_extension_is_typed_by_its_bytes_and_non_images_are_not_served(
        world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="a.gif", content_type="image/gif")
    upload.thumbnail.save(f"{upload.id}-t", ContentFile(b"GIF89a" + b"\0" * 20))
    client = Api(people["uploader"]).client
    assert client.get(thumb_url(upload))["Content-Type"] == "image/gif"
    upload.thumbnail.save(f"{upload.id}-u", ContentFile(b"<svg onload=alert(1)>"))
    assert client.get(thumb_url(upload)).status_code == 404


def test_a_file_without_a_thumbnail_has_none(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"])
    assert Api(people["uploader"]).client.get(thumb_url(upload)).status_code == 404


def test_a_file_named_thumbnail_is_not_reachable_by_name(world, make_upload):
    """The two URL patterns overlap on this one name; the thumbnail's wins (the upload side refuses the name)."""
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="thumbnail")
    assert Api(people["uploader"]).client.get(url(upload)).status_code == 404


def test_a_matching_etag_answers_304_without_a_body(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"])
    client = Api(people["uploader"]).client
    response = client.get(url(upload), headers={"If-None-Match": f'"{upload.id}"'})
    assert response.status_code == 304 and response.content == b""
    assert client.get(url(upload), headers={"If-None-Match": '"other"'}).status_code == 200


def test_bytes_missing_from_storage_are_a_404_not_a_500(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"])
    default_storage.delete(upload.file.name)
    assert Api(people["uploader"]).client.get(url(upload)).status_code == 404


# Ranges and HEAD ----------------------------------------------------------------------------


@pytest.fixture
def reader_and_upload(world, make_upload):
    people, rooms = world
    return Api(people["uploader"]).client, make_upload(people["uploader"], rooms["public"])


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-99", 0, 99),
    ("bytes=1000-", 1000, len(BODY) - 1),
    ("bytes=-500", len(BODY) - 500, len(BODY) - 1),
    ("bytes=100000-999999999", 100000, len(BODY) - 1),
    ("bytes=-999999999", 0, len(BODY) - 1),
    ("bytes=255999-255999", 255999, 255999),
])
def test_a_single_range_is_answered_206_with_its_bytes(reader_and_upload, header, start, end):
    client, upload = reader_and_upload
    response = client.get(url(upload), headers={"Range": header})
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes {start}-{end}/{len(BODY)}"
    assert response["Content-Length"] == str(end - start + 1)
    assert response["Accept-Ranges"] == "bytes"
    assert body_of(response) == BODY[start:end + 1]


@pytest.mark.parametrize("header", ["bytes=256000-", "bytes=300000-300010", "bytes=-0"])
def test_an_unsatisfiable_range_is_416(reader_and_upload, header):
    client, upload = reader_and_upload
    response = client.get(url(upload), headers={"Range": header})
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(BODY)}"


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=-", "nonsense"])
def test_several_ranges_or_a_malformed_one_get_the_whole_file(reader_and_upload, header):
    client, upload = reader_and_upload
    response = client.get(url(upload), headers={"Range": header})
    assert response.status_code == 200
    assert body_of(response) == BODY


def test_a_range_for_another_version_gets_the_whole_file(reader_and_upload):
    client, upload = reader_and_upload
    stale = client.get(url(upload), headers={"Range": "bytes=0-9", "If-Range": '"old"'})
    assert stale.status_code == 200 and body_of(stale) == BODY
    fresh = client.get(url(upload), headers={"Range": "bytes=0-9", "If-Range": f'"{upload.id}"'})
    assert fresh.status_code == 206 and body_of(fresh) == BODY[:10]


def test_head_answers_the_headers_and_length_without_the_bytes(reader_and_upload):
    client, upload = reader_and_upload
    response = client.head(url(upload))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(BODY))
    assert response["Content-Disposition"].startswith("attachment;")
    assert body_of(response) == b""


def test_an_empty_file_is_served_and_any_range_of_it_is_416(world, make_upload):
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], data=b"")
    client = Api(people["uploader"]).client
    response = client.get(url(upload))
    assert response.status_code == 200 and body_of(response) == b""
    assert client.get(url(upload), headers={"Range": "bytes=-1"}).status_code == 416


# Behind nginx ---------------------------------------------------------------------------------


def test_with_x_accel_redirect_the_app_answers_headers_only_and_names_the_stored_file(world, make_upload, settings):
    settings.PARLEY_X_ACCEL_REDIRECT = "/_parley_media"
    people, rooms = world
    upload = make_upload(people["uploader"], rooms["public"], name="pic.png", content_type="image/png",
                         thumbnail=PNG)
    client = Api(people["uploader"]).client
    response = client.get(url(upload), headers={"Range": "bytes=0-9"})  # nginx does ranges itself
    assert response.status_code == 200
    assert response.content == b""
    assert response["X-Accel-Redirect"] == f"/_parley_media/uploads/{upload.id[:2]}/{upload.id}"
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == 'inline; filename="pic.png"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    thumbnail = client.get(thumb_url(upload))
    assert thumbnail["X-Accel-Redirect"] == f"/_parley_media/{upload.thumbnail.name}" and thumbnail.content == b""
    # Access is still the app's: nothing is handed to nginx for someone who may not read it.
    hidden = make_upload(people["uploader"], rooms["private"])
    denied = Api(people["nonmember"]).client.get(url(hidden))
    assert denied.status_code == 404 and "X-Accel-Redirect" not in denied


# No database connection held during a transfer --------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_streamed_download_gives_its_database_connection_back_before_the_first_byte(
        make_user, room_factory, make_upload, monkeypatch):
    """Outside a test transaction the stream really closes the connection, as on a server.

    SQLite's in-memory test database ignores close() (it would lose the
    database), so there the call itself is what is checked; on PostgreSQL
    (DATABASE_URL=postgres://...) the connection is really gone.
    """
    uploader = make_user("Uma")
    upload = attach(make_upload(uploader, room_factory(uploader, "big files")))
    released = []
    release = polling.release_connection
    monkeypatch.setattr(polling, "release_connection", lambda: (released.append(True), release()))
    response = Api(uploader).client.get(url(upload))
    assert response.status_code == 200 and response.streaming
    assert connection.connection is not None  # the view's queries opened it; the test client does not close it
    assert not released
    chunks = iter(response.streaming_content)
    first = next(chunks)
    assert released == [True]
    if connection.vendor != "sqlite" or not connection.is_in_memory_db():
        assert connection.connection is None, "the transfer must not hold a database connection"
    rest = b"".join(chunks)
    assert first + rest == BODY
    response.close()
