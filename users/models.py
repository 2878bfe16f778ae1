import hashlib
import secrets

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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

    def for_token(self, key):
        """Return the active, approved user whose bearer token `key` is, or None.

        Every API request asks this (every poll), so it is a raw query: the
        ORM compiled the same join anew each time, half of the lookup's cost.
        """
        sql = (
            f"SELECT u.* FROM {self.model._meta.db_table} u JOIN {ApiToken._meta.db_table} t"
            " ON t.user_id = u.id WHERE t.key_hash = %s AND u.is_active AND u.is_approved"
        )
        return next(iter(self.raw(sql, [token_hash(key)])), None)


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
    # The ids this user blocks, kept by users.services.user_block/user_unblock from
    # the Block rows (the truth). It rides along with the user every request already
    # has, so hiding blocked people's messages from history, search and the poll
    # costs no query; the poll takes its user from users/tokencache.py, which
    # forgets a user everywhere when the row is saved.
    blocked_ids = models.JSONField(default=list, db_default=[], blank=True, editable=False)

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


def token_hash(key):
    return hashlib.sha256(key.encode()).hexdigest()


class TokenQuerySet(models.QuerySet):
    def for_key(self, key):
        return self.filter(key_hash=token_hash(key))


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the key is shown once at login."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TokenQuerySet.as_manager()

    @staticmethod
    def new_key():
        return secrets.token_urlsafe(32)


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
