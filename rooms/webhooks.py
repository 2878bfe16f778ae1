"""Outgoing webhooks: the POST to a bot's endpoint when it is mentioned or DMed, from a process of its own.

`python manage.py run_bots` (the Procfile's `bots:` line) runs `Worker.run()`.
Nothing here runs inside a web request: the sender's POST only writes its
message and event, as always.

Reading the stream. The worker is a trusted internal reader, like the hub: it
reads `rooms_event` rows of type message after its cursor, in position order
(positions follow commit order and have no gaps, rooms/stream.py, so nothing
committed below the head is ever skipped), only in rooms where a bot with an
endpoint is a member. For each message it queues one Delivery per bot that
is mentioned in it (`mentions` holds only the room's members, so a bot
mentioned in a room it is not in gets nothing; @**all** mentions every
member) or that is the other member of its DM. The Delivery rows and the new
cursor (BotCursor) are written in one transaction: a restart resumes at the
cursor, neither missing a message nor queueing one twice (Delivery is unique
per bot and message besides). A cursor row is made at the stream head the
first time the worker runs: it does not answer history. Messages by bots
never trigger deliveries (two bots answering each other would never stop).
Events are kept PARLEY_EVENT_RETENTION_SECONDS (a day): a worker down for
longer misses what was purged meanwhile.

Sending. Due deliveries (`due_at` <= now) are sent by a small thread pool, so
an endpoint that hangs for its whole timeout holds one thread, not the
others' deliveries; the threads only do HTTP, the loop does every database
write. A try fails on a timeout, a connection error, a non-2xx answer (a
redirect included: redirects are never followed), or a 2xx answer that is
neither empty nor JSON (an HTML error page, say). A failed try is retried
after BACKOFF_SECONDS (1, 4, 16 s), then the delivery is given up; each
failure is recorded on the row (status code, error, time), which the bot's
owner sees (GET /api/bots `last_failures`, the Bots page).
At least once: a delivery is recorded after its POST answers, so a crash in
between sends it once more after the restart. The X-Parley-Delivery header
(`<bot id>:<message id>`) lets an endpoint recognise a repeat, and the reply
is posted with a client_id derived from it, so a repeat never posts it twice.

Signing. `X-Parley-Signature: sha256=<hex HMAC-SHA256 of the raw body>`,
keyed with the bot's signing secret (BotProfile.signing_secret, given with
the token when the bot is made or its token regenerated). API.md asks for
the token as the key, but Parley keeps only tokens' hashes; a secret of its
own is what GitHub's and Slack's webhooks do too.

Server-side request forgery. An endpoint must be http(s) and every address
its host resolves to must be public (not loopback, private, link-local,
multicast, reserved or unspecified), both when it is set and at each send;
the send then connects to the address it checked (no second lookup for DNS
rebinding to change), and never follows a redirect.
PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS=1 lifts the address rule (tests, or
bots on the same private network).
"""
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, close_old_connections, connection, transaction
from django.utils import timezone

from users.models import ASSISTANT_EMAIL, BotProfile, User
from users.serializers import user_to_dict

from . import messaging
from .models import BotCursor, Delivery, Event, Membership, Room, Stream

log = logging.getLogger("parley.bots")

CURSOR_NAME = "bots"
BACKOFF_SECONDS = (1, 4, 16)  # after the first, second and third failed try; then it is given up
MAX_ATTEMPTS = len(BACKOFF_SECONDS) + 1
BATCH = 500
MAX_ANSWER_BYTES = 64 * 1024
THREADS = 8
USER_AGENT = "Parley-Webhooks/1"


# Endpoints and addresses -------------------------------------------------------------


class Refused(Exception):
    """The endpoint may not be sent to; the message says why."""


def allow_private():
    return bool(settings.PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS)


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_private or ip.is_loopback or ip.is_link_local
                                 or ip.is_reserved or ip.is_unspecified)


