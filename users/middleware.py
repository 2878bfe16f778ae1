"""Bearer-token authentication for the API, and CSRF only where it means something.

CSRF protects ambient credentials. An API request with `Authorization: Token`
or with no session cookie at all carries none, so it is not checked; a request
riding on the session cookie is, as Django does everywhere else.
"""
from django.conf import settings
from django.contrib.auth.models import AnonymousUser

from . import services, tokencache


class TokenAuthenticationMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info.startswith("/api/"):
            header = request.META.get("HTTP_AUTHORIZATION", "")
            if header:
                request._dont_enforce_csrf_checks = True
                request.api_token_key = None
                scheme, _, key = header.partition(" ")
                user = None
                if scheme.lower() in ("token", "bearer") and key.strip():
                    request.api_token_key = key.strip()
                    if request.path_info == "/api/events":  # the poll, asked again and again: users/tokencache.py
                        user = tokencache.cache.user_for(key.strip())
                    else:
                        user = services.token_user(key=key.strip())
                # An explicit but bad token never falls back to the session.
                request.user = user or AnonymousUser()
                request._cached_user = request.user
            elif settings.SESSION_COOKIE_NAME not in request.COOKIES:
                request._dont_enforce_csrf_checks = True
        return self.get_response(request)
