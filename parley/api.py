"""The JSON API's plumbing: one error shape, strict input, no HTML under /api/.

Every API view is wrapped by `endpoint`, which checks the method and the
authentication, turns `ApiError` into `{"error": {...}}` and marks answers
`no-store`. Input is read with the small strict readers below: a number sent
as a string or a boolean sent as "false" is refused, never converted.
"""
import functools
import json
import logging
import sys
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import (
    DisallowedHost, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent, ValidationError,
)
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.http.request import RawPostDataException
from django.utils.http import is_same_domain

log = logging.getLogger(__name__)

# A lost or refused database connection (PostgreSQL restarting, a network cut)
# is an outage, not a bug: answer 503 with Retry-After so clients back off and
# come back, and let Django drop the broken connection at the end of the request.
DATABASE_DOWN = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 2


class ApiError(Exception):
    def __init__(self, status, code, message, fields=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields
        self.headers = headers or {}


def invalid(message, fields=None):
    return ApiError(400, "invalid", message, fields)


def not_found(message="Not found."):
    return ApiError(404, "not_found", message)


def forbidden(message="You may not do that."):
    return ApiError(403, "forbidden", message)


def error_response(status, code, message, fields=None, headers=None):
    error = {"code": code, "message": message}
    if fields:
        error["fields"] = fields
    response = JsonResponse({"error": error}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    response["Cache-Control"] = "no-store"
    return response


def unavailable(request, error):
    """Answer a request that the database could not serve: 503, JSON under /api/."""
    if wants_json(request):
        return database_unavailable(f"{request.method} {request.path}", error)
    log.warning("Database unavailable for %s %s: %s", request.method, request.path, str(error).strip())
    response = HttpResponse("Parley is briefly unavailable; try again in a moment.\n", status=503,
                            content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def database_unavailable(what, error):
    """The API's 503 for a database outage, with Retry-After."""
    log.warning("Database unavailable for %s: %s", what, str(error).strip())
    return error_response(503, "unavailable", "The database is not reachable; try again shortly.",
                          headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def json_response(data, status=200):
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"
    return response


def no_content():
    response = JsonResponse({}, status=204)
    response.content = b""
    del response["Content-Type"]
    response["Cache-Control"] = "no-store"
    return response


def endpoint(*methods, auth=True):
    """Wrap an API view: allowed methods, authentication and JSON errors."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error_response(405, "method_not_allowed", f"Use {' or '.join(methods)}.")
                response["Allow"] = ", ".join(methods)
                return response
            try:
                if auth and not request.user.is_authenticated:
                    raise ApiError(401, "not_authenticated", "Log in first.")
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error.status, error.code, error.message, error.fields, error.headers)
            except ValidationError as error:
                fields = error.message_dict if hasattr(error, "error_dict") else None
                first = next(iter(fields.values()))[0] if fields else error.messages[0]
                return error_response(400, "invalid", first, fields)
            except RequestDataTooBig:
                return error_response(413, "too_large", "The request body is too large.")
            except (TooManyFieldsSent, SuspiciousOperation) as error:
                return error_response(400, "invalid", str(error) or "Bad request.")
            except DATABASE_DOWN as error:
                return unavailable(request, error)

        return wrapper

    return decorator


def json_from_this_site(view):
    """Decorate an API view (under @endpoint) that must only take JSON sent by this site's own pages.

    Login and register work without a session, so the CSRF check does not run
    for them (users/middleware.py), yet their answer sets the session cookie.
    A foreign page can POST text/plain, a form or a typeless Blob to another
    site without asking first (no CORS preflight), and the browser keeps the
    cookie: the visitor ends up logged in as the attacker ("login CSRF").
    JSON needs the preflight, which Parley never grants, so only JSON is taken
    (415 otherwise); and, as Django's CSRF check does, an Origin that is not
    this site's own is refused (403). Clients that send no Origin (curl,
    scripts, bots) are not browsers carrying someone's cookies, and pass. An
    empty body carries no credentials and gets the usual 400.
    """

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        origin = request.META.get("HTTP_ORIGIN")
        if origin is not None and not same_origin(request, origin):
            raise ApiError(403, "forbidden", "Requests from another site's pages are refused.")
        if request.content_type != "application/json" and request.body:  # no body: nothing to log in with
            raise ApiError(415, "unsupported_media_type", "Send the body as JSON (Content-Type: application/json).")
        return view(request, *args, **kwargs)

    return wrapper


def same_origin(request, origin):
    """Whether `origin` (an Origin header) is this site, or trusted, by Django's CSRF rule.

    The rule of CsrfViewMiddleware._origin_verified: the scheme and host the
    request came to, or an entry of CSRF_TRUSTED_ORIGINS (which may start
    with a `*.` wildcard for subdomains).
    """
    try:
        host = request.get_host()
    except DisallowedHost:
        host = None
    if host is not None and origin == f"{'https' if request.is_secure() else 'http'}://{host}":
        return True
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    for trusted in settings.CSRF_TRUSTED_ORIGINS:
        trusted_parts = urlsplit(trusted)
        if trusted_parts.scheme == parts.scheme and trusted_parts.netloc.startswith("*."):
            if is_same_domain(parts.netloc, trusted_parts.netloc[1:]):
                return True
    return False


def read_json(request):
    """Return the request's JSON object body ({} when empty)."""
    try:
        body = request.body
    except RawPostDataException:  # a multipart body, already parsed by the CSRF check
        raise invalid("The body must be JSON.") from None
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        raise invalid("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise invalid("The body must be a JSON object.")
    return data


def field_str(data, name, *, required=True, max_length=None, default=None, strip=True):
    if name not in data or data[name] is None:
        if required:
            raise invalid(f"{name} is required.", {name: ["This field is required."]})
        return default
    value = data[name]
    if not isinstance(value, str):
        raise invalid(f"{name} must be a string.", {name: ["Must be a string."]})
    _check_storable(name, value)
    if strip:
        value = value.strip()
    if required and not value:
        raise invalid(f"{name} may not be blank.", {name: ["This field may not be blank."]})
    if max_length is not None and len(value) > max_length:
        raise invalid(f"{name} is too long.", {name: [f"At most {max_length} characters."]})
    return value


def _check_storable(name, text):
    """Refuse text the database cannot hold: NUL (PostgreSQL refuses it, a 500) and lone surrogates (JSON allows them, UTF-8 does not)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\x00" not in text:
            return
    raise invalid(f"{name} has characters that cannot be stored.", {name: ["Invalid characters."]})


def query_str(request, name, *, max_length=200):
    value = request.GET.get(name, "")
    if len(value) > max_length:
        raise invalid(f"{name} is too long.", {name: [f"At most {max_length} characters."]})
    _check_storable(name, value)
    return value


def field_bool(data, name, default=False):
    if name not in data or data[name] is None:
        return default
    value = data[name]
    if not isinstance(value, bool):
        raise invalid(f"{name} must be true or false.", {name: ["Must be a boolean."]})
    return value


def field_int(data, name, *, required=True, minimum=None, maximum=None):
    if name not in data or data[name] is None:
        if required:
            raise invalid(f"{name} is required.", {name: ["This field is required."]})
        return None
    value = data[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"{name} must be a whole number.", {name: ["Must be an integer."]})
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise invalid(f"{name} is out of range.", {name: ["Out of range."]})
    return value


def query_int(request, name, *, default=None, minimum=None, maximum=None):
    """Read an integer query parameter; the query string only has text, so digits are the rule."""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isascii() or not raw.removeprefix("-").isdigit() or len(raw) > 18:
        raise invalid(f"{name} must be a whole number.", {name: ["Must be an integer."]})
    value = int(raw)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise invalid(f"{name} is out of range.", {name: ["Out of range."]})
    return value


def wants_json(request):
    return request.path_info.startswith("/api/")


def csrf_failure(request, reason=""):
    if wants_json(request):
        return error_response(403, "forbidden", "CSRF check failed: send the X-CSRFToken header.")
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason)


def handler400(request, exception=None):
    if wants_json(request):
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, "too_large", "The request body is too large.")
        return error_response(400, "invalid", str(exception or "") or "Bad request.")
    from django.views.defaults import bad_request

    return bad_request(request, exception)


def handler403(request, exception=None):
    if wants_json(request):
        return error_response(403, "forbidden", "You may not do that.")
    from django.views.defaults import permission_denied

    return permission_denied(request, exception)


def handler404(request, exception=None):
    if wants_json(request):
        return error_response(404, "not_found", "Not found.")
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def handler500(request):
    # Django calls this inside its `except`, so the exception is at hand: a
    # database outage met in a middleware (token or session lookup) is a 503 too.
    error = sys.exc_info()[1]
    if isinstance(error, DATABASE_DOWN):
        return unavailable(request, error)
    if wants_json(request):
        return error_response(500, "server_error", "Something went wrong on our side.")
    from django.views.defaults import server_error

    return server_error(request)
