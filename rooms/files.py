"""Serving uploaded files: the app decides who may read a file; nginx, or a greenlet, sends the bytes.

Who may read is `selectors.upload_for()`; everyone else, anonymous included,
gets the same 404 as for an id that never existed, so a URL confirms nothing.

With PARLEY_X_ACCEL_REDIRECT set (deploy/nginx.conf), the answer is an empty
200 with `X-Accel-Redirect: <prefix>/<storage name>`: nginx sends the bytes
from its `internal` location (ranges, HEAD and conditional requests
included) and the app worker is free as soon as the headers are out. nginx
keeps the upstream's Content-Type, Content-Disposition and Cache-Control on
that redirect but drops the others, so the location adds nosniff and the CSP
itself.

Without it, the app streams the file in CHUNK_SIZE pieces. A download can
take minutes, so the stream gives its database connection back before the
first byte (as a waiting poll does, rooms/polling.py): with the pooled
backend (parley/server/db) a slow client would otherwise keep one of the
worker's few connections for the whole transfer. Single ranges are served
(206, or 416 when unsatisfiable); a multi-range request gets the whole file
(200), which RFC 9110 allows and which no browser or download manager minds.

Only PNG, JPEG, GIF and WebP are shown inline; everything else, SVG and HTML
included, is an attachment. Every file answer says nosniff and carries a CSP
that forbids everything and sandboxes the document, so even a file a browser
did render could run nothing and reach nothing.
"""
import logging
import posixpath
import re
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import default_storage
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe
from django.views.defaults import page_not_found

from . import polling, selectors

log = logging.getLogger(__name__)

INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
# No scripts, styles, fonts, frames, connections or forms; a unique origin. A browser still
# shows an image or plays a video navigated to directly: the file is the document, not a subresource.
FILE_CSP = "default-src 'none'; sandbox"
# The bytes under an id never change. `private`: no shared proxy keeps a copy of what only some
# may read; a day bounds how long a browser that once could read a file keeps it.
CACHE_CONTROL = "private, max-age=86400"
CHUNK_SIZE = 64 * 1024
_CONTENT_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_IMAGE_EXTENSIONS = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
                     ".webp": "image/webp"}


@require_safe
def upload_file(request, upload_id, name):
    """Send an upload's file to whoever may read it; `name` must be the upload's (it names the download)."""
    upload = selectors.upload_for(request.user, upload_id)
    if upload is None or upload.name != name:
        return not_found(request)
    content_type = upload.content_type if _CONTENT_TYPE.match(upload.content_type or "") else "application/octet-stream"
    return file_response(request, upload.file.name, content_type=content_type, filename=upload.name,
                         inline=content_type in INLINE_TYPES, etag=f'"{upload.id}"')


@require_safe
def upload_thumbnail(request, upload_id):
    """Send an image upload's thumbnail, always inline, to whoever may read the upload."""
    upload = selectors.upload_for(request.user, upload_id)
    if upload is None or not upload.thumbnail:
        return not_found(request)
    content_type = thumbnail_type(upload.thumbnail.name)
    if content_type is None:
        return not_found(request)
    stem = posixpath.splitext(upload.name)[0] or "thumbnail"
    extension = next(ext for ext, kind in _IMAGE_EXTENSIONS.items() if kind == content_type)
    return file_response(request, upload.thumbnail.name, content_type=content_type,
                         filename=f"{stem}-thumbnail{extension}", inline=True, etag=f'"{upload.id}-thumbnail"')


def not_found(request):
    """The 404 for a file that is missing or not the reader's; never cached (it may become readable)."""
    response = page_not_found(request, None)
    response["Cache-Control"] = "no-store"
    return response


def thumbnail_type(storage_name):
    """Return the thumbnail's image type, from its name or else its first bytes; None if not one we show."""
    by_name = _IMAGE_EXTENSIONS.get(posixpath.splitext(storage_name)[1].lower())
    if by_name:
        return by_name
    try:
        with default_storage.open(storage_name, "rb") as file:
            head = file.read(12)
    except OSError:
        return None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def file_response(request, storage_name, *, content_type, filename, inline, etag):
    """Answer a GET or HEAD for one stored file: X-Accel-Redirect behind nginx, else the bytes (or a range)."""
    if etag in _if_none_match(request):
        response = HttpResponse(status=304)
        _file_headers(response, filename=None, inline=inline, etag=etag)
        return response
    if settings.PARLEY_X_ACCEL_REDIRECT:
        response = HttpResponse(b"", content_type=content_type)
        response["X-Accel-Redirect"] = f"{settings.PARLEY_X_ACCEL_REDIRECT}/{quote(storage_name)}"
        _file_headers(response, filename=filename, inline=inline, etag=etag)
        return response
    try:
        size = default_storage.size(storage_name)
        file = None if request.method == "HEAD" else default_storage.open(storage_name, "rb")
    except OSError:  # the row is there but not the bytes: a storage problem, not the reader's
        log.warning("Upload file missing from storage: %s", storage_name)
        return not_found(request)
    status, start, length = 200, 0, size
    wanted = request.headers.get("Range")
    if wanted and request.method == "GET" and _if_range_holds(request, etag):
        span = parse_range(wanted, size)
        if span == "unsatisfiable":
            file.close()
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{size}"
            _file_headers(response, filename=None, inline=inline, etag=etag)
            return response
        if span is not None:
            status, (start, length) = 206, span
    chunks = FileChunks(file, start, length) if file is not None else ()
    response = StreamingHttpResponse(chunks, status=status, content_type=content_type)
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {start}-{start + length - 1}/{size}"
    _file_headers(response, filename=filename, inline=inline, etag=etag)
    return response


def parse_range(header, size):
    """Return (start, length) for a single satisfiable byte range, "unsatisfiable", or None to send it all.

    None covers what RFC 9110 lets a server ignore: several ranges, another
    unit, a malformed header.
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # bytes=-n: the last n bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), min(suffix, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid, so ignored
    if start >= size:
        return "unsatisfiable"
    end = min(end, size - 1)
    return start, end - start + 1


class FileChunks:
    """The bytes [start, start + length) of an open file, CHUNK_SIZE at a time.

    The first step gives back the request's database connection: by then
    Django and every middleware are done with the request, and a transfer
    may last as long as the slowest client.
    """

    def __init__(self, file, start, length):
        self.file = file
        self.start = start
        self.remaining = length
        self.started = False

    def __iter__(self):
        return self

    def __next__(self):
        if not self.started:
            self.started = True
            polling.release_connection()
            self.file.seek(self.start)
        if self.remaining <= 0:
            raise StopIteration
        data = self.file.read(min(CHUNK_SIZE, self.remaining))
        if not data:
            raise StopIteration
        self.remaining -= len(data)
        return data

    def close(self):
        """Close the file, read to the end or not (HEAD-like early closes, clients that went away)."""
        self.file.close()


def _file_headers(response, *, filename, inline, etag):
    response["Cache-Control"] = CACHE_CONTROL
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = FILE_CSP
    # Other sites may not embed these bytes (an <img> on a foreign page would carry the reader's cookie).
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    if filename is not None:
        response["Content-Disposition"] = content_disposition_header(not inline, filename)


def _if_none_match(request):
    return {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",") if tag.strip()}


def _if_range_holds(request, etag):
    """A Range applies unless If-Range names another version (we send no dates, so only an ETag matches)."""
    if_range = request.headers.get("If-Range")
    return if_range is None or if_range.strip() == etag
