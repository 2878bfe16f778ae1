import secrets

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower
from django.utils import timezone

from users.models import NOTIFY_LEVELS


# The longest room name: the column, the form, the API and the services all say so through this.
NAME_MAX_LENGTH = 80


class RoomQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Public rooms, and the private rooms and DMs the user is a member of; for a bot, only its rooms."""
        member = Membership.objects.filter(room=OuterRef("pk"), user=user)
        if getattr(user, "is_bot", False):
            return self.filter(Exists(member))
        return self.filter(Q(kind=Room.ROOM, is_private=False) | Q(Exists(member)))


class Room(models.Model):
    ROOM = "room"
    DM = "dm"
    KINDS = [(ROOM, "Room"), (DM, "Direct message")]

    name = models.CharField(max_length=NAME_MAX_LENGTH)
    slug = models.SlugField(max_length=100, unique=True)
    topic = models.CharField(max_length=300, blank=True, default="")
    kind = models.CharField(max_length=4, choices=KINDS, default=ROOM)
    is_private = models.BooleanField(default=False)
    is_ephemeral = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The two users of a DM as "low-high" ids: one DM per pair, enforced by the database.
    dm_key = models.CharField(max_length=50, null=True, blank=True, unique=True)
    last_message_id = models.BigIntegerField(null=True, blank=True)
    # Per-room overrides of PARLEY_RETENTION_MESSAGES / PARLEY_RETENTION_DAYS.
    retention_messages = models.PositiveIntegerField(null=True, blank=True)
    retention_days = models.PositiveIntegerField(null=True, blank=True)
    # The purge deleted events of this room at or below this position: cursors from before it
    # expire for those who could see the room (rooms/stream.py, cursor_expired()).
    pruned_through = models.BigIntegerField(default=0, db_default=0, editable=False)

    objects = RoomQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("name"), condition=Q(kind="room"), name="room_name_ci_unique"),
        ]

    def __str__(self):
        return self.name

    @property
    def is_dm(self):
        return self.kind == self.DM

    @property
    def kept_messages(self):
        return self.retention_messages or settings.PARLEY_RETENTION_MESSAGES

    @property
    def kept_days(self):
        return self.retention_days or settings.PARLEY_RETENTION_DAYS


class Membership(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    joined_at = models.DateTimeField(default=timezone.now)
    last_read_message_id = models.BigIntegerField(default=0)
    # Who made the user a member by inviting them; while the invitation came from
    # someone they shared no other room with and they neither joined (accepted)
    # nor left, the client offers to leave, or to leave and block (README "Security").
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    invitation_from_stranger = models.BooleanField(default=False, db_default=False)
    # The member's notification level for this room; null: their default (User.notify_default).
    # Nullable and without a default so that SQLite adds the column in place: rebuilding the
    # table would drop its membership triggers (migration 0005).
    notify = models.CharField(max_length=8, choices=NOTIFY_LEVELS, null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="membership_unique")]
        indexes = [models.Index(fields=["user", "room"])]


class MessageQuerySet(models.QuerySet):
    def in_room(self, room):
        return self.filter(room=room)

    def before(self, message_id):
        return self.filter(id__lt=message_id) if message_id else self

    def with_refs(self):
        """Everything message_to_dict() reads, in three queries (reply excerpts: messages_to_dicts())."""
        return self.select_related("room", "author").prefetch_related(
            models.Prefetch("reactions", queryset=Reaction.objects.order_by("id")),
            models.Prefetch("attachment_rows", queryset=Upload.objects.order_by("attachment_index")),
        )

    def not_by(self, author_ids):
        """Leave out the messages of these authors (the people a reader blocks); none: no change."""
        return self.exclude(author_id__in=author_ids) if author_ids else self


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    body = models.TextField()
    client_id = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # `body` rendered once, at post and at edit (rooms/markdown.py): sanitised HTML, and the plain
    # text that reply excerpts and notifications quote.
    html = models.TextField(default="", db_default="")
    text = models.TextField(default="", db_default="")
    # The user ids the body mentions, resolved among the room's members when it was written
    # (@**all**: every member then, and mentions_everyone).
    mentions = models.JSONField(default=list, db_default=[])
    mentions_everyone = models.BooleanField(default=False, db_default=False)
    # Not a foreign key: the original may be deleted or purged while the reply stays,
    # quoting it as {id, deleted: true}.
    reply_to_id = models.BigIntegerField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["room", "author", "client_id"],
                condition=Q(client_id__isnull=False),
                name="message_client_id_unique",
            ),
        ]
        indexes = [
            # On PostgreSQL it also carries author_id (INCLUDE, migration 0012): a room's unread count
            # is read from the index alone.
            models.Index(fields=["room", "-id"], name="message_room_id_desc"),
            # Search's newest-first order, and its before:/after: filters (rooms/search.py).
            models.Index(fields=["created_at", "id"], name="message_created_at_id"),
            # The few @**all** messages, for each room's mention_count (selectors.unread_counts).
            models.Index(fields=["room", "id"], condition=Q(mentions_everyone=True), name="message_room_everyone"),
        ]


class Mention(models.Model):
    """A user named in a message (not @**all**): the index behind each room's mention_count."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mention_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user"], name="mention_unique")]
        indexes = [models.Index(fields=["user", "message"])]


