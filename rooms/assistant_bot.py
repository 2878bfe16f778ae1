"""The built-in assistant as a bot: it reads questions from the stream, answers them, and delivers reminders.

The brain is rooms/assistant/ (plain functions on plain data); this module is
its body in Parley, run by the bots' worker (`manage.py run_bots`, the
Procfile's `bots:` line), never by a web process: web processes must not load
scikit-learn (tests/test_imports.py checks it). rooms/webhooks.py imports this
module only inside the worker.

Who it is. One user, made by rooms migration 0010 and found by its address,
ASSISTANT_EMAIL (assistant@parley.invalid: `.invalid` can never be a real
mailbox, and the address is unique in the users table): `is_bot`, no owner,
display name "Assistant", an unusable password and no token. Like every user
it is in the directory (marked as a bot), anyone can open a DM with it
(POST /api/dms), and any member can invite it into a room; it never joins a
room by itself.

What wakes it, in stream order. A message by a person (never by a bot, the
assistant included) that is in a DM with the assistant, or that names it
(`@**Assistant**`: its Mention row) in a room it is a member of. `@**all**`
does not wake it: in a busy room every @**all** would get a reply nobody
asked for.

Exactly once. The worker reads the stream's message events after its own
cursor (BotCursor "assistant") and, in one transaction, queues one Delivery
per question (unique per assistant and message) and moves the cursor: a
restart resumes at the cursor, missing nothing asked while it was down. Each
pending question is answered and the answer posted with the client_id
`assistant-<message id>` (message_post returns the first message for a
repeated client_id), then the Delivery is marked delivered: a crash between
the two posts nothing twice. A reminder is stored once per question
(`created_from` is unique) and delivered as a DM from the assistant with the
client_id `reminder-<id>`, in the same transaction that marks it delivered.

Privacy. Everything the assistant is handed is read from the database for the
asker at the moment the question is answered: their unread messages (in a
room: that room's; in the DM with the assistant: all their rooms'), or the
last 24 hours' when there are none, and rooms/search.py's search, which only
looks in rooms they are a member of; the authors they block are left out
everywhere. If the asker has left the room meanwhile, nothing is answered.
"""
import logging
from datetime import timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone

from users.models import ASSISTANT_EMAIL, BotProfile, User

from . import assistant, messaging, services
from .models import BotCursor, Delivery, Event, Membership, Mention, Message, Reminder, Room, Stream
from .search import search_messages

log = logging.getLogger("parley.assistant")

ASSISTANT_NAME = "Assistant"
CURSOR_NAME = "assistant"
BATCH = 500
RECENT = timedelta(hours=24)
MAX_RECORDS = 300  # the most messages a summary reads (the newest of them)
SORRY = "Sorry, something went wrong. Please try again in a moment."


def assistant_user() -> User:
    """The built-in assistant (rooms migration 0010 makes it; made again here if a test emptied the table)."""
    user = User.objects.filter(email=ASSISTANT_EMAIL).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User.objects.create(
                    email=ASSISTANT_EMAIL, first_name=ASSISTANT_NAME, last_name="", is_bot=True, bot_owner=None,
                    is_active=True, is_approved=True, password=make_password(None),
                )
                BotProfile.objects.create(user=user, endpoint="", signing_secret=BotProfile.new_secret())
        except IntegrityError:
            user = User.objects.get(email=ASSISTANT_EMAIL)
    return user


def is_assistant(user) -> bool:
    return user is not None and user.is_bot and user.email == ASSISTANT_EMAIL


# What the asker may read ------------------------------------------------------------


def message_url(record) -> str:
    return f"{settings.PARLEY_SITE_URL}{reverse('room_detail', args=[record.room_slug])}#message-{record.id}"


def _records(messages) -> list:
    return [
        assistant.Record(id=m.id, room_slug=m.room.slug, room_name=m.room.name, author_name=m.author.display_name,
                         text=m.text or m.body, created_at=m.created_at)
        for m in messages
    ]


def _readable(asker, bot):
    """Messages of the asker's rooms (ephemeral ones keep no history), not theirs, the assistant's or blocked people's."""
    rooms = Membership.objects.filter(user=asker, room__is_ephemeral=False).values("room_id")
    return (
        Message.objects.filter(room_id__in=rooms).exclude(author=asker).exclude(author=bot)
        .not_by(asker.blocked_ids).select_related("room", "author")
    )


def unread_for(asker, bot, room, now):
    """In a room: the asker's unread messages there; in the DM with the assistant (room None): in all their rooms.

    When there are none, the last 24 hours' instead. Oldest first, at most
    MAX_RECORDS (the newest).
    """
    messages = _readable(asker, bot)
    if room is not None:
        messages = messages.filter(room=room)
    last_read = Membership.objects.filter(room=OuterRef("room_id"), user=asker).values("last_read_message_id")[:1]
    found = list(messages.filter(id__gt=Subquery(last_read)).order_by("-id")[:MAX_RECORDS])
    if not found:
        found = list(messages.filter(created_at__gte=now - RECENT).order_by("-id")[:MAX_RECORDS])
    return _records(reversed(found))


def context_for(asker, bot, room, now) -> assistant.AskerContext:
    """What the assistant may know, read for `asker` at the moment of answering; `room` None for the DM."""
    here = None if room is None or room.is_dm else room

    def search(words, limit):
        found = search_messages(user=asker, query=" ".join(words), limit=limit,
                                hidden=[*asker.blocked_ids, bot.id])
        return _records(found)

    return assistant.AskerContext(
        name=asker.display_name,
        room=assistant.RoomRef(here.slug, here.name) if here else None,
        unread=lambda: unread_for(asker, bot, here, now),
        search=search,
        message_url=message_url,
    )


# The worker's part ------------------------------------------------------------------


