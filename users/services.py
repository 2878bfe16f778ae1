"""Writes about accounts: registration, approval, tokens, blocks."""
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from .models import ApiToken, Block, User, normalize_email, token_hash


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


def token_create(*, user: User) -> str:
    """Return a new bearer key for the user; only its hash is kept."""
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, key_hash=token_hash(key))
    return key


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
