from django import forms


class RoomForm(forms.Form):
    name = forms.CharField(max_length=80)
    topic = forms.CharField(max_length=300, required=False)
    is_private = forms.BooleanField(required=False, label="Private (invitation only)")
    is_ephemeral = forms.BooleanField(required=False, label="Ephemeral (keep no history)")
