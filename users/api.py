"""The accounts API (../shared/API.md, Authentication)."""
from django.contrib.auth import login, logout, update_session_auth_hash
from django.middleware.csrf import get_token

from parley import ratelimit
from parley.api import (
    ApiError, endpoint, field_bool, field_int, field_str, invalid, json_from_this_site, json_response, no_content,
    read_json,
)

from . import services
from .forms import LoginForm, PasswordChangeForm, RegisterForm
from .models import Block, User
from .serializers import notification_settings_to_dict, user_to_dict


@endpoint("POST", auth=False)
@json_from_this_site
@ratelimit.limit(ratelimit.REGISTER_IP)
def register(request):
    data = read_json(request)
    form = RegisterForm(data={
        "email": field_str(data, "email", max_length=254),
        "password": field_str(data, "password", max_length=4096, strip=False),
        "first_name": field_str(data, "first_name", max_length=150),
        "last_name": field_str(data, "last_name", max_length=150),
    })
    if not form.is_valid():
        if form.has_error("email", "conflict"):
            raise ApiError(409, "conflict", "An account with this email already exists.")
        fields = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        raise ApiError(400, "invalid", next(iter(fields.values()))[0], fields)
    try:
        user = services.user_register(**form.cleaned_data)
    except services.EmailTaken:
        raise ApiError(409, "conflict", "An account with this email already exists.") from None
    status = "active" if user.is_approved else "pending"
    return json_response({"user": user_to_dict(user, viewer=user), "status": status}, status=201)


@endpoint("POST", auth=False)
@json_from_this_site
def login_view(request):
    data = read_json(request)
    email = field_str(data, "email", max_length=254)
    password = field_str(data, "password", max_length=4096, strip=False)
    form = LoginForm(request, data={"username": email, "password": password})
    if not form.is_valid():
        if form.has_error("__all__", "pending_approval"):
            raise ApiError(403, "pending_approval", "Your account is waiting for approval by staff.")
        raise ApiError(401, "not_authenticated", "Wrong email or password.")
    user = form.get_user()
    login(request, user)
    get_token(request)  # sets the csrftoken cookie for session clients
    token = services.token_create(user=user)
    return json_response({"user": user_to_dict(user, viewer=user), "token": token})


@endpoint("POST")
def logout_view(request):
    key = getattr(request, "api_token_key", None)
    if key:
        services.token_revoke(key=key)
    else:
        logout(request)
    return no_content()


@endpoint("GET")
def me(request):
    return json_response({"user": user_to_dict(request.user, viewer=request.user)})


@endpoint("GET", "PATCH")
def me_notifications(request):
    """My notification defaults: the level of the rooms I set none for, and the sound."""
    if request.method == "PATCH":
        data = read_json(request)
        default = data.get("notify_default")
        if "notify_default" in data and not isinstance(default, str):
            raise invalid("notify_default must be all, mentions or none.", {"notify_default": ["Must be a string."]})
        services.user_notifications_set(user=request.user, default=default, sound=field_bool(data, "sound", None))
    return json_response({"notifications": notification_settings_to_dict(request.user)})


@endpoint("POST")
def logout_everywhere(request):
    """End every session and token of the user, the caller's included."""
    services.user_logout_everywhere(user=request.user)
    if getattr(request, "api_token_key", None) is None:
        logout(request)
    return no_content()


@endpoint("POST")
def password(request):
    """Change my password; every other session and token of mine stops (users/revocation.py)."""
    data = read_json(request)
    old_password = field_str(data, "old_password", max_length=4096, strip=False)
    new_password = field_str(data, "new_password", max_length=4096, strip=False)
    form = PasswordChangeForm(request.user, request=request, data={
        "old_password": old_password, "new_password1": new_password, "new_password2": new_password,
    })
    if not form.is_valid():
        fields = {}
        for name, messages in form.errors.items():
            fields.setdefault("new_password" if name.startswith("new_password") else name, []).extend(messages)
        raise invalid(next(iter(fields.values()))[0], fields)
    user = request.user
    services.user_password_change(user=user, password=new_password)
    token = None
    if getattr(request, "api_token_key", None) is not None:
        token = services.token_create(user=user)  # the caller's token went with all the others
    else:
        update_session_auth_hash(request, user)  # the caller's session stays
    return json_response({"user": user_to_dict(user, viewer=user), "token": token})


@endpoint("GET", "POST")
@ratelimit.limit(ratelimit.BLOCK, methods=("POST",))
def blocks(request):
    """The users I block; POST blocks one more."""
    if request.method == "GET":
        blocked = User.objects.filter(id__in=Block.objects.by(request.user).values("blocked_id"))
        users = blocked.order_by("first_name", "last_name", "id")
        return json_response({"users": [user_to_dict(user, viewer=request.user) for user in users]})
    user_id = field_int(read_json(request), "user_id", minimum=1)
    other = User.objects.active().filter(id=user_id).first()
    if other is None:
        raise invalid("No such user.", {"user_id": ["No active user with this id."]})
    created = services.user_block(blocker=request.user, blocked=other)
    return json_response({"user": user_to_dict(other, viewer=request.user)}, status=201 if created else 200)


@endpoint("DELETE")
@ratelimit.limit(ratelimit.BLOCK)
def block_detail(request, user_id):
    if user_id <= MAX_ID:  # a bigger number names nobody (and SQLite cannot even compare it)
        services.user_unblock(blocker=request.user, blocked_id=user_id)
    return no_content()


MAX_ID = 2**63 - 1