class Reaction(models.Model):
    """One user's one emoji on a message; a message's reactions go with it."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reactions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "user", "emoji"], name="reaction_unique")]


def new_upload_id():
    """An upload's id, which is also its URL: unguessable (128 random bits), so a URL is no hint to another."""
    return secrets.token_urlsafe(16)


def upload_path(upload, filename):
    """Where the bytes go in storage: by id, never by the client's file name."""
    return f"uploads/{upload.id[:2]}/{upload.id}"


class Upload(models.Model):
    """A file sent to a room: only its uploader's until a message attaches it, then the room's readers'.

    `name` is the client's file name, cleaned, for display and downloads only. `content_type`
    comes from the bytes. Images (PNG, JPEG, GIF, WebP) have a thumbnail and their size.
    """

    id = models.CharField(primary_key=True, max_length=32, default=new_upload_id, editable=False)
    uploader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="uploads")
    # Set when a message lists it in `attachments`; a message's files go with it.
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachment_rows")
    # Its place in the message's `attachments`, as the author listed them.
    attachment_index = models.PositiveSmallIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=100)
    file = models.FileField(upload_to=upload_path, max_length=200)
    thumbnail = models.FileField(upload_to="thumbnails/", max_length=200, blank=True, default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["uploader", "message"])]


class Stream(models.Model):
    """The one row that hands out event positions (see rooms/stream.py)."""

    last_position = models.BigIntegerField(default=0)
    # The highest position at or below which the purge deleted anything: a cursor at or past it
    # lost nothing. Below it, the room's own mark (Room.pruned_through) and shared_pruned_through decide.
    pruned_through = models.BigIntegerField(default=0)
    # Events of no one room's messages (room changes, receipts, presence) at or below this may be gone.
    shared_pruned_through = models.BigIntegerField(default=0, db_default=0)


class EventQuerySet(models.QuerySet):
    def after(self, position):
        return self.filter(position__gt=position).order_by("position")

    def for_member(self, user_id, room_ids):
        """What the user may see, narrowed in SQL; rooms/visibility.py decides exactly."""
        return self.filter(
            Q(room_id__in=room_ids) | Q(room__isnull=True) | Q(subject_id=user_id) | Q(is_public=True)
        )


class Event(models.Model):
    """One entry of the stream the long poll serves, at a position in commit order."""

    MESSAGE = "message"
    TYPING = "typing"
    PRESENCE = "presence"
    RECEIPT = "receipt"
    ROOM = "room"
    MESSAGE_UPDATED = "message_updated"
    MESSAGE_DELETED = "message_deleted"
    REACTION = "reaction"
    # Written by the database on every membership change (migration 0005): never sent to clients.
    MEMBERSHIP = "membership"

    position = models.BigIntegerField(primary_key=True)
    type = models.CharField(max_length=16)
    room = models.ForeignKey(Room, null=True, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, null=True, on_delete=models.CASCADE, related_name="+")
    # Who the event is about: the joining/leaving/invited user, or the presence user.
    subject = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    # Seen by everyone (a public room was created), not only the room's members.
    is_public = models.BooleanField(default=False)
    # For events with no room (presence): the rooms whose members may see it.
    audience = models.JSONField(null=True)
    data = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = EventQuerySet.as_manager()


# Bots' webhooks (rooms/bots.py, rooms/webhooks.py) ---------------------------------------


class Hook(models.Model):
    """An incoming webhook: whoever knows its URL posts into `room` as `bot`.

    The URL's secret is a credential, so only its SHA-256 is stored, as for
    bearer tokens; the URL is shown once, when the hook is made.
    """

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="hooks")
    bot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="hooks")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)


class BotCursor(models.Model):
    """How far the bots' worker has read the stream: one row, named, so a restart resumes there."""

    name = models.CharField(max_length=32, primary_key=True)
    position = models.BigIntegerField(default=0)

    @classmethod
    def position_of(cls, name) -> int:
        """The stored position of reader `name`; a new reader starts at the head, so it never answers history."""
        row = cls.objects.filter(name=name).first()
        if row is None:
            head = Stream.objects.values_list("last_position", flat=True).first() or 0
            row, _ = cls.objects.get_or_create(name=name, defaults={"position": head})
        return row.position


class Delivery(models.Model):
    """One message to send to one bot's endpoint: the outbox of rooms/webhooks.py.

    Unique per (bot, message): reading the same event twice queues nothing
    twice. The payload is fixed when the message is read, so every try signs
    the same bytes.
    """

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up after the last try
    DROPPED = "dropped"  # the bot left the room, lost its endpoint or was deleted before it was sent

    bot = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField()
    status = models.CharField(max_length=10, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    due_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    # The last failed try: the HTTP status (null for a timeout, a refused address...) and what went wrong.
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bot", "message"], name="delivery_bot_message_unique")]
        indexes = [
            models.Index(fields=["status", "due_at"], name="delivery_due"),
            models.Index(fields=["bot", "-last_attempt_at"], name="delivery_bot_recent"),
        ]


class Reminder(models.Model):
    """A reminder the assistant took ("remind me tomorrow at 9 to ..."), delivered as a DM from it when due.

    `created_from` is the id of the message that asked for it (unique: answering
    the same question twice, after a restart, stores it once). `room` is where
    it was asked, None in the DM with the assistant.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    text = models.CharField(max_length=1000)
    due_at = models.DateTimeField()
    created_from = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["delivered_at", "due_at"], name="reminder_due")]