def _clip(text):
    limit = settings.PARLEY_MAX_MESSAGE_CHARS
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Assistant:
    """Queue the questions after the cursor, answer them, deliver due reminders. Driven by webhooks.Worker.step()."""

    def __init__(self, *, clock=timezone.now):
        self.clock = clock
        self.zone = ZoneInfo(settings.TIME_ZONE)
        self._bot = None

    @property
    def bot(self) -> User:
        if self._bot is None:
            self._bot = assistant_user()
        return self._bot

    def warm(self) -> None:
        assistant.warm()

    def cursor(self) -> int:
        return BotCursor.position_of(CURSOR_NAME)

    def scan(self) -> int:
        """Queue a Delivery for each question after the cursor and move the cursor, in one transaction."""
        bot = self.bot
        cursor = self.cursor()
        head = Stream.objects.values_list("last_position", flat=True).first() or 0
        if head <= cursor:
            return 0
        rooms = Membership.objects.filter(user=bot).values("room_id")
        events = list(
            Event.objects.after(cursor).filter(position__lte=head, type=Event.MESSAGE, room_id__in=rooms)
            .values_list("position", "room_id", "message_id", "data")[:BATCH]
        )
        reached = events[-1][0] if len(events) == BATCH else head
        message_ids = [message_id for _, _, message_id, _ in events if message_id is not None]
        named = set(Mention.objects.filter(message_id__in=message_ids, user=bot).values_list("message_id", flat=True))
        dms = set(Room.objects.filter(id__in={e[1] for e in events}, kind=Room.DM).values_list("id", flat=True))
        existing = set(Message.objects.filter(id__in=message_ids).values_list("id", flat=True))
        now = self.clock()
        queued = [
            Delivery(bot=bot, room_id=room_id, message_id=message_id, payload={"question": True}, due_at=now)
            for _, room_id, message_id, data in events
            if message_id in existing and not data["message"]["author"].get("is_bot")
            and (room_id in dms or message_id in named)
        ]
        with transaction.atomic():
            Delivery.objects.bulk_create(queued, ignore_conflicts=True)
            BotCursor.objects.filter(name=CURSOR_NAME, position=cursor).update(position=reached)
        return len(queued)

    def answer_pending(self) -> int:
        """Answer the queued questions, oldest first; return how many were handled."""
        pending = list(Delivery.objects.filter(bot=self.bot, status=Delivery.PENDING).order_by("message_id")[:BATCH])
        for delivery in pending:
            self.answer_one(delivery)
        return len(pending)

    def answer_one(self, delivery) -> None:
        bot = self.bot
        message = Message.objects.select_related("room", "author").filter(id=delivery.message_id).first()
        room = message.room if message else None
        asker = message.author if message else None
        if (message is None or not asker.is_active
                or not Membership.objects.filter(room=room, user=asker).exists()
                or not Membership.objects.filter(room=room, user=bot).exists()):
            Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.DROPPED)
            return
        now = self.clock()
        question = message.body.replace(f"@**{bot.display_name}**", " ")
        try:
            llm = assistant.LLMConfig.configured(
                url=settings.PARLEY_ASSISTANT_LLM_URL, model=settings.PARLEY_ASSISTANT_LLM_MODEL,
                key=settings.PARLEY_ASSISTANT_LLM_KEY, timeout=settings.PARLEY_ASSISTANT_LLM_TIMEOUT,
            )
            reply = assistant.answer(question, asker=context_for(asker, bot, room, now), now=now, tz=self.zone, llm=llm)
            text = reply.text
            if reply.reminder is not None:
                Reminder.objects.bulk_create([Reminder(
                    user=asker, room=None if room.is_dm else room, text=reply.reminder.text[:1000],
                    due_at=reply.reminder.due_at, created_from=message.id,
                )], ignore_conflicts=True)
        except Exception:  # one bad question must not stop the loop, nor the questions behind it
            log.exception("assistant: answering message %s failed", message.id)
            text = SORRY
        try:
            messaging.message_post(room=room, author=bot, body=_clip(text), client_id=f"assistant-{message.id}",
                                   reply_to=message.id)
        except ValidationError as error:  # the question was deleted meanwhile, say
            log.warning("assistant: the answer to message %s was not posted: %s", message.id, error)
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.DELIVERED, attempts=delivery.attempts + 1,
                                                       last_attempt_at=now)

    def deliver_reminders(self, now=None) -> int:
        """DM every due reminder to its user; return how many were handled."""
        now = now or self.clock()
        bot = self.bot
        due = list(Reminder.objects.filter(delivered_at__isnull=True, due_at__lte=now)
                   .select_related("user", "room").order_by("due_at", "id")[:BATCH])
        for reminder in due:
            body = f"⏰ Reminder: {reminder.text}"
            if reminder.room is not None:
                body += f"\n\n(You asked in {reminder.room.name}.)"
            try:
                if not reminder.user.is_active:
                    raise services.Refused("inactive")
                room, _ = services.dm_open(user=bot, other=reminder.user)
            except services.Refused:  # they blocked the assistant, or left
                Reminder.objects.filter(pk=reminder.pk).update(delivered_at=now)
                continue
            with transaction.atomic():
                messaging.message_post(room=room, author=bot, body=_clip(body), client_id=f"reminder-{reminder.id}")
                Reminder.objects.filter(pk=reminder.pk).update(delivered_at=now)
        return len(due)

    def step(self, now=None) -> None:
        """One round: read new questions, answer them, deliver due reminders. `now` overrides the clock (tests)."""
        if now is not None:
            saved, self.clock = self.clock, (lambda: now)
        try:
            self.scan()
            self.answer_pending()
            self.deliver_reminders()
        finally:
            if now is not None:
                self.clock = saved
