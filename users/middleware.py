"""Bearer-token authentication for the API, and CSRF only where it means something.

CSRF protects ambient credentials. An API request with `Authorization: Token`
or with no session cookie at all carries none, so it is not checked; a request
riding on the session cookie is, as Django does everywhere else.

The token is looked up in the database, except for views marked
@token_user_from_cache (the long poll and posting a message, asked again and again), which take it
from the per-process cache of users/tokencache.py. The user is known once the
view is: in process_view, before CsrfViewMiddleware's.
"""
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from . import services, tokencache

# Where a bearer token is taken: the API, and uploaded files (rooms/files.py), which API
# clients fetch by the `url` an upload carries.
TOKEN_PATHS = ("/api/", "/files/")


def token_user_from_cache(view):
    """Mark `view` as one whose bearer token may be resolved from the per-process cache."""
    view.token_user_from_cache = True
    return view


class TokenAuthenticationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith(TOKEN_PATHS):
            if request.META.get("HTTP_AUTHORIZATION"):
                request._dont_enforce_csrf_checks = True
                # An explicit token never falls back to the session, not even before process_view.
                request.user = request._cached_user = AnonymousUser()
            elif settings.SESSION_COOKIE_NAME not in request.COOKIES:
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header or not request.path_info.startswith(TOKEN_PATHS):
            return None
        request.api_token_key = None
        scheme, _, key = header.partition(" ")
        user = None
        if scheme.lower() in ("token", "bearer") and key.strip():
            request.api_token_key = key.strip()
            if getattr(view_func, "token_user_from_cache", False):
                user = tokencache.cache.user_for(key.strip())
            else:
                user = services.token_user(key=key.strip())
        # An explicit but bad token never falls back to the session.
        request.user = user or AnonymousUser()
        request._cached_user = request.user
        return None
