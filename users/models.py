import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import connections, models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

# A token's last use is written when it is older than this, not on every
# request: the poll is the hot path and must not write each time.
TOKEN_USE_PRECISION = timedelta(hours=1)


def normalize_email(email):
    """Return the one spelling of an email we store: emails are case-insensitive."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, email):
        return self.get(email=normalize_email(email))

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_approved", True)
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **fields):
        fields.update(is_staff=True, is_superuser=True, is_approved=True)
        return self.create_user(email, password, **fields)

    def active(self):
        return self.filter(is_active=True, is_approved=True)

    def for_token(self, key, *, now=None):
        """Return the active, approved user whose bearer token `key` is, or None.

        A token unused for PARLEY_TOKEN_IDLE_DAYS has expired. The user carries
        `token_id`, and `token_stale` when the token's last use is older than
        TOKEN_USE_PRECISION (users.services.token_user then notes the use).
        Every API request asks this (every poll), so it is a raw query: the
        ORM compiled the same join anew each time, half of the lookup's cost.
        """
        now = now or timezone.now()
        adapt = connections[self.db].ops.adapt_datetimefield_value
        sql = (
            f"SELECT u.*, t.id AS token_id, t.last_used_at < %s AS token_stale"
            f" FROM {self.model._meta.db_table} u JOIN {ApiToken._meta.db_table} t"
            " ON t.user_id = u.id WHERE t.key_hash = %s AND t.last_used_at > %s AND u.is_active AND u.is_approved"
        )
        params = [adapt(now - TOKEN_USE_PRECISION), token_hash(key), adapt(token_idle_cutoff(now))]
        return next(iter(self.raw(sql, params)), None)


# The built-in assistant's address (rooms/assistant_bot.py, rooms migration 0010): how it is
# recognised. `.invalid` is reserved (RFC 2606): never a mailbox anyone could register.
ASSISTANT_EMAIL = "assistant@parley.invalid"

# How much of a room's traffic reaches a person as browser notifications (and, for
# `none`, as bold rooms): a per-room choice (rooms.Membership.notify) or their default.
NOTIFY_ALL = "all"
NOTIFY_MENTIONS = "mentions"
NOTIFY_NONE = "none"  # muted: no notifications, not bold; mentions still count
NOTIFY_LEVELS = [(NOTIFY_ALL, "All messages"), (NOTIFY_MENTIONS, "Mentions only"), (NOTIFY_NONE, "Nothing (muted)")]


class Theme(models.TextChoices):
    """How a person's pages look: as their system says (prefers-color-scheme), or always light or dark."""

    SYSTEM = "system", "Match the system"
    LIGHT = "light", "Light"
    DARK = "dark", "Dark"


class User(AbstractBaseUser, PermissionsMixin):
    """A person, known by email; `is_approved` is False while staff approval is pending."""

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150)
    last_name = models.CharField(max_length=150)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_approved = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(null=True, blank=True)
    is_online = models.BooleanField(default=False)
    # Raised by "log out everywhere": part of every session's auth hash, so all
    # sessions made before it stop (get_session_auth_hash below).
    session_generation = models.PositiveIntegerField(default=0, db_default=0)
    # The ids this user blocks, kept by users.services.user_block/user_unblock from
    # the Block rows (the truth). It rides along with the user every request already
    # has, so hiding blocked people's messages from history, search and the poll
    # costs no query; the poll takes its user from users/tokencache.py, which
    # forgets a user everywhere when the row is saved.
    blocked_ids = models.JSONField(default=list, db_default=[], blank=True, editable=False)
    # A bot (rooms/bots.py): no usable password, no session, only its token; it
    # sees the rooms it is invited to or DMed in (RoomQuerySet.visible_to).
    is_bot = models.BooleanField(default=False, db_default=False)
    bot_owner = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="bots")
    # Notification defaults: the level of every room the user has not set one for, and
    # whether the chat page plays a short sound with a notification.
    notify_default = models.CharField(max_length=8, choices=NOTIFY_LEVELS, default=NOTIFY_ALL, db_default=NOTIFY_ALL)
    notify_sound = models.BooleanField(default=False, db_default=False)
    # Kept on the server so it follows the person to every browser; base.html renders it as
    # <html data-theme>, so the page is drawn in it from the first paint, with no script.
    theme = models.CharField(max_length=6, choices=Theme.choices, default=Theme.SYSTEM, db_default=Theme.SYSTEM)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["first_name", "last_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self):
        return self.email

    def clean(self):
        # Forms (the admin's add and change pages) store what login will look up.
        super().clean()
        self.email = normalize_email(self.email)

    @property
    def display_name(self):
        return f"{self.first_name} {self.last_name}".strip() or self.email.split("@")[0]

    def get_full_name(self):
        return self.display_name

    def get_short_name(self):
        return self.first_name

    # Django keeps this hash in each session and ends the sessions whose hash no
    # longer matches (django.contrib.auth.get_user): a new password ends them,
    # and so does a new session_generation. At generation 0 it is Django's own
    # hash, so sessions made before generations existed stay valid.
    def get_session_auth_hash(self):
        return self._with_generation(super().get_session_auth_hash())

    def get_session_auth_fallback_hash(self):
        for secret, plain in zip(settings.SECRET_KEY_FALLBACKS, super().get_session_auth_fallback_hash()):
            yield self._with_generation(plain, secret)

    def _with_generation(self, plain, secret=None):
        if not self.session_generation:
            return plain
        return salted_hmac("users.User.session_generation", f"{plain}:{self.session_generation}",
                           secret=secret, algorithm="sha256").hexdigest()


def token_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


def token_idle_cutoff(now=None):
    """Tokens last used before this have expired (PARLEY_TOKEN_IDLE_DAYS)."""
    return (now or timezone.now()) - timedelta(days=settings.PARLEY_TOKEN_IDLE_DAYS)


class TokenQuerySet(models.QuerySet):
    def for_key(self, key):
        return self.filter(key_hash=token_hash(key))

    def expired(self, now=None):
        return self.filter(last_used_at__lte=token_idle_cutoff(now))


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the key is shown once at login."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Within TOKEN_USE_PRECISION; unused for PARLEY_TOKEN_IDLE_DAYS, the token has expired.
    last_used_at = models.DateTimeField(default=timezone.now)

    objects = TokenQuerySet.as_manager()

    @staticmethod
    def new_key():
        return secrets.token_urlsafe(32)


class BotProfile(models.Model):
    """What only a bot has: where its outgoing webhooks go, and the secret that signs them.

    The secret is kept in clear because Parley must compute signatures with it;
    the bot's bearer token cannot be the key, since only its hash is stored
    (ApiToken). It is shown once, with the token, and changes with it.
    """

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE, related_name="bot_profile")
    endpoint = models.URLField(max_length=500, blank=True, default="")
    signing_secret = models.CharField(max_length=64)

    @staticmethod
    def new_secret():
        return secrets.token_hex(32)


class BlockQuerySet(models.QuerySet):
    def by(self, blocker):
        return self.filter(blocker=blocker)

    def refusing(self, user, *, by):
        """The block, if any, by which `by` refuses `user`'s DMs and invitations."""
        return self.filter(blocker=by, blocked=user)


class Block(models.Model):
    """`blocker` wants nothing from `blocked`: no DMs, no invitations, none of their messages."""

    blocker = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    objects = BlockQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["blocker", "blocked"], name="block_unique")]
