"""The Content-Security-Policy header (Django 5.2 has no CSP of its own).

Parley's pages load only their own static scripts and stylesheets, and the
client builds the DOM from text nodes, so the policy allows no inline script,
no inline style and no other origin (settings.PARLEY_CSP). If some user text
ever slipped into the page as markup, the browser would still refuse to run
it. The other security headers come from Django's SecurityMiddleware and
XFrameOptionsMiddleware (settings: SECURE_*, X_FRAME_OPTIONS).
"""
from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.PARLEY_CSP and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = settings.PARLEY_CSP
        return response
