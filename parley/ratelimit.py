"""Rate limits: how often an address or a person may log in, register, send, poll and write.

One module, over 400 lines, on purpose: every limit below shares the rules,
the fixed windows, the hashed keys and the two kinds of counter, and a
newcomer looking for "why did I get a 429" finds all of it here.

Every limit is a fixed window: a window starts at a multiple of its length
(in Unix time), so every process and host agrees on it without talking. A
request over the limit gets 429 `rate_limited` with `Retry-After` (the seconds
until the window ends); PARLEY_RATE_LIMITS=off turns every rate limit off, but
not the caps on waiting polls, which keep a worker's connections from being
held by one client (limit_polls).

Two kinds of counter:

- Shared, in the database (login, registration, sending, and the other writes:
  creating, changing, joining and leaving rooms, invitations, receipts, DMs,
  blocks): one UPSERT per check on one row per key (table
  parley_rate_counter, parley/models.py). On PostgreSQL every worker process
  and host counts in the same row, atomically; on SQLite the one process does.
  These requests write anyway; one more short statement is cheap.
- Local, in the worker's memory (typing): a client sends it every few seconds
  while its user types, and most of those are answered from memory (the
  per-room throttle in rooms/services.typing_notify) or write one small,
  short-lived event. A database counter would add a write to every one of
  them, more than the typing notice itself costs. Per worker it still stops a
  script typing into dozens of rooms at once, which is the abuse.
- Local, in the worker's memory (polling): the poll is the hottest request and
  usually reads nothing from the database, so it must not write on every call.
  Its limits and the caps on concurrent polls (per user and per address) are
  per worker process: with N workers a client can poll N times the limit and
  hold N times PARLEY_POLL_CONCURRENCY waiting polls. It stops a runaway
  client or script from pinning a worker; it is not an exact quota.

Who is counted: the client address (REMOTE_ADDR, or the X-Forwarded-For entry
written by the outermost of PARLEY_TRUSTED_PROXIES proxies; an IPv6 address
counts as its /64, since one host usually owns a whole /64), the user, and for
login the email tried. Keys are hashed before they are stored, so the table
holds no address or email in clear.

Login counts failed passwords only, as django-axes and django-defender do,
so that nobody can lock someone else out by failing on purpose:

- per (email, address) pair, PARLEY_RATE_LOGIN_EMAIL_IP (10/15m): the lock
  an attacker meets, which the account's owner at another address never sees;
- per address, PARLEY_RATE_LOGIN_IP (300/15m), across emails: one address
  guessing many accounts (generous: a school or an office shares one address);
- per email across all addresses, PARLEY_RATE_LOGIN_EMAIL (100/1h): over it
  the account is under attack from many addresses, and each address may fail
  only LOCKDOWN_TRIES times for it instead of the pair's 10. An address with
  no failures (the owner's, usually) still gets in with the right password.

A login is counted before its password is checked and refunded when the
password was right (login_attempt), not looked up first and counted after:
otherwise a hundred requests sent at once would all find the count at zero
(django-axes' "known issue, won't fix" #592). So at most the limit's worth of
failures get through, however many arrive together.
"""
import functools
import hashlib
import ipaddress
import math
import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.http import HttpResponse

from parley.api import ApiError, wants_json
from parley.server.deferred import DeferredResponse

# The clock, replaceable in tests.
clock = time.time

# How long a client refused for too many concurrent polls should wait.
POLL_BUSY_RETRY_AFTER = 5
# Roughly one check in PRUNE_EVERY deletes the expired rows.
PRUNE_EVERY = 500
# The local counters forget expired keys when they hold more than this.
LOCAL_KEYS_MAX = 50_000


