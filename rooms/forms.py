from django import forms

from .models import NAME_MAX_LENGTH


class RoomForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH)
    topic = forms.CharField(max_length=300, required=False)
    is_private = forms.BooleanField(required=False, label="Private (invitation only)")
    is_ephemeral = forms.BooleanField(required=False, label="Ephemeral (keep no history)")


class BotForm(forms.Form):
    name = forms.CharField(max_length=150)
    endpoint = forms.CharField(
        max_length=500, required=False, label="Endpoint (optional)",
        help_text="Parley POSTs the messages that mention or DM the bot here, signed with its signing secret.",
    )
