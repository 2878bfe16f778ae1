from django import forms
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm as DjangoPasswordChangeForm

from .models import User, normalize_email


class LoginForm(AuthenticationForm):
    """Django's login form, with the one extra rule: pending accounts wait for staff."""

    username = forms.EmailField(label="Email", max_length=254, widget=forms.EmailInput(attrs={"autofocus": True}))

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Wrong email or password.",
        "pending_approval": "Your account is waiting for approval by staff.",
        "bot": "Bots cannot log in: they use their token.",
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.is_bot:
            raise forms.ValidationError(self.error_messages["bot"], code="bot")
        if not user.is_approved:
            raise forms.ValidationError(self.error_messages["pending_approval"], code="pending_approval")


class RegisterForm(forms.Form):
    email = forms.EmailField(max_length=254)
    first_name = forms.CharField(max_length=150)
    last_name = forms.CharField(max_length=150)
    password = forms.CharField(widget=forms.PasswordInput, max_length=4096, strip=False)

    def clean_email(self):
        email = normalize_email(self.cleaned_data["email"])
        if User.objects.filter(email=email).exists():
            raise forms.ValidationError("An account with this email already exists.", code="conflict")
        return email

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password")
        if password:
            candidate = User(
                email=cleaned.get("email") or "",
                first_name=cleaned.get("first_name") or "",
                last_name=cleaned.get("last_name") or "",
            )
            try:
                password_validation.validate_password(password, candidate)
            except forms.ValidationError as error:
                self.add_error("password", error)
        return cleaned


class PasswordChangeForm(DjangoPasswordChangeForm):
    """Django's form, except that the old password is checked as a login is.

    So guessing it (from a session or token left open somewhere) counts
    against the login limits, per email and address (users/backends.py).
    """

    def __init__(self, user, *args, request=None, **kwargs):
        self.request = request
        super().__init__(user, *args, **kwargs)
        # It is no longer the page's first form: the focus stays at the top, where the page starts.
        self.fields["old_password"].widget.attrs.pop("autofocus", None)

    def clean_old_password(self):
        old_password = self.cleaned_data["old_password"]
        if authenticate(self.request, username=self.user.email, password=old_password) is None:
            raise forms.ValidationError(self.error_messages["password_incorrect"], code="password_incorrect")
        return old_password


class NotificationSettingsForm(forms.ModelForm):
    """The notification defaults on the settings page (templates/users/_notification_settings.html)."""

    class Meta:
        model = User
        fields = ["notify_default", "notify_sound"]
        labels = {"notify_default": "Notify me about", "notify_sound": "Play a sound with each notification"}
        help_texts = {"notify_default": "For every room you have not chosen a level for (the room's bell in the chat)."}


class ProfileForm(forms.ModelForm):
    """The settings page's name and theme."""

    class Meta:
        model = User
        fields = ["first_name", "last_name", "theme"]
        labels = {"theme": "Theme"}
        help_texts = {"theme": "“Match the system” follows your device's light or dark setting."}

