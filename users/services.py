"""Writes about accounts: registration, approval, passwords, tokens, blocks."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from .models import NOTIFY_LEVELS, TOKEN_USE_PRECISION, ApiToken, Block, User, normalize_email, token_hash

NOTIFY_VALUES = [value for value, _ in NOTIFY_LEVELS]


class EmailTaken(Exception):
    pass


def user_register(*, email: str, password: str, first_name: str, last_name: str) -> User:
    """Create an account; it is pending when PARLEY_REQUIRE_APPROVAL is on."""
    try:
        with transaction.atomic():
            return User.objects.create_user(
                normalize_email(email),
                password,
                first_name=first_name,
                last_name=last_name,
                is_approved=not settings.PARLEY_REQUIRE_APPROVAL,
            )
    except IntegrityError:
        raise EmailTaken(email) from None


def user_approve(*, user: User) -> User:
    if not user.is_approved:
        user.is_approved = True
        user.save(update_fields=["is_approved"])
    return user


def user_delete(*, user: User) -> None:
    user.delete()


def user_profile_update(*, user: User, first_name: str, last_name: str, theme: str) -> User:
    """Change how the user is named and how their pages look (an already validated name and theme)."""
    user.first_name, user.last_name, user.theme = first_name, last_name, theme
    user.save(update_fields=["first_name", "last_name", "theme"])
    return user


def user_password_change(*, user: User, password: str) -> None:
    """Set a new (already validated) password.

    Saving it revokes every token of the user and, through the session auth
    hash, every session (users/revocation.py); the caller keeps its own with a
    fresh token or update_session_auth_hash().
    """
    user.set_password(password)
    user.save(update_fields=["password"])


def user_notifications_set(*, user: User, default: str | None = None, sound: bool | None = None) -> User:
    """Change the user's notification defaults: the level of rooms they set none for, and the sound."""
    fields = []
    if default is not None:
        if default not in NOTIFY_VALUES:
            raise ValidationError({"notify_default": [f"One of {', '.join(NOTIFY_VALUES)}."]})
        user.notify_default = default
        fields.append("notify_default")
    if sound is not None:
        user.notify_sound = bool(sound)
        fields.append("notify_sound")
    if fields:
        user.save(update_fields=fields)
    return user


def user_logout_everywhere(*, user: User) -> None:
    """End every session and token of the user, wherever they are."""
    with transaction.atomic():
        user_tokens_revoke(user=user)
        # A new generation moves the session auth hash: every session made before stops
        # (User.get_session_auth_hash). Saved, not updated, so every process's token cache hears of it.
        user.session_generation = models.F("session_generation") + 1
        user.save(update_fields=["session_generation"])
        user.refresh_from_db(fields=["session_generation"])


def user_tokens_revoke(*, user: User) -> int:
    """Delete every bearer token of the user; every process forgets them at once (users/tokencache.py)."""
    deleted, _ = ApiToken.objects.filter(user=user).delete()
    return deleted


def token_create(*, user: User) -> str:
    """Return a new bearer key for the user; only its hash is kept. The user's expired tokens go."""
    ApiToken.objects.filter(user=user).expired().delete()
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, key_hash=token_hash(key))
    return key


def token_user(*, key: str) -> User | None:
    """Return the user the bearer key authenticates, or None; note the token's use, at most hourly."""
    user = User.objects.for_token(key)
    if user is not None and user.token_stale:
        now = timezone.now()
        ApiToken.objects.filter(pk=user.token_id, last_used_at__lt=now - TOKEN_USE_PRECISION).update(last_used_at=now)
    return user


def token_revoke(*, key: str) -> None:
    ApiToken.objects.for_key(key).delete()




def user_block(*, blocker: User, blocked: User) -> bool:
    """Block `blocked` for `blocker`; return False if they already were."""
    if blocker.id == blocked.id:
        raise ValidationError({"user_id": ["You cannot block yourself."]})
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=blocker.pk)  # one change of a user's blocks at a time
        _, created = Block.objects.get_or_create(blocker=locked, blocked=blocked)
        if created:
            _store_blocked_ids(locked)
    blocker.blocked_ids = locked.blocked_ids
    return created


def user_unblock(*, blocker: User, blocked_id: int) -> bool:
    """Lift `blocker`'s block of the user `blocked_id`; return False if there was none."""
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=blocker.pk)
        deleted, _ = Block.objects.by(locked).filter(blocked_id=blocked_id).delete()
        if deleted:
            _store_blocked_ids(locked)
    blocker.blocked_ids = locked.blocked_ids
    return bool(deleted)


def _store_blocked_ids(user):
    """Copy the user's blocks onto their row; saving it makes every process forget its cached copy."""
    user.blocked_ids = sorted(Block.objects.by(user).values_list("blocked_id", flat=True))
    user.save(update_fields=["blocked_ids"])
