"""Account pages: log in, register, log out, settings, "forgot password", and the staff approval page."""
from django.conf import settings
from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import (
    LoginView,
    PasswordResetCompleteView,
    PasswordResetConfirmView,
    PasswordResetDoneView,
    PasswordResetView,
)
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from parley import ratelimit

from . import services
from .forms import LoginForm, NotificationSettingsForm, PasswordChangeForm, ProfileForm, RegisterForm
from .models import User


@method_decorator(ratelimit.limit_login_page, name="dispatch")
class ParleyLoginView(LoginView):
    template_name = "users/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@ratelimit.limit(ratelimit.REGISTER_IP, methods=("POST",))
def register(request):
    form = RegisterForm(request.POST if request.method == "POST" else None)  # an empty POST is bound too
    if request.method == "POST" and form.is_valid():
        user = services.user_register(**form.cleaned_data)
        if not user.is_approved:
            return render(request, "users/pending.html")
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
        return redirect("room_list")
    return render(request, "users/register.html", {"form": form})


@login_required
@ratelimit.limit_login_page  # the old password is counted as a login is (users/forms.py)
def account_settings(request):
    """Change my password (the other sessions and tokens stop), or log out everywhere."""
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None, request=request)
    if request.method == "POST" and form.is_valid():
        services.user_password_change(user=request.user, password=form.cleaned_data["new_password1"])
        update_session_auth_hash(request, request.user)
        messages.success(request, "Password changed. Every other session and app is logged out.")
        return redirect("settings")
    return _settings_page(request, password_form=form)


@require_POST
@login_required
def notification_settings(request):
    """Save the notification defaults (the section of the settings page)."""
    form = NotificationSettingsForm(request.POST, instance=request.user)
    if form.is_valid():
        services.user_notifications_set(
            user=request.user, default=form.cleaned_data["notify_default"], sound=form.cleaned_data["notify_sound"],
        )
        messages.success(request, "Notification settings saved.")
        return redirect("settings")
    return _settings_page(request, notification_form=form, status=400)


@require_POST
@login_required
def profile_update(request):
    """Change my name and my theme."""
    form = ProfileForm(request.POST, instance=User(theme=request.user.theme))
    if not form.is_valid():
        return _settings_page(request, profile_form=form, status=400)
    services.user_profile_update(user=request.user, **form.cleaned_data)
    messages.success(request, "Settings saved.")
    return redirect("settings")


def _settings_page(request, *, password_form=None, profile_form=None, notification_form=None, status=200):
    return render(request, "users/settings.html", {
        "form": password_form or PasswordChangeForm(request.user, request=request),
        "profile_form": profile_form or ProfileForm(instance=request.user),
        "notification_form": notification_form or NotificationSettingsForm(instance=request.user),
    }, status=status)


@method_decorator(ratelimit.limit(ratelimit.PASSWORD_RESET_IP, methods=("POST",)), name="dispatch")
class ParleyPasswordResetView(PasswordResetView):
    """Django's "forgot password" form: the same answer whether or not the email has an account."""

    template_name = "users/password_reset_form.html"
    email_template_name = "users/password_reset_email.txt"
    subject_template_name = "users/password_reset_subject.txt"
    success_url = reverse_lazy("password_reset_done")

    def form_valid(self, form):
        if not ratelimit.password_reset_allowed(form.cleaned_data["email"]):
            return HttpResponseRedirect(self.get_success_url())  # no mail, the same answer
        return super().form_valid(form)


class ParleyPasswordResetDoneView(PasswordResetDoneView):
    template_name = "users/password_reset_done.html"


class ParleyPasswordResetConfirmView(PasswordResetConfirmView):
    """Set a new password from the mailed link.

    Saving it ends every session and token of the user, as a password change
    does (users/revocation.py); this browser is not logged in either.
    """

    template_name = "users/password_reset_confirm.html"
    success_url = reverse_lazy("password_reset_complete")


class ParleyPasswordResetCompleteView(PasswordResetCompleteView):
    template_name = "users/password_reset_complete.html"


@require_POST
@login_required
def logout_everywhere(request):
    services.user_logout_everywhere(user=request.user)
    logout(request)
    messages.success(request, "You are logged out everywhere.")
    return redirect("login")


@staff_member_required(login_url="login")
def staff_users(request):
    users = User.objects.order_by("-date_joined")
    return render(request, "users/staff_users.html", {
        "pending_users": users.filter(is_approved=False),
        "active_users": users.filter(is_approved=True),
    })


@require_POST
@staff_member_required(login_url="login")
def user_approve(request, pk):
    user = services.user_approve(user=get_object_or_404(User, pk=pk))
    messages.success(request, f"Approved {user.email}.")
    return redirect("staff_users")


@require_POST
@staff_member_required(login_url="login")
def user_delete(request, pk):
    user = get_object_or_404(User, pk=pk)
    if user == request.user:
        messages.error(request, "You cannot delete yourself.")
    else:
        services.user_delete(user=user)
        messages.success(request, f"Deleted {user.email}.")
    return redirect("staff_users")
