"""Room pages. The chat itself runs in the browser client (static/js/parley/, entry main.js)."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from parley import ratelimit
from users.serializers import notification_settings_to_dict, user_to_dict

from . import bots, selectors, services
from .forms import BotForm, RoomForm
from .models import NAME_MAX_LENGTH
from .serializers import room_to_dict


def home(request):
    return redirect("room_list" if request.user.is_authenticated else "login")


@login_required
@ratelimit.limit(ratelimit.ROOM_CREATE, methods=("POST",))
def room_list(request):
    form = RoomForm(request.POST if request.method == "POST" else None)  # an empty POST is bound too
    if request.method == "POST" and form.is_valid():
        try:
            room = services.room_create(creator=request.user, **form.cleaned_data)
        except services.Conflict as error:
            form.add_error("name", str(error))
        except ValidationError as error:
            form.add_error(None, error)
        else:
            return redirect("room_detail", slug=room.slug)
    rooms = [room_to_dict(room) for room in selectors.rooms_for(request.user)]
    return render(request, "rooms/index.html", {"rooms": rooms, "form": form})


@login_required
def room_detail(request, slug):
    """The chat page, opened on this room; a public room's non-member reads it, with a Join button.

    A private room or DM the user is not in is the same 404 as no room at all.
    """
    room = selectors.room_for(request.user, slug)
    if room is None or (room.is_private and not room.is_member):
        raise Http404("No such room.")
    return render(request, "rooms/room.html", {
        "room": room_to_dict(room),
        "parley_config": client_config(request, room=room.slug),
        "room_name_max_length": NAME_MAX_LENGTH,  # the create-room dialog's field
    })


@require_POST
@login_required
@ratelimit.limit(ratelimit.JOIN_LEAVE)
def room_join(request, slug):
    room = selectors.room_for(request.user, slug)
    if room is None or (room.is_private and not room.is_member):
        raise Http404("No such room.")
    services.room_join(room=room, user=request.user)
    messages.success(request, f"You joined {room.name}.")
    return redirect("room_detail", slug=room.slug)


@login_required
def directory(request):
    return render(request, "users/directory.html", {"parley_config": client_config(request)})


def client_config(request, *, room=None):
    """What the browser client needs to know, embedded with json_script."""
    return {
        "user": user_to_dict(request.user, viewer=request.user),
        "apiRoot": reverse("api_root"),
        "roomUrl": reverse("room_detail", kwargs={"slug": "__slug__"}),
        "maxMessageChars": settings.PARLEY_MAX_MESSAGE_CHARS,
        "maxUploadBytes": settings.PARLEY_MAX_UPLOAD_MB * 1024 * 1024,  # checked before uploading
        "room": room,
        "blockedIds": request.user.blocked_ids,  # the People page's Block / Unblock buttons
        "notifications": notification_settings_to_dict(request.user),  # the defaults (notifications.js)
    }


# Bots ------------------------------------------------------------------------------


def _bots_page(request, form, created=None):
    mine = [(bot, bots.last_failures(bot)) for bot in bots.bots_of(request.user)]
    return render(request, "rooms/bots.html", {"form": form, "bots": mine, "created": created})


@login_required
@ratelimit.limit(ratelimit.BOT_CREATE, methods=("POST",))
def bot_page(request):
    """My bots: make one (its token and signing secret are shown once, on this answer), list them."""
    form = BotForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            created = bots.bot_create(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            return _bots_page(request, BotForm(), created)
    return _bots_page(request, form)


@require_POST
@login_required
@ratelimit.limit(ratelimit.BOT_CREATE)
def bot_page_token(request, bot_id):
    bot = bots.bot_for(request.user, bot_id)
    if bot is None:
        raise Http404("No such bot.")
    return _bots_page(request, BotForm(), bots.bot_token_regenerate(bot=bot))


@require_POST
@login_required
def bot_page_delete(request, bot_id):
    bot = bots.bot_for(request.user, bot_id)
    if bot is None:
        raise Http404("No such bot.")
    bots.bot_delete(bot=bot)
    messages.success(request, f"Deleted the bot {bot.display_name}: its token no longer works.")
    return redirect("bots")
