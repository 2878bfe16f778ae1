"""The bots and webhooks API (API.md, Bots and webhooks). Thin: read, check, call, answer."""
import json

from django.conf import settings
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from parley import ratelimit
from parley.api import (
    ApiError, endpoint, field_int, field_str, forbidden, invalid, json_response, no_content, not_found, read_json,
)
from users.models import User
from users.serializers import isoformat, user_ref, user_to_dict

from . import bots, selectors
from .models import Hook
from .serializers import message_to_dict


def bot_to_dict(bot, *, viewer, failures=None):
    """A bot as its owner (or staff) sees it: a user, plus owner, endpoint and its last failed deliveries."""
    profile = getattr(bot, "bot_profile", None)
    data = user_to_dict(bot, viewer=viewer)
    data["owner"] = user_ref(bot.bot_owner) if bot.bot_owner_id else None
    data["endpoint"] = profile.endpoint if profile is not None else ""
    if failures is not None:
        data["last_failures"] = [failure_to_dict(delivery) for delivery in failures]
    return data


def failure_to_dict(delivery):
    return {
        "message_id": delivery.message_id,
        "room": delivery.room.slug,
        "at": isoformat(delivery.last_attempt_at),
        "status_code": delivery.last_status_code,
        "error": delivery.last_error,
        "attempts": delivery.attempts,
        "status": delivery.status,
    }


def _created(request, created, status):
    bot = User.objects.select_related("bot_owner", "bot_profile").get(pk=created.bot.pk)
    return json_response({
        "bot": bot_to_dict(bot, viewer=request.user, failures=[]),
        "token": created.token,
        "signing_secret": created.signing_secret,
    }, status=status)


def _bot(request, bot_id):
    bot = bots.bot_for(request.user, bot_id) if bot_id <= MAX_ID else None
    if bot is None:
        raise not_found("No such bot.")
    return bot


@endpoint("GET", "POST")
@ratelimit.limit(ratelimit.BOT_CREATE, methods=("POST",))
def bot_list(request):
    """My bots; POST makes one (its token and signing secret are shown only in this answer)."""
    if request.method == "GET":
        mine = bots.bots_of(request.user).select_related("bot_owner")
        return json_response({"bots": [
            bot_to_dict(bot, viewer=request.user, failures=bots.last_failures(bot)) for bot in mine
        ]})
    if request.user.is_bot:
        raise forbidden("Bots cannot make bots.")
    data = read_json(request)
    created = bots.bot_create(
        owner=request.user,
        name=field_str(data, "name", max_length=bots.NAME_MAX_LENGTH),
        endpoint=field_str(data, "endpoint", required=False, max_length=500, default=""),
    )
    return _created(request, created, 201)


@endpoint("DELETE")
def bot_detail(request, bot_id):
    """Delete a bot (its owner, or staff): its tokens stop at once, its messages stay."""
    bots.bot_delete(bot=_bot(request, bot_id))
    return no_content()


@endpoint("POST")
@ratelimit.limit(ratelimit.BOT_CREATE)
def bot_token(request, bot_id):
    """A new token and signing secret for the bot; the old token stops at once."""
    return _created(request, bots.bot_token_regenerate(bot=_bot(request, bot_id)), 200)


@endpoint("POST")
@ratelimit.limit(ratelimit.BOT_CREATE)
def room_hooks(request, slug):
    """Make an incoming webhook for one of my bots in a room I am a member of (its URL is shown once)."""
    room = selectors.room_access(request.user, slug)
    if room is None:
        raise not_found("No such room.")
    if not room.is_member:
        raise forbidden("Join the room first.")
    bot_id = field_int(read_json(request), "bot_id", minimum=1, maximum=MAX_ID)
    bot = User.objects.filter(id=bot_id, is_bot=True, is_active=True).first()
    if bot is None:
        raise invalid("No such bot.", {"bot_id": ["No active bot with this id."]})
    try:
        hook, key = bots.hook_create(room=room, bot=bot, by=request.user)
    except bots.NotAllowed as error:
        raise forbidden(str(error)) from None
    url = request.build_absolute_uri(reverse("api_hook", args=[key]))
    return json_response({"hook": {"id": hook.id, "url": url}}, status=201)


@endpoint("DELETE")
def room_hook(request, slug, hook_id):
    """Delete a hook: the bot's owner, whoever made the hook, or staff. Its URL answers 404 from now on."""
    hook = Hook.objects.select_related("bot", "room").filter(id=min(hook_id, MAX_ID), room__slug=slug).first()
    if hook is None or not (request.user.is_staff or request.user.id in (hook.bot.bot_owner_id, hook.created_by_id)):
        raise not_found("No such hook.")
    bots.hook_delete(hook=hook)
    return no_content()


@csrf_exempt  # the URL's secret is the credential; no cookie is looked at
@endpoint("POST", auth=False)
def hook_post(request, key):
    """An incoming webhook: post `body` (or Slack's `text`) as the hook's bot."""
    hook = bots.hook_for(key)
    if hook is None:
        raise not_found("No such hook.")
    ratelimit.check(ratelimit.HOOK, f"hook:{hook.id}")
    text = _hook_text(request)
    message = bots.hook_post(hook=hook, body=text)
    return json_response({"message": message_to_dict(message)}, status=201)


def _hook_text(request):
    """The text of a hook's body: JSON `{body}` or `{text}`, or Slack's form-encoded `payload=<json>`."""
    if request.content_type == "application/json":
        data = read_json(request)
    elif request.content_type == "application/x-www-form-urlencoded":
        raw = request.POST.get("payload")
        if raw is None:
            raise invalid("Send JSON, or a form with a `payload` field holding JSON.")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise invalid("The payload is not valid JSON.") from None
        if not isinstance(data, dict):
            raise invalid("The payload must be a JSON object.")
    else:
        raise ApiError(415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).")
    name = "body" if data.get("body") is not None else "text"
    return field_str(data, name, max_length=settings.PARLEY_MAX_MESSAGE_CHARS, strip=False)


MAX_ID = 2**63 - 1