class RateLimited(ApiError):
    def __init__(self, retry_after, message="Too many requests: slow down and try again later."):
        super().__init__(429, "rate_limited", message, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Rule:
    """A limit: its name, the setting holding (count, seconds), whom it counts and where."""

    name: str
    setting: str
    per: str  # "ip", "user", or what the caller gives ("email", "email+ip", "invitee")
    shared: bool = True  # in the database; False: in this process's memory

    def limit(self):
        return getattr(settings, self.setting, None)


# Login failures (see the module docstring). The rows of the old "count every
# attempt" rules, login_ip and login_email, simply expire.
LOGIN_EMAIL_IP = Rule("login_fail_email_ip", "PARLEY_RATE_LOGIN_EMAIL_IP", per="email+ip")
LOGIN_IP = Rule("login_fail_ip", "PARLEY_RATE_LOGIN_IP", per="ip")
LOGIN_EMAIL = Rule("login_fail_email", "PARLEY_RATE_LOGIN_EMAIL", per="email")
# While an email is over PARLEY_RATE_LOGIN_EMAIL, how many failures for it each address may have.
# Not 1: the owner may mistype once or twice while someone else is guessing.
LOCKDOWN_TRIES = 3
REGISTER_IP = Rule("register_ip", "PARLEY_RATE_REGISTER_IP", per="ip")
# "Forgot password?": requests per address (over it, a 429), and mails per email (over it, none is
# sent but the answer is the same, so it tells nobody whether the email has an account).
PASSWORD_RESET_IP = Rule("password_reset_ip", "PARLEY_RATE_PASSWORD_RESET_IP", per="ip")
PASSWORD_RESET_EMAIL = Rule("password_reset_email", "PARLEY_RATE_PASSWORD_RESET_EMAIL", per="email")
SEND_USER = Rule("send_user", "PARLEY_RATE_SEND_USER", per="user")
SEND_IP = Rule("send_ip", "PARLEY_RATE_SEND_IP", per="ip")
POLL_USER = Rule("poll_user", "PARLEY_RATE_POLL_USER", per="user", shared=False)
POLL_IP = Rule("poll_ip", "PARLEY_RATE_POLL_IP", per="ip", shared=False)
# The other writes, per user: each tells other people something (an event in
# their rooms, a room in their list), so a flood of them is a flood on others.
ROOM_CREATE = Rule("room_create", "PARLEY_RATE_ROOM_CREATE", per="user")
ROOM_UPDATE = Rule("room_update", "PARLEY_RATE_ROOM_UPDATE", per="user")
JOIN_LEAVE = Rule("join_leave", "PARLEY_RATE_JOIN_LEAVE", per="user")  # joins and leaves count together
INVITE = Rule("invite", "PARLEY_RATE_INVITE", per="user")  # the inviter
INVITED = Rule("invited", "PARLEY_RATE_INVITED", per="invitee")  # given by the caller: see check_invited()
TYPING = Rule("typing", "PARLEY_RATE_TYPING", per="user", shared=False)
READ = Rule("read", "PARLEY_RATE_READ", per="user")
DM_OPEN = Rule("dm_open", "PARLEY_RATE_DM_OPEN", per="user")
BLOCK = Rule("block", "PARLEY_RATE_BLOCK", per="user")  # blocks and unblocks count together
SEARCH = Rule("search", "PARLEY_RATE_SEARCH", per="user")
EDIT = Rule("edit", "PARLEY_RATE_EDIT", per="user")  # edits and deletes count together
REACT = Rule("react", "PARLEY_RATE_REACT", per="user")  # adding and removing count together
UPLOAD = Rule("upload", "PARLEY_RATE_UPLOAD", per="user")
HOOK = Rule("hook", "PARLEY_RATE_HOOK", per="hook")  # given by the caller: the incoming webhook's id
BOT_CREATE = Rule("bot_create", "PARLEY_RATE_BOT_CREATE", per="user")  # bots, hooks and new tokens together


def enabled():
    return bool(settings.PARLEY_RATE_LIMITS)


def check(rule, who, *, now=None):
    """Count one request by `who` against `rule`; raise RateLimited when it is over the limit."""
    counted = _count(rule, who, now=now)
    if counted is not None and counted.over:
        raise RateLimited(counted.retry_after)


@dataclass(frozen=True)
class Counted:
    """One hit as a counter took it: the window's count so far, and how to take it back."""

    key: str
    window_start: int
    hits: int
    allowed: int
    retry_after: int

    @property
    def over(self):
        return self.hits > self.allowed

    def refund(self):
        """Take the hit back (shared counters only), unless its window is already over."""
        _database_refund(self.key, self.window_start)


def _count(rule, who, *, now=None):
    """Count one hit by `who` against `rule`; None when the rule is off."""
    limit = rule.limit()
    if not enabled() or not limit:
        return None
    count, seconds = limit
    now = clock() if now is None else now
    window_start = int(now // seconds * seconds)
    key = hashlib.sha256(f"{rule.name}\0{who}".encode()).hexdigest()
    counter = _database_hit if rule.shared else _local.hit
    hits = counter(key, window_start, window_start + seconds, now)
    return Counted(key, window_start, hits, count, max(1, math.ceil(window_start + seconds - now)))


# Login -----------------------------------------------------------------------------


class LoginAttempt:
    """One password check, counted as a failure until it proves to be right."""

    def __init__(self):
        self._counted = []

    def count(self, rule, who, *, now=None):
        """Count the attempt against one rule; return what the counter says (None: the rule is off)."""
        counted = _count(rule, who, now=now)
        if counted is not None:
            self._counted.append(counted)
        return counted

    def succeeded(self):
        """The password was right: this attempt counts nowhere."""
        self.cancel()

    def cancel(self):
        """The check never happened (it was refused, or broke): take the hits back."""
        counted, self._counted = self._counted, []
        for hit in counted:
            hit.refund()


def login_attempt(request, email, *, now=None):
    """Count a login as failed for its email and address, or raise RateLimited.

    Call before checking the password, then `.succeeded()` on the answer when
    it was right (users/backends.py does both for every login form and API).
    """
    attempt = LoginAttempt()
    if not enabled():
        return attempt
    email = (email or "").strip().lower()
    address = client_ip(request)
    try:
        pair = attempt.count(LOGIN_EMAIL_IP, f"{email}\0{address}", now=now)
        if pair is not None and pair.over:
            raise RateLimited(pair.retry_after)
        per_address = attempt.count(LOGIN_IP, address, now=now)
        if per_address is not None and per_address.over:
            raise RateLimited(per_address.retry_after)
        per_email = attempt.count(LOGIN_EMAIL, email, now=now)
        if per_email is not None and per_email.over:
            if pair is None:  # no pair rule to tell clean addresses from the rest: a plain limit
                raise RateLimited(per_email.retry_after)
            if pair.hits > LOCKDOWN_TRIES:
                raise RateLimited(min(per_email.retry_after, pair.retry_after))
    except BaseException:
        attempt.cancel()  # a refused (or broken) attempt checked no password: it counts nowhere
        raise
    return attempt


def password_reset_allowed(email, *, now=None):
    """Count a reset mail for `email`; False when that email has had its share (send nothing)."""
    counted = _count(PASSWORD_RESET_EMAIL, (email or "").strip().lower(), now=now)
    return counted is None or not counted.over


# Who -------------------------------------------------------------------------------


def client_ip(request):
    """Return the address to count the request against (an IPv6 address as its /64)."""
    remote = request.META.get("REMOTE_ADDR", "")
    address = remote
    trusted = settings.PARLEY_TRUSTED_PROXIES
    if trusted:
        hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if hops:
            # Each trusted proxy appended the address it saw; anything further left
            # was written by the client and proves nothing.
            address = hops[-trusted] if len(hops) >= trusted else hops[0]
    return _network(address) or _network(remote) or "unknown"


def _network(address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _user(request):
    return f"user:{request.user.id}" if request.user.is_authenticated else f"ip:{client_ip(request)}"


# Applying limits -------------------------------------------------------------------


def limit(*rules, methods=None):
    """Decorate a view: count each request (of `methods`, or all) against the rules.

    Each rule counts per address or per user, as it says. Under /api/ a refusal is the JSON error (raised for parley.api.endpoint to answer,
    so put this under @endpoint); on pages it is a short plain-text 429.
    """

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if enabled() and (methods is None or request.method in methods):
                try:
                    for rule in rules:
                        check(rule, client_ip(request) if rule.per == "ip" else _user(request))
                except RateLimited as error:
                    if wants_json(request):
                        raise
                    return page_response(error)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def check_invited(invitee_id):
    """Count an invitation of one person, whoever sends it: nobody is invited into rooms by the dozen."""
    check(INVITED, f"user:{invitee_id}")


def limit_login_page(view):
    """Decorate a login page view: a login refused by the limits answers a short 429 page.

    The counting happens where every login checks a password, in the
    authentication backend (users/backends.py); this only turns its refusal
    into a page.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except RateLimited as error:
            return page_response(error)

    return wrapper


def page_response(error):
    response = HttpResponse(
        f"Too many attempts. Try again in {error.retry_after} seconds.\n",
        status=429, content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = str(error.retry_after)
    return response


def limit_polls(view):
    """Decorate the long poll (under @endpoint): local rate limits, and a cap on waiting polls.

    A user may have PARLEY_POLL_CONCURRENCY polls open at once in this process
    (a few tabs and devices), and a client address PARLEY_POLL_CONCURRENCY_IP
    (an office behind one NAT address); one more is refused until one of them
    returns. The caps are safety limits, not rate limits: every open poll holds
    one of the worker's connections, so PARLEY_RATE_LIMITS=off leaves them on.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        limits = enabled()
        # Not worked out when nothing counts it (load tests): the poll is the hottest request.
        address = client_ip(request) if limits or settings.PARLEY_POLL_CONCURRENCY_IP is not None else None
        if limits:
            check(POLL_USER, _user(request))
            check(POLL_IP, address)
        user_id = request.user.id
        with poll_slot(user_id, address) as slot:
            response = view(request, *args, **kwargs)
            if isinstance(response, DeferredResponse):  # it waits after this returns: keep the slot till then
                response.when_done.append(slot.keep())
            return response

    return wrapper


@contextmanager
def poll_slot(user_id, address=None):
    """Hold one of the user's concurrent-poll slots in this process, and one of
    the address's if given, or raise RateLimited.

    `slot.keep()` hands the slots on: they are then released by calling what keep() returns.
    """
    if not _polls.acquire(user_id, settings.PARLEY_POLL_CONCURRENCY):
        raise RateLimited(POLL_BUSY_RETRY_AFTER, "Too many open polls for this account: close a tab or wait.")
    address_cap = settings.PARLEY_POLL_CONCURRENCY_IP
    if address is not None and address_cap is not None:
        if not _address_polls.acquire(address, address_cap):
            _polls.release(user_id)
            raise RateLimited(POLL_BUSY_RETRY_AFTER, "Too many open polls from this address: try again later.")
    else:
        address = None
    slot = _Slot(user_id, address)
    try:
        yield slot
    finally:
        if not slot.kept:
            slot.release()


class _Slot:
    def __init__(self, user_id, address):
        self.user_id, self.address, self.kept = user_id, address, False

    def release(self):
        _polls.release(self.user_id)
        if self.address is not None:
            _address_polls.release(self.address)

    def keep(self):
        self.kept = True
        return self.release


# Counters --------------------------------------------------------------------------


def _upsert_sql():
    quote = connection.ops.quote_name
    table, key = quote("parley_rate_counter"), quote("key")
    # A window that is older than the stored one (a host whose clock is behind)
    # counts in the stored window rather than restarting it.
    return f"""
        INSERT INTO {table} ({key}, window_start, hits, expires_at) VALUES (%s, %s, 1, %s)
        ON CONFLICT ({key}) DO UPDATE SET
            hits = CASE WHEN {table}.window_start >= excluded.window_start
                        THEN {table}.hits + 1 ELSE 1 END,
            window_start = CASE WHEN {table}.window_start >= excluded.window_start
                                THEN {table}.window_start ELSE excluded.window_start END,
            expires_at = CASE WHEN {table}.expires_at >= excluded.expires_at
                              THEN {table}.expires_at ELSE excluded.expires_at END
        RETURNING hits
    """


def _database_hit(key, window_start, expires_at, now):
    """Count one hit in the shared row for `key`; return the window's count so far."""
    with connection.cursor() as cursor:
        cursor.execute(_upsert_sql(), [key, window_start, expires_at])
        hits = cursor.fetchone()[0]
    if random.randrange(PRUNE_EVERY) == 0:
        prune(now=now)
    return hits


def _database_refund(key, window_start):
    """Take one hit back from the shared row for `key`, if it is still in that window."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {quote('parley_rate_counter')} SET hits = hits - 1"
            f" WHERE {quote('key')} = %s AND window_start = %s AND hits > 0",
            [key, window_start],
        )


def prune(*, now=None):
    """Delete the shared counters whose window is over; return how many."""
    from parley.models import RateCounter

    now = clock() if now is None else now
    deleted, _ = RateCounter.objects.filter(expires_at__lte=now).delete()
    return deleted


class LocalCounters:
    """Fixed-window counters in this process's memory."""

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}  # key -> [window_start, hits, expires_at]

    def hit(self, key, window_start, expires_at, now):
        with self._lock:
            window = self._windows.get(key)
            if window is None or window[0] < window_start:
                if window is None and len(self._windows) >= LOCAL_KEYS_MAX:
                    self._forget_expired(now)
                window = self._windows[key] = [window_start, 0, expires_at]
            window[1] += 1
            return window[1]

    def _forget_expired(self, now):
        for key in [key for key, window in self._windows.items() if window[2] <= now]:
            del self._windows[key]

    def reset(self):
        with self._lock:
            self._windows.clear()


class PollSlots:
    """How many polls each user (or address) has open in this process."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open = {}

    def acquire(self, key, cap):
        with self._lock:
            if self._open.get(key, 0) >= cap:
                return False
            self._open[key] = self._open.get(key, 0) + 1
            return True

    def release(self, key):
        with self._lock:
            left = self._open.get(key, 0) - 1
            if left > 0:
                self._open[key] = left
            else:
                self._open.pop(key, None)

    def open_count(self, key):
        return self._open.get(key, 0)

    def reset(self):
        with self._lock:
            self._open.clear()


_local = LocalCounters()
_polls = PollSlots()  # per user id
_address_polls = PollSlots()  # per client_ip()


def reset_local():
    """Forget this process's counters and poll slots (tests)."""
    _local.reset()
    _polls.reset()
    _address_polls.reset()
