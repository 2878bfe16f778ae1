"""Django's authentication backend, with Parley's two extra rules: approval, and login limits."""
from django.contrib.auth.backends import ModelBackend

from parley import ratelimit


class ApprovedUserBackend(ModelBackend):
    """ModelBackend, except that the session of a user who is not approved counts as anonymous.

    Staff can withdraw approval (admin, is_approved); the token middleware then
    refuses the user's tokens, and this makes their open sessions stop too.
    Logging in still authenticates pending users, so that
    LoginForm.confirm_login_allowed can say they are waiting for approval.

    Every password checked with a request (the API, the login page, the admin's
    login page) is counted here against the login limits (parley/ratelimit.py):
    as a failure unless it was right. Over a limit, authenticate() raises
    RateLimited before the password is looked at.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:  # not over HTTP: the test client's login(), a shell
            return super().authenticate(request, username, password, **kwargs)
        attempt = ratelimit.login_attempt(request, username)
        try:
            user = super().authenticate(request, username, password, **kwargs)
        except BaseException:
            attempt.cancel()
            raise
        if user is not None:
            attempt.succeeded()
        return user

    def user_can_authenticate(self, user):
        """Bots act only with their tokens: no password (they have none) and no session."""
        return super().user_can_authenticate(user) and not getattr(user, "is_bot", False)

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_approved else None
