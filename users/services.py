"""Writes about accounts: registration, approval, tokens."""
from django.conf import settings
from django.db import IntegrityError, transaction

from .models import ApiToken, User, normalize_email, token_hash


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


