"""Uploads: receiving a file, finding out what it is, thumbnails, storing it, and deleting it again.

A file arrives as the one part `file` of a multipart body. `Receiver`, a
Django upload handler, writes it to a temporary file as it arrives and stops
the upload the moment it passes PARLEY_MAX_UPLOAD_MB, so nothing bigger is
ever written; the view refuses an announced Content-Length over it before
reading a byte. The request's 1 MB body limit (DATA_UPLOAD_MAX_MEMORY_SIZE)
still applies to the form's other fields and to every JSON body.

What a file is comes from its bytes (puremagic), never from the client's
Content-Type or name. Only PNG, JPEG, GIF and WebP that Pillow can decode
are images: they get their width and height (as shown, EXIF orientation
applied) and a thumbnail of at most 400x400, re-encoded without any metadata
(the original is stored as sent). Decoding is CPU work: under gevent it runs
in the hub's threadpool (Pillow releases the GIL), so one big photo does not
stall every other request of the worker. Images over MAX_IMAGE_PIXELS,
broken or truncated ones are refused (400), before anything is stored.

Files are stored through Django's storage API by id (Upload.file,
Upload.thumbnail), and leave storage when their row goes: `upload_deleted`
(post_delete, connected in rooms/apps.py) covers every ORM delete (a message,
a room, an account), and the purges that delete with plain SQL
(rooms/retention.py) call `files_delete` after their commit.
"""
import io
import logging
import os
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

import puremagic
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from PIL import Image, ImageOps, features

from users.models import User

from .models import Membership, Room, Upload, new_upload_id, upload_path

log = logging.getLogger(__name__)

FIELD = "file"
# The parts of a multipart body around the file (boundaries, headers): an announced length
# over the limit plus this is refused before the body is read.
MULTIPART_OVERHEAD = 16 * 1024
# Bigger images are refused: decoding one costs about 4 bytes a pixel (200 MB at 50 MP).
MAX_IMAGE_PIXELS = 50_000_000
# Pillow warns past MAX_IMAGE_PIXELS and refuses past twice that, while reading the header;
# the warning band is refused by our own check (_open_image).
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
THUMBNAIL_SIZE = (400, 400)
# Pillow's formats that are images here, and their content types.
IMAGE_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}
NAME_MAX_LENGTH = 200
EXTENSION_MAX_LENGTH = 16
# Uploads no message attached are deleted after this long (the purge command).
UNATTACHED_LIFETIME = timedelta(days=1)
# EXIF orientations that turn the picture a quarter: width and height swap.
QUARTER_TURNS = {5, 6, 7, 8}
MB = 1024 * 1024


class UploadError(Exception):
    """The upload is refused; the message says why, for the user."""

    code = "invalid"


class Invalid(UploadError):
    pass


class TooLarge(UploadError):
    code = "too_large"


class QuotaExceeded(UploadError):
    code = "quota_exceeded"


class NotAMember(UploadError):
    code = "forbidden"


def max_bytes() -> int:
    return settings.PARLEY_MAX_UPLOAD_MB * MB


def quota_bytes() -> int:
    return settings.PARLEY_UPLOAD_QUOTA_MB * MB


def too_large() -> TooLarge:
    return TooLarge(f"The file is larger than {settings.PARLEY_MAX_UPLOAD_MB} MB.")


# Receiving -------------------------------------------------------------------------------


