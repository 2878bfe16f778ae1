"""A password change revokes every token of the user; their sessions stop by themselves.

Whoever changes a password (the user on the settings page or the API, staff
in the admin, set_password() and save() in a shell or a command), the user's
bearer tokens are deleted in the same transaction, and every process forgets
them at once (users/tokencache.py hears of each deletion). Sessions need
nothing here: Django keeps a hash of the password in each session and ends the
ones that no longer match at their next request (User.get_session_auth_hash);
the view that made the change keeps its own session with
update_session_auth_hash() and hands a token caller a fresh token.

It is a signal rather than a step of users.services.user_password_change
because the admin's password form and set_password() never call our
services. A password written with QuerySet.update() or SQL bypasses it.
"""
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from . import services
from .models import User


@receiver(pre_save, sender=User)
def _note_password_change(sender, instance, update_fields=None, raw=False, **kwargs):
    instance._password_changed = False
    if raw or instance._state.adding or (update_fields is not None and "password" not in update_fields):
        return
    stored = User.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=User)
def _revoke_tokens_after_password_change(sender, instance, created, **kwargs):
    if getattr(instance, "_password_changed", False):
        instance._password_changed = False
        services.user_tokens_revoke(user=instance)
