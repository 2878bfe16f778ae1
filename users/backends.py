"""Django's authentication backend, with Parley's one extra rule for sessions."""
from django.contrib.auth.backends import ModelBackend


class ApprovedUserBackend(ModelBackend):
    """ModelBackend, except that the session of a user who is not approved counts as anonymous.

    Staff can withdraw approval (admin, is_approved); the token middleware then
    refuses the user's tokens, and this makes their open sessions stop too.
    Logging in still authenticates pending users, so that
    LoginForm.confirm_login_allowed can say they are waiting for approval.
    """

    def get_user(self, user_id):
        user = super().get_user(user_id)
        return user if user is not None and user.is_approved else None