class Receiver(FileUploadHandler):
    """Take one file, the part `file`, into a temporary file; stop at the first byte over the limit.

    Anything else (a second file, a file under another name, too many bytes)
    stops the upload at once (StopUpload: the rest of the body is not read)
    and is kept in `error` for the view. `interrupted` says the body ended in
    the middle of the file: a client that went away, or a malformed body.
    The temporary file is `temporary`, not `file`, which Django's parser
    would close on a StopUpload: `discard()` deletes it, whatever happened.
    """

    def __init__(self, request=None, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.temporary = None
        self.error = None
        self.interrupted = False

    def new_file(self, field_name, file_name, *args, **kwargs):
        if field_name != FIELD or self.temporary is not None:
            self._refuse(Invalid(f"Send exactly one file, in the field {FIELD!r}."))
        super().new_file(field_name, file_name, *args, **kwargs)
        if self.content_length is not None and self.content_length > self.limit:
            self._refuse(too_large())
        # Not named after the client's file: its "extension" would become the temporary file's.
        self.temporary = TemporaryUploadedFile("upload", "application/octet-stream", 0, None)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self._refuse(too_large())
        self.temporary.write(raw_data)
        return None

    def file_complete(self, file_size):
        self.temporary.seek(0)
        self.temporary.size = file_size
        return self.temporary

    def upload_interrupted(self):
        self.interrupted = True

    def _refuse(self, error):
        self.error = error
        raise StopUpload(connection_reset=True)

    def discard(self):
        """Delete the temporary file, if it is still there (storing moves it)."""
        if self.temporary is not None:
            self.temporary.close()


def received_file(receiver: Receiver, files):
    """Return (the one file the body carried, the name the client gave it), or raise why not.

    Call it after request.FILES was read, which runs the receiver.
    """
    if receiver.error is not None:
        raise receiver.error
    if receiver.interrupted:
        raise Invalid("The upload was cut off before the end of the file: send it again.")
    sent = files.getlist(FIELD)
    if len(sent) != 1 or len(files) != 1:
        raise Invalid(f"Send exactly one file, in the field {FIELD!r}.")
    return sent[0], receiver.file_name


def clean_name(raw: str) -> str:
    """Return a file name fit to show and to put in a URL: one path segment, printable, not too long.

    Directories are dropped (`../../x` is `x`), as are control and format
    characters (NUL, bidi overrides). A long name keeps its extension. A name
    with nothing left, or only dots, is "file"; "thumbnail" is "thumbnail_",
    since files/<id>/thumbnail is the thumbnail's URL.
    """
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if category[0] == "C" or category in ("Zl", "Zp"):
            continue
        kept.append(" " if category == "Zs" else char)
    name = " ".join("".join(kept).split())
    if len(name) > NAME_MAX_LENGTH:
        stem, extension = os.path.splitext(name)
        if len(extension) > EXTENSION_MAX_LENGTH:
            stem, extension = name, ""
        name = stem[: NAME_MAX_LENGTH - len(extension)].rstrip() + extension
    if not name.strip("."):
        return "file"
    if name == "thumbnail":
        return "thumbnail_"
    return name


# Looking at the bytes ------------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What the bytes are: a content type, and for an image its size and thumbnail."""

    content_type: str
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_extension: str = ""


def sniff(file) -> str:
    """Return the content type of the file's bytes (application/octet-stream when unknown)."""
    file.seek(0)
    try:
        matches = puremagic.magic_stream(file)
    except (puremagic.PureError, ValueError, OSError):
        matches = []
    finally:
        file.seek(0)
    for match in matches:
        mime = (match.mime_type or "").strip().lower()
        if mime and len(mime) <= 100 and mime.count("/") == 1 and mime.isascii() and " " not in mime:
            return mime
    return "application/octet-stream"


def inspect(file) -> Facts:
    """Say what the file is; make an image's thumbnail. CPU work: see run_off_the_loop()."""
    content_type = sniff(file)
    if content_type not in IMAGE_FORMATS.values():
        return Facts(content_type)
    try:
        return _image_facts(file, content_type)
    except UploadError:
        raise
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except Exception as error:  # Pillow raises OSError, SyntaxError, ValueError, EOFError... for bad data
        log.info("Refused an image Pillow could not read: %r", error)
        raise Invalid("This image is broken or truncated, and cannot be shown.") from None
    finally:
        file.seek(0)


def _too_many_pixels():
    return Invalid(f"This image is too large to show: at most {MAX_IMAGE_PIXELS // 1_000_000} million pixels.")


def _image_facts(file, content_type) -> Facts:
    file.seek(0)
    with Image.open(file, formats=list(IMAGE_FORMATS)) as image:
        if IMAGE_FORMATS.get(image.format) != content_type:
            raise Invalid("This image's contents do not match its type.")
        width, height = image.size
        if width * height > MAX_IMAGE_PIXELS:
            raise _too_many_pixels()
        if image.getexif().get(0x0112) in QUARTER_TURNS:
            width, height = height, width
        if image.format == "JPEG":
            # Decode at the smallest scale (1/2 .. 1/8) still at least the thumbnail's size.
            image.draft("RGB", THUMBNAIL_SIZE)
        image.load()  # a truncated or corrupt file fails here
        thumbnail = ImageOps.exif_transpose(image)
    if thumbnail.mode in ("RGBA", "LA", "PA") or (thumbnail.mode == "P" and "transparency" in thumbnail.info):
        thumbnail = thumbnail.convert("RGBA")
    elif thumbnail.mode != "RGB":
        thumbnail = thumbnail.convert("RGB")
    thumbnail.thumbnail(THUMBNAIL_SIZE, Image.Resampling.LANCZOS)
    data, extension = _encode(thumbnail)
    return Facts(content_type, width=width, height=height, thumbnail=data, thumbnail_extension=extension)


def _encode(image) -> tuple[bytes, str]:
    """Encode the thumbnail with no metadata at all: no EXIF (GPS), no comments, no ICC profile."""
    image.info = {}
    out = io.BytesIO()
    if features.check("webp"):
        image.save(out, "WEBP", quality=80, method=4, exif=b"")
        extension = "webp"
    elif image.mode == "RGBA":
        image.save(out, "PNG", optimize=True)
        extension = "png"
    else:
        image.save(out, "JPEG", quality=85, exif=b"")
        extension = "jpg"
    return out.getvalue(), extension


def run_off_the_loop(function, *args):
    """Run CPU-bound work without stalling the gevent worker: in the hub's threadpool under gevent.

    Only pure work goes there (no database, no storage: Django's connections
    belong to the greenlet's thread). Without gevent, it runs here.
    """
    if settings.COOPERATIVE:
        import gevent

        return gevent.get_hub().threadpool.apply(function, args)
    return function(*args)


# Storing ------------------------------------------------------------------------------------


def used_bytes(user) -> int:
    """How much the user's stored uploads take, attached or not."""
    return Upload.objects.filter(uploader=user).aggregate(total=Sum("size"))["total"] or 0


def check_quota(user, adding: int = 1) -> None:
    quota = quota_bytes()
    if used_bytes(user) + adding > quota:
        raise QuotaExceeded(
            f"Your files already take up your {settings.PARLEY_UPLOAD_QUOTA_MB} MB: delete messages with "
            "files, or wait a day for files you never sent to expire."
        )


def upload_create(*, room: Room, uploader, file, name: str | None = None) -> Upload:
    """Store `file` (an UploadedFile) as the uploader's upload into the room; only they see it until attached.

    Checked again as the row is written: the uploader is still a member (they
    may have left while the body arrived) and within their quota. Whatever is
    refused leaves nothing in storage.
    """
    size = file.size
    if not size:
        raise Invalid("The file is empty.")
    if size > max_bytes():
        raise too_large()
    name = clean_name(name if name is not None else file.name)
    facts = run_off_the_loop(inspect, file)
    upload = Upload(id=new_upload_id(), uploader=uploader, room=room, name=name, size=size,
                    content_type=facts.content_type, width=facts.width, height=facts.height)
    stored = _store(upload, file, facts)
    try:
        with transaction.atomic():
            if not Membership.objects.filter(room=room, user=uploader).exists():
                raise NotAMember("Join the room first.")
            # One upload of a user at a time past this point, so two at once cannot both fit the quota.
            list(User.objects.select_for_update().filter(pk=uploader.pk).values_list("pk"))
            check_quota(uploader, size)
            upload.save(force_insert=True)
    except BaseException:
        files_delete(stored)
        raise
    return upload


def _store(upload, file, facts) -> list[str]:
    """Put the file and its thumbnail in storage, by the upload's id; return their storage names."""
    storage = Upload._meta.get_field("file").storage
    file.seek(0)
    upload.file.name = storage.save(upload_path(upload, upload.name), file)
    stored = [upload.file.name]
    if facts.thumbnail is not None:
        try:
            upload.thumbnail.name = storage.save(
                f"thumbnails/{upload.id[:2]}/{upload.id}.{facts.thumbnail_extension}", ContentFile(facts.thumbnail)
            )
        except BaseException:
            files_delete(stored)
            raise
        stored.append(upload.thumbnail.name)
    return stored


# Deleting -----------------------------------------------------------------------------------


def files_delete(names) -> None:
    """Delete these stored files; a file already gone, or a storage error, is logged, never raised."""
    storage = Upload._meta.get_field("file").storage
    for name in names:
        if not name:
            continue
        try:
            storage.delete(name)
        except Exception:  # the row is gone either way; a leftover file is logged for the operator
            log.exception("Could not delete the stored file %s", name)


def files_delete_on_commit(names) -> None:
    """Delete these files once the transaction that deleted their rows commits (at once outside one)."""
    names = [name for name in names if name]
    if names:
        transaction.on_commit(partial(files_delete, names))


def upload_deleted(sender, instance, **kwargs):
    """post_delete of an Upload (a message, a room or an account deleted through the ORM): its files go at commit."""
    files_delete_on_commit([instance.file.name, instance.thumbnail.name])


@dataclass
class Freed:
    """What a purge deleted (or would delete) from storage: uploads and their bytes (thumbnails not counted)."""

    files: int = 0
    bytes: int = 0

    def add(self, files: int, size: int) -> None:
        self.files += files
        self.bytes += size


def purge_unattached(*, now=None, dry_run=False, freed: Freed | None = None, batch_size=500) -> Freed:
    """Delete uploads that no message attached within UNATTACHED_LIFETIME; return what went."""
    now = now or timezone.now()
    freed = freed if freed is not None else Freed()
    old = Upload.objects.filter(message__isnull=True, created_at__lt=now - UNATTACHED_LIFETIME)
    if dry_run:
        totals = old.aggregate(total=Sum("size"))
        freed.add(old.count(), totals["total"] or 0)
        return freed
    while True:
        batch = list(old.order_by("created_at").values_list("id", "size")[:batch_size])
        if not batch:
            return freed
        sizes = dict(batch)
        with transaction.atomic():
            # Still unattached, and locked so that no post attaches one before they go.
            still = Upload.objects.select_for_update().filter(id__in=list(sizes), message__isnull=True)
            deleted = list(still.values_list("id", flat=True))
            Upload.objects.filter(id__in=deleted).delete()  # their files go at commit (upload_deleted)
        freed.add(len(deleted), sum(sizes[upload_id] for upload_id in deleted))
        if len(batch) < batch_size:
            return freed