def _parts(url):
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise Refused("Not a valid URL.") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused("The endpoint must be an http:// or https:// URL.")
    if parts.username or parts.password:
        raise Refused("The endpoint may not carry a user name or password.")
    return parts, port or (443 if parts.scheme == "https" else 80)


def resolve(url) -> tuple:
    """Return (parts, port, address to connect to) for `url`, or raise Refused (the SSRF rule)."""
    parts, port = _parts(url)
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise Refused(f"The host {parts.hostname} could not be resolved.") from None
    addresses = [info[4][0] for info in found]
    if not addresses:
        raise Refused(f"The host {parts.hostname} has no address.")
    if not allow_private():
        for address in addresses:
            if not is_public_address(address):
                raise Refused(f"The endpoint's address {address} is not public (loopback, private, link-local, "
                              "multicast or reserved addresses are refused).")
    return parts, port, addresses[0]


def check_endpoint(url: str) -> str:
    """Return the endpoint if it may be used, else raise ValidationError (400)."""
    url = url.strip()
    if len(url) > 500:
        raise ValidationError({"endpoint": ["At most 500 characters."]})
    try:
        resolve(url)
    except Refused as error:
        raise ValidationError({"endpoint": [str(error)]}) from None
    return url


# One try -------------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""
    reply: str | None = None  # the `body` of a JSON answer


class _PinnedHTTP(http.client.HTTPConnection):
    """Connect to the address that was checked, whatever the name resolves to now."""

    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host, port, *, address, timeout):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def send(url: str, body: bytes, headers: dict, *, timeout: float) -> Outcome:
    """POST `body` to `url` once, within `timeout` seconds in all; never follow a redirect."""
    deadline = time.monotonic() + timeout
    try:
        parts, port, address = resolve(url)
    except Refused as error:
        return Outcome(False, error=str(error))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(parts.hostname, port, address=address, timeout=timeout)
    try:
        connection.request("POST", path, body=body, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT, **headers,
        })
        sock = connection.sock  # getresponse() lets go of it when the server closes the connection
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        response = connection.getresponse()
        answer = b""
        while len(answer) <= MAX_ANSWER_BYTES:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = response.read1(16384)
            if not chunk:
                break
            answer += chunk
            if time.monotonic() > deadline:
                raise TimeoutError
    except (TimeoutError, socket.timeout):
        return Outcome(False, error=f"No answer within {timeout:g} s.")
    except (OSError, http.client.HTTPException) as error:
        return Outcome(False, error=f"Could not reach the endpoint: {error.__class__.__name__}: {error}"[:300])
    finally:
        connection.close()
    return _judge(response, answer)


def _judge(response, answer) -> Outcome:
    status = response.status
    if 300 <= status < 400:
        where = response.getheader("Location", "")
        return Outcome(False, status, f"Redirected to {where[:200]}: redirects are not followed.")
    if not 200 <= status < 300:
        return Outcome(False, status, f"Answered {status} {response.reason}"[:300])
    if len(answer) > MAX_ANSWER_BYTES:
        return Outcome(False, status, f"The answer is over {MAX_ANSWER_BYTES} bytes.")
    if not answer.strip():
        return Outcome(True, status)
    try:
        data = json.loads(answer)
    except ValueError:
        kind = response.getheader("Content-Type", "no content type")
        return Outcome(False, status, f"The answer is not JSON ({kind[:80]}).")
    reply = data.get("body") if isinstance(data, dict) else None
    return Outcome(True, status, reply=reply if isinstance(reply, str) and reply.strip() else None)


# The worker --------------------------------------------------------------------------


def _payload(bot, room, message_data):
    return {
        "bot": user_to_dict(bot),
        "room": {"id": room.id, "slug": room.slug, "name": room.name, "kind": room.kind},
        "message": message_data,
    }


