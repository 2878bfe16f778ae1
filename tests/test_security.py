"""Security headers, pages that need no inline script, and the production HTTPS settings."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.test import Client

from tests.live import ROOT

pytestmark = pytest.mark.django_db

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
PRODUCTION_SECRET = "prod-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"


def assert_security_headers(response):
    assert response["Content-Security-Policy"] == CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", ["/login/", "/register/", "/api/me", "/api/rooms/nope", "/healthz", "/nowhere/"])
def test_every_answer_carries_the_security_headers(path):
    assert_security_headers(Client().get(path))


def test_pages_and_api_answers_of_a_logged_in_user_carry_them_too(make_user, room_factory, api):
    ana = make_user("Ana", staff=True)
    room = room_factory(ana, "general")
    client = Client()
    client.force_login(ana)
    for path in ("/rooms/", f"/rooms/{room.slug}/", "/people/", "/staff/users/", "/admin/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_security_headers(response)
    assert_security_headers(api(ana).post(f"/api/rooms/{room.slug}/messages", {"body": "hi"}))


class InlineCode(HTMLParser):
    """Collect what a strict CSP would block: inline scripts, handlers, style attributes and elements."""

    def __init__(self):
        super().__init__()
        self.found = []
        self._inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name, value in attrs.items():
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if "style" in attrs:
            self.found.append(f"<{tag} style=...>")
        if tag == "style":
            self.found.append("<style>")
        self._inline_script = tag == "script" and "src" not in attrs and attrs.get("type") != "application/json"

    def handle_data(self, data):
        if self._inline_script and data.strip():
            self.found.append(f"<script>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag == "script":
            self._inline_script = False


def inline_code(html):
    parser = InlineCode()
    parser.feed(html)
    return parser.found


def test_the_checker_finds_inline_code():
    assert len(inline_code('<script>x()</script><a onclick="y()" style="c" href="javascript:z()">')) == 4
    assert inline_code('<script src="/a.js"></script><script type="application/json">{"a": 1}</script>') == []


def test_no_page_needs_inline_script_or_style(make_user, room_factory):
    """The CSP allows neither, so a page that used them would break."""
    ana = make_user("Ana", staff=True)
    ana.is_superuser = True
    ana.save()
    room = room_factory(ana, "general", topic="hello")
    pending = make_user("Pen", approved=False)
    client = Client()
    pages = ["/login/", "/register/"]
    for path in pages:
        assert inline_code(client.get(path).content.decode()) == [], path
    client.force_login(ana)
    pages = [
        "/rooms/", f"/rooms/{room.slug}/", "/people/", "/staff/users/", "/settings/",
        "/admin/", "/admin/users/user/", f"/admin/users/user/{pending.id}/change/", "/admin/rooms/room/add/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert inline_code(response.content.decode()) == [], path


# Production ----------------------------------------------------------------------------


def production_env(**extra):
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PARLEY_", "SECURE_")) and key not in ("DEBUG", "DATABASE_URL")
    }
    env.update({
        "PARLEY_ENV": "production",
        "SECRET_KEY": PRODUCTION_SECRET,
        "ALLOWED_HOSTS": "chat.example.com",
        "DATABASE_URL": "postgres://parley@db.example.com:5432/parley",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    })
    env.update(extra)
    return env


def settings_in(env, names):
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n, None) for n in {names!r}}}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_manage_py_check_deploy_is_clean_with_production_settings():
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=ROOT, env=production_env(), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout, done.stdout + done.stderr


def test_production_turns_on_secure_cookies_hsts_and_the_https_redirect():
    names = ["SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS",
             "SECURE_PROXY_SSL_HEADER", "DEBUG"]
    production = settings_in(production_env(PARLEY_PROXY_SSL_HEADER="X-Forwarded-Proto"), names)
    assert production == {
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 31536000, "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "DEBUG": False,
    }
    development = settings_in({**production_env(), "PARLEY_ENV": "development"}, names)
    assert development["SESSION_COOKIE_SECURE"] is False and development["SECURE_HSTS_SECONDS"] == 0
    assert development["SECURE_PROXY_SSL_HEADER"] is None
    # A development host that is served over HTTPS can ask for the same.
    assert settings_in({**production_env(), "PARLEY_ENV": "development", "PARLEY_HTTPS": "on"}, names)[
        "SESSION_COOKIE_SECURE"] is True


def test_the_proxy_header_alone_is_not_trusted(settings):
    """Without SECURE_PROXY_SSL_HEADER a client cannot claim HTTPS with a header (and so dodge the redirect)."""
    assert getattr(django_settings, "SECURE_PROXY_SSL_HEADER", None) is None
    settings.SECURE_SSL_REDIRECT = True
    response = Client().get("/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 301 and response["Location"].startswith("https://")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, headers=None):
    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with opener.open(request, timeout=10) as answer:
            return answer.status, answer.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


@pytest.mark.server
def test_a_production_server_behind_a_tls_proxy_sends_hsts_and_secure_cookies(start_server, sqlite_url):
    server = start_server(
        sqlite_url, PARLEY_ENV="production", ALLOWED_HOSTS="127.0.0.1",
        PARLEY_PROXY_SSL_HEADER="X-Forwarded-Proto",
    )
    # Plain HTTP is sent to HTTPS, except the health check load balancers make.
    status, headers = fetch(server.url + "/login/")
    assert status == 301 and headers["Location"] == f"https://127.0.0.1:{server.port}/login/"
    assert fetch(server.url + "/healthz")[0] == 200
    # What the proxy forwards from an HTTPS client.
    status, headers = fetch(server.url + "/login/", {"X-Forwarded-Proto": "https"})
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert headers["Content-Security-Policy"] == CSP
    cookies = headers.get_all("Set-Cookie")
    assert any(c.startswith("csrftoken=") for c in cookies)
    assert all("; Secure" in c for c in cookies), cookies


# Login CSRF (issue 9, item 7) -------------------------------------------------------------------
# A cross-site page can POST text/plain (or a form) without a CORS preflight, and the browser
# keeps the answer's session cookie: the victim is then logged in as the attacker. Only JSON,
# which a foreign page cannot send without the preflight Parley never grants, is accepted,
# and a foreign Origin is refused as Django's CSRF check refuses it.

LOGIN_BODY = {"email": "mallory@example.com", "password": "correct-horse-battery-9"}
REGISTER_BODY = {"email": "new@example.com", "password": "correct-horse-battery-9", "first_name": "Nu",
                 "last_name": "Comer"}


@pytest.fixture
def mallory(make_user):
    return make_user("Mallory", email=LOGIN_BODY["email"])


def post_raw(path, body, content_type=None, **extra):
    client = Client(enforce_csrf_checks=True)
    if content_type is None:  # no Content-Type header at all (a Blob with no type, from a page)
        response = client.generic("POST", path, json.dumps(body).encode(), **extra)
    else:
        response = client.post(path, json.dumps(body), content_type=content_type, **extra)
    return client, response


def assert_error(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_a_text_plain_login_from_a_foreign_page_logs_nobody_in(mallory):
    from users.models import ApiToken

    client, response = post_raw("/api/auth/login", LOGIN_BODY, "text/plain", HTTP_ORIGIN="https://evil.example")
    assert_error(response, 403, "forbidden")
    assert "sessionid" not in response.cookies
    assert client.get("/api/me").status_code == 401
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_login_and_register_accept_only_json(mallory, path, content_type):
    from users.models import ApiToken, User

    body = LOGIN_BODY if path.endswith("login") else REGISTER_BODY
    client, response = post_raw(path, body, content_type)
    assert_error(response, 415, "unsupported_media_type")
    assert "sessionid" not in response.cookies
    assert not ApiToken.objects.exists() and User.objects.filter(is_bot=False).count() == 1


@pytest.mark.parametrize("origin", ["https://evil.example", "http://testserver.evil.example", "null",
                                    "https://testserver", "http://testserver:8000"])
@pytest.mark.parametrize("path", ["/api/auth/login", "/api/auth/register"])
def test_login_and_register_refuse_a_foreign_origin_even_with_json(mallory, path, origin):
    from users.models import ApiToken, User

    body = LOGIN_BODY if path.endswith("login") else REGISTER_BODY
    client, response = post_raw(path, body, "application/json", HTTP_ORIGIN=origin)
    assert_error(response, 403, "forbidden")
    assert "sessionid" not in response.cookies
    assert not ApiToken.objects.exists() and User.objects.filter(is_bot=False).count() == 1


def test_login_works_from_the_sites_own_origin_a_trusted_origin_or_no_origin(settings, mallory):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.example.org"]
    for extra in ({"HTTP_ORIGIN": "http://testserver"}, {"HTTP_ORIGIN": "https://chat.example.com"},
                  {"HTTP_ORIGIN": "https://eu.example.org"}, {}):
        _, response = post_raw("/api/auth/login", LOGIN_BODY, "application/json; charset=utf-8", **extra)
        assert response.status_code == 200, (extra, response.content)
    # Behind a TLS proxy the site's own origin is https, with the port the browser used.
    _, response = post_raw("/api/auth/login", LOGIN_BODY, "application/json", secure=True,
                           HTTP_ORIGIN="https://testserver")
    assert response.status_code == 200, response.content
    _, response = post_raw("/api/auth/login", LOGIN_BODY, "application/json", HTTP_ORIGIN="http://eu.example.org")
    assert response.status_code == 403


def test_register_works_from_the_sites_own_origin():
    _, response = post_raw("/api/auth/register", REGISTER_BODY, "application/json", HTTP_ORIGIN="http://testserver")
    assert response.status_code == 201, response.content
