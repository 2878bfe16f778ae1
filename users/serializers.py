"""The one JSON form of a user (API.md `user`, and `user + presence`)."""
from datetime import timezone


def user_to_dict(user, *, viewer=None):
    data = {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "is_staff": user.is_staff,
        "is_bot": user.is_bot,
    }
    if viewer is not None and (viewer.is_staff or viewer.id == user.id):
        data["email"] = user.email
    return data


def notification_settings_to_dict(user):
    """The user's own notification defaults (GET /api/me/notifications, and the chat page's config)."""
    return {"notify_default": user.notify_default, "sound": user.notify_sound}


def user_ref(user):
    """The short form inside messages and events; `is_bot` lets clients mark bots."""
    return {"id": user.id, "display_name": user.display_name, "is_bot": user.is_bot}


def presence_fields(user):
    return {
        "presence": "online" if user.is_online else "offline",
        "last_seen": isoformat(user.last_seen),
    }


def user_with_presence(user, *, viewer=None):
    return {**user_to_dict(user, viewer=viewer), **presence_fields(user)}


def isoformat(moment):
    """Return an aware datetime as ISO 8601 in UTC with a Z, or None."""
    if moment is None:
        return None
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