class Worker:
    """Follow the stream from the stored cursor; queue, send, retry and record deliveries.

    `clock` (returning an aware datetime) is replaceable: tests move time
    instead of sleeping. `step()` does one round and returns at once; sends
    finish in the pool and are recorded by a later step (or `drain()`).
    """

    def __init__(self, *, clock=timezone.now, timeout=None, threads=THREADS, assistant=True):
        self.clock = clock
        # The built-in assistant answers in this same loop (rooms/assistant_bot.py), imported only
        # here: web processes import this module (bots.check_endpoint) and must not load its NLP.
        self.assistant = None
        if assistant:
            from .assistant_bot import Assistant

            self.assistant = Assistant(clock=lambda: self.clock())
        self.timeout = settings.PARLEY_BOTS_TIMEOUT_SECONDS if timeout is None else timeout
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bots")
        self.in_flight = {}  # delivery id -> future
        self._stop = threading.Event()
        self._wake = threading.Event()  # set by wake(): a message was committed, look now

    # Reading the stream

    def cursor(self) -> int:
        return BotCursor.position_of(CURSOR_NAME)

    def scan(self) -> int:
        """Queue the deliveries of the messages after the cursor; return how many were queued."""
        cursor = self.cursor()
        head = Stream.objects.values_list("last_position", flat=True).first() or 0
        if head <= cursor:
            return 0
        bots = User.objects.filter(is_bot=True, is_active=True, bot_profile__endpoint__gt="")
        rooms = Membership.objects.filter(user__in=bots).values("room_id")
        events = list(
            Event.objects.after(cursor).filter(position__lte=head, type=Event.MESSAGE, room_id__in=rooms)
            .values_list("position", "room_id", "message_id", "data")[:BATCH]
        )
        reached = events[-1][0] if len(events) == BATCH else head
        queued = []
        if events:
            queued = self._deliveries_for(events, bots)
        with transaction.atomic():
            Delivery.objects.bulk_create(queued, ignore_conflicts=True)
            BotCursor.objects.filter(name=CURSOR_NAME, position=cursor).update(position=reached)
        return len(queued)

    def _deliveries_for(self, events, bots):
        room_ids = {room_id for _, room_id, _, _ in events}
        members = {}  # room id -> bot ids with an endpoint who are members now
        for room_id, user_id in Membership.objects.filter(room_id__in=room_ids, user__in=bots).values_list(
                "room_id", "user_id"):
            members.setdefault(room_id, set()).add(user_id)
        rooms = Room.objects.in_bulk(room_ids)
        wanted = []
        for _, room_id, message_id, data in events:
            message = data["message"]
            if message_id is None or message["author"].get("is_bot"):
                continue  # bots do not wake bots: two of them would answer each other for ever
            room = rooms.get(room_id)
            for bot_id in members.get(room_id, ()):
                if bot_id == message["author"]["id"]:
                    continue
                if bot_id in message["mentions"] or (room is not None and room.is_dm):
                    wanted.append((bot_id, room, message_id, message))
        found = {bot.id: bot for bot in User.objects.filter(id__in={w[0] for w in wanted})}
        return [
            Delivery(bot_id=bot_id, room=room, message_id=message_id, payload=_payload(found[bot_id], room, message),
                     due_at=self.clock())
            for bot_id, room, message_id, message in wanted
        ]

    # Sending

    def start_due(self) -> int:
        """Hand the due deliveries to the pool; return how many were started."""
        free = THREADS * 4 - len(self.in_flight)
        if free <= 0:
            return 0
        due = (
            Delivery.objects.filter(status=Delivery.PENDING, due_at__lte=self.clock())
            .exclude(id__in=list(self.in_flight)).exclude(bot__email=ASSISTANT_EMAIL)  # the assistant's own queue
            .order_by("due_at", "id")[:free]
        )
        started = 0
        for delivery in due:
            profile = BotProfile.objects.filter(user_id=delivery.bot_id, user__is_active=True).first()
            member = Membership.objects.filter(room_id=delivery.room_id, user_id=delivery.bot_id).exists()
            if profile is None or not profile.endpoint or not member:
                # What the bot may read is decided now, at the moment of sending.
                Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.DROPPED)
                continue
            body = json.dumps(delivery.payload, ensure_ascii=False).encode()
            headers = {
                "X-Parley-Signature": sign(profile.signing_secret, body),
                "X-Parley-Delivery": f"{delivery.bot_id}:{delivery.message_id}",
            }
            self.in_flight[delivery.id] = self.pool.submit(send, profile.endpoint, body, headers, timeout=self.timeout)
            started += 1
        return started

    def collect(self) -> int:
        """Record the sends that have finished; return how many."""
        done = [(pk, future) for pk, future in self.in_flight.items() if future.done()]
        for pk, future in done:
            del self.in_flight[pk]
            try:
                outcome = future.result()
            except Exception as error:  # a bug in send(): recorded as a failure, never lost
                log.exception("bots: sending delivery %s failed", pk)
                outcome = Outcome(False, error=f"Internal error: {error.__class__.__name__}")
            self.record(pk, outcome)
        return len(done)

    def record(self, pk, outcome: Outcome) -> None:
        delivery = Delivery.objects.select_related("room", "bot").filter(pk=pk).first()
        if delivery is None:  # its message was deleted meanwhile
            return
        now = self.clock()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        if outcome.ok:
            delivery.status = Delivery.DELIVERED
            delivery.save(update_fields=["attempts", "last_attempt_at", "status"])
            if outcome.reply is not None:
                self.reply(delivery, outcome.reply)
            return
        delivery.last_status_code, delivery.last_error = outcome.status, outcome.error[:300]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = Delivery.FAILED
        else:
            delivery.due_at = now + timedelta(seconds=BACKOFF_SECONDS[delivery.attempts - 1])
        delivery.save(update_fields=["attempts", "last_attempt_at", "status", "due_at", "last_status_code",
                                     "last_error"])
        log.info("bots: delivery %s to bot %s failed (try %s): %s", pk, delivery.bot_id, delivery.attempts,
                 outcome.error)

    def reply(self, delivery, body):
        """Post the endpoint's answer as the bot, in the room, if it may still write there."""
        bot = delivery.bot
        if not bot.is_active or not Membership.objects.filter(room=delivery.room, user=bot).exists():
            return
        try:
            messaging.message_post(room=delivery.room, author=bot, body=body,
                                   client_id=f"bot-reply:{delivery.message_id}")
        except (ValidationError, IntegrityError) as error:
            Delivery.objects.filter(pk=delivery.pk).update(
                last_attempt_at=self.clock(), last_error=f"The answer was not posted: {error}"[:300])

    # Running

    def step(self) -> None:
        self.collect()
        self.scan()
        self.start_due()
        if self.assistant is not None:
            self.assistant.step()

    def drain(self, timeout=None) -> None:
        """Wait for every send in flight and record it (tests; the end of --once)."""
        for future in list(self.in_flight.values()):
            future.exception(timeout=timeout)
        self.collect()

    def run(self, *, interval=0.5, once=False) -> None:
        """Step every `interval` seconds until stop() (SIGTERM); with `once`, one round then drain."""
        while not self._stop.is_set():
            close_old_connections()
            try:
                self.step()
            except DatabaseError as error:
                if once:
                    raise
                # A database restart must not end the process: try again at the next round.
                log.warning("bots: database error (%s); trying again", error)
                connection.close()
            if once:
                self.drain()
                return
            self._wake.wait(interval)
            self._wake.clear()
        self.pool.shutdown(wait=False, cancel_futures=True)

    def wake(self, *args) -> None:
        """Look at the stream now rather than at the end of the interval (the stream's NOTIFY, on PostgreSQL)."""
        self._wake.set()

    def stop(self, *args) -> None:
        self._stop.set()
        self._wake.set()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
