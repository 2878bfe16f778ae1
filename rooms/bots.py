"""Bots and their incoming webhooks: the writes (API.md, Bots and webhooks).

A bot is a User with `is_bot`, owned by the user who made it (`bot_owner`),
with a BotProfile holding its endpoint and signing secret. It has no usable
password, and users/backends.py refuses it any password or session, so it
acts only with its bearer token, on the same API and long poll as any client.
It sees only the rooms it is a member of (RoomQuerySet.visible_to).

Deleting a bot deactivates it rather than deleting the row: its messages
stay in the rooms' history (deleting the user would take them with it,
without a word to the clients that show them). Its tokens are deleted, and
saving the user makes every process's token cache forget it at once
(users/tokencache.py hears both through Django's signals and NOTIFY).

Outgoing webhooks (the POST to a bot's endpoint) are rooms/webhooks.py's.
"""
import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction

from users import services as user_services
from users.models import ASSISTANT_EMAIL, BotProfile, User, token_hash

from . import messaging, services
from .models import Delivery, Hook, Membership, Message, Room
from .webhooks import check_endpoint

NAME_MAX_LENGTH = 150
# How many of a bot's last failed deliveries its owner sees.
FAILURES_SHOWN = 5


class Created:
    """A new bot, or one with a new token: the secrets are only ever shown here."""

    def __init__(self, bot, token, signing_secret):
        self.bot, self.token, self.signing_secret = bot, token, signing_secret


def bot_create(*, owner: User, name: str, endpoint: str = "") -> Created:
    """Create a bot owned by `owner`, with its token and signing secret."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": ["A bot needs a name."]})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError({"name": [f"At most {NAME_MAX_LENGTH} characters."]})
    endpoint = check_endpoint(endpoint) if endpoint else ""
    with transaction.atomic():
        # Bots have no mailbox: a unique address nobody can log in with.
        bot = User(email=f"bot-{uuid.uuid4().hex}@bots.parley.invalid", first_name=name, last_name="",
                   is_bot=True, bot_owner=owner, is_approved=True)
        bot.set_unusable_password()
        bot.save()
        secret = BotProfile.new_secret()
        BotProfile.objects.create(user=bot, endpoint=endpoint, signing_secret=secret)
        token = user_services.token_create(user=bot)
    return Created(bot, token, secret)


def bots_of(user: User):
    """The active bots `user` owns, with their profiles."""
    return User.objects.filter(is_bot=True, bot_owner=user, is_active=True).select_related("bot_profile").order_by("id")


def bot_for(user: User, bot_id: int):
    """The active bot `bot_id` if `user` owns it or is staff, else None.

    Never the built-in assistant: nobody, staff included, may delete it or
    give it a token (which would let them speak as it).
    """
    bots = (User.objects.filter(is_bot=True, is_active=True, id=bot_id).exclude(email=ASSISTANT_EMAIL)
            .select_related("bot_profile"))
    if not user.is_staff:
        bots = bots.filter(bot_owner=user)
    return bots.first()


def bot_token_regenerate(*, bot: User) -> Created:
    """Replace the bot's token and signing secret: the old token stops at once everywhere."""
    with transaction.atomic():
        user_services.user_tokens_revoke(user=bot)  # post_delete signals: every process forgets them
        secret = BotProfile.new_secret()
        BotProfile.objects.filter(user=bot).update(signing_secret=secret)
        token = user_services.token_create(user=bot)
    return Created(bot, token, secret)


def bot_delete(*, bot: User) -> None:
    """Deactivate the bot, revoke its tokens and hooks, and take it out of its rooms; its messages stay."""
    with transaction.atomic():
        user_services.user_tokens_revoke(user=bot)
        bot.is_active = False
        bot.save(update_fields=["is_active"])  # post_save: every process's token cache forgets the bot
        Hook.objects.filter(bot=bot).delete()
        BotProfile.objects.filter(user=bot).update(endpoint="")
        Delivery.objects.filter(bot=bot, status=Delivery.PENDING).update(status=Delivery.DROPPED)
    for membership in Membership.objects.filter(user=bot).select_related("room"):
        services.room_leave(room=membership.room, user=bot)  # members see it go


def last_failures(bot: User, limit: int = FAILURES_SHOWN) -> list[Delivery]:
    return list(
        Delivery.objects.filter(bot=bot, last_attempt_at__isnull=False).exclude(last_error="")
        .select_related("room").order_by("-last_attempt_at")[:limit]
    )


# Incoming webhooks -------------------------------------------------------------------


class NotAllowed(Exception):
    """The caller may not make this hook; the message says why."""


def hook_create(*, room: Room, bot: User, by: User) -> tuple[Hook, str]:
    """Make an incoming webhook for `bot` in `room`; return it and its secret key (shown once)."""
    if not (bot.is_bot and bot.is_active and bot.bot_owner_id == by.id):
        raise NotAllowed("You can only make hooks for your own bots.")
    if not Membership.objects.filter(room=room, user=bot).exists():
        raise NotAllowed("Invite the bot to the room first.")
    key = secrets.token_urlsafe(32)
    hook = Hook.objects.create(room=room, bot=bot, created_by=by, key_hash=token_hash(key))
    return hook, key


def hook_for(key: str) -> Hook | None:
    """The live hook whose secret is `key`: its bot active and still a member of its room; else None."""
    hook = Hook.objects.select_related("room", "bot").filter(key_hash=token_hash(key)).first()
    if hook is None or not hook.bot.is_active:
        return None
    if not Membership.objects.filter(room=hook.room, user=hook.bot).exists():
        return None
    return hook


def hook_post(*, hook: Hook, body: str) -> Message:
    """Post `body` into the hook's room as its bot."""
    message, _ = messaging.message_post(room=hook.room, author=hook.bot, body=body)
    return message


def hook_delete(*, hook: Hook) -> None:
    hook.delete()
