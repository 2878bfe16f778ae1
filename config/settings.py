"""Parley settings: every value from the environment, read here and only here.

Development defaults are safe (DEBUG off, an SQLite file, a generated secret
kept in a local file). With PARLEY_ENV=production
we insist on an explicit SECRET_KEY and ALLOWED_HOSTS.
"""
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be on/off, true/false or 1/0, not {value!r}")


def env_int(name, default, minimum=0):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}")
    return number


def env_cap(name, default):
    """Read a cap, a whole number of at least 1, or "off" (None: no cap)."""
    if (os.environ.get(name) or "").strip().lower() == "off":
        return None
    return env_int(name, default, minimum=1)


def env_list(name, default):
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
USING_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def _gevent_patched():
    try:
        from gevent import monkey
    except ImportError:
        return False
    return monkey.is_module_patched("socket")


# Whether this process runs under gevent, which has patched sockets by now if it
# ever will: gunicorn's gevent worker patches before it loads the app
# (config/gunicorn.py, preload_app = False). Poll mode and the database engine follow.
COOPERATIVE = _gevent_patched()
# Production is said, not guessed: it turns missing secrets into errors.
PRODUCTION = os.environ.get("PARLEY_ENV", "development") == "production"

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers queue behind one another instead of failing with "database is
    # locked" (a 500): IMMEDIATE takes the write lock at BEGIN,
    # and the busy timeout makes the queue wait rather than error.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

SECRET_KEY = os.environ.get("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when PARLEY_ENV=production.")
    key_file = Path(os.environ.get("PARLEY_SECRET_KEY_FILE", BASE_DIR / "secret_key.txt"))
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    SECRET_KEY = key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if PRODUCTION and not os.environ.get("ALLOWED_HOSTS"):
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set in production.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "parley",
    "users",
    "rooms",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "parley.security.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "users.middleware.TokenAuthenticationMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "room_list"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploaded files (rooms/uploads.py) go through Django's storage API; the default is this
# directory. Several hosts must share it (a network file system or volume mounted on each):
# README "Files on several hosts".
MEDIA_ROOT = Path(os.environ.get("PARLEY_MEDIA_ROOT") or BASE_DIR / "var" / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Without collectstatic (the two-command start), WhiteNoise serves the finders' files.
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Bodies over 1 MB are refused with a JSON 413 (parley/api.py). The file of an upload
# (multipart) is not held in memory and does not count: rooms/uploads.py streams it to a
# temporary file and enforces PARLEY_MAX_UPLOAD_MB as it arrives.
DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000_000
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200
CSRF_FAILURE_VIEW = "parley.api.csrf_failure"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO").upper()},
}

# Parley's own settings (see README "Configuration").
PARLEY_REQUIRE_APPROVAL = env_bool("PARLEY_REQUIRE_APPROVAL")
PARLEY_MAX_MESSAGE_CHARS = env_int("PARLEY_MAX_MESSAGE_CHARS", 4000, minimum=1)
# Authors may edit their messages for this long after posting (403 edit_window_closed after).
PARLEY_EDIT_SECONDS = env_int("PARLEY_EDIT_SECONDS", 3600, minimum=1)
# Uploads: the largest file, and how much one user may keep stored (attached or not).
PARLEY_MAX_UPLOAD_MB = env_int("PARLEY_MAX_UPLOAD_MB", 25, minimum=1)
PARLEY_UPLOAD_QUOTA_MB = env_int("PARLEY_UPLOAD_QUOTA_MB", 1024, minimum=1)
# Behind nginx, the app checks access and nginx sends the bytes: the internal location that
# maps to MEDIA_ROOT (deploy/nginx.conf), e.g. /_parley_media/. Empty: the app streams files itself.
PARLEY_X_ACCEL_REDIRECT = os.environ.get("PARLEY_X_ACCEL_REDIRECT", "").rstrip("/")
PARLEY_RETENTION_MESSAGES = env_int("PARLEY_RETENTION_MESSAGES", 500, minimum=1)
PARLEY_RETENTION_DAYS = env_int("PARLEY_RETENTION_DAYS", 0) or None
PARLEY_RATE_LIMITS = env_bool("PARLEY_RATE_LIMITS", default=True)
# How long events other than messages (room changes, receipts, presence) are
# kept for reconnecting clients; a cursor older than that gets 410.
PARLEY_EVENT_RETENTION_SECONDS = env_int("PARLEY_EVENT_RETENTION_SECONDS", 24 * 3600, minimum=60)
PARLEY_POLL_TIMEOUT_DEFAULT = 25
PARLEY_POLL_TIMEOUT_MAX = 55
PARLEY_PRESENCE_WINDOW_SECONDS = 60
PARLEY_EPHEMERAL_SECONDS = 60
PARLEY_TYPING_SECONDS = 60
# Each process's fetch, listen and maintenance loops (rooms/hub.py, started by rooms/maintenance.py); tests turn them off.
PARLEY_BACKGROUND_THREADS = env_bool("PARLEY_BACKGROUND_THREADS", default=True)
# GET /api/events on its own WSGI path in front of Django (rooms/events_wsgi.py); off: Django
# answers every poll, as before (to compare the two: python -m bench.floor).
PARLEY_LEAN_POLL = env_bool("PARLEY_LEAN_POLL", default=True)
# The assistant's optional language model (rooms/assistant/llm.py): an OpenAI-compatible
# chat-completions endpoint; unset, the assistant answers with its own classic NLP.
PARLEY_ASSISTANT_LLM_URL = os.environ.get("PARLEY_ASSISTANT_LLM_URL", "").strip()
PARLEY_ASSISTANT_LLM_MODEL = os.environ.get("PARLEY_ASSISTANT_LLM_MODEL", "").strip()
PARLEY_ASSISTANT_LLM_KEY = os.environ.get("PARLEY_ASSISTANT_LLM_KEY", "")
PARLEY_ASSISTANT_LLM_TIMEOUT = env_int("PARLEY_ASSISTANT_LLM_TIMEOUT", 20, minimum=1)
if PARLEY_ASSISTANT_LLM_URL and not PARLEY_ASSISTANT_LLM_MODEL:
    raise ImproperlyConfigured("PARLEY_ASSISTANT_LLM_MODEL must be set with PARLEY_ASSISTANT_LLM_URL.")
# Where people reach this Parley, for absolute links the assistant writes to messages
# (the Markdown renderer links only absolute http(s) URLs): no trailing slash needed.
PARLEY_SITE_URL = os.environ.get("PARLEY_SITE_URL", "http://127.0.0.1:8000").strip().rstrip("/")
# Bots' outgoing webhooks (rooms/webhooks.py, `manage.py run_bots`): how long one try may take, and
# whether endpoints on loopback, private, link-local... addresses are allowed (off: server-side request forgery).
PARLEY_BOTS_TIMEOUT_SECONDS = env_int("PARLEY_BOTS_TIMEOUT_SECONDS", 10, minimum=1)
PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS = env_bool("PARLEY_BOTS_ALLOW_PRIVATE_ENDPOINTS")

# Email, for "Forgot password?" (Django's password-reset views). By default the mail is
# printed to the server's console; set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend
# and the SMTP settings to send it.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "").strip() or "django.core.mail.backends.console.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL")
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS, port 587) or EMAIL_USE_SSL (port 465), not both.")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "").strip() or "Parley <parley@localhost>"
# How long a password-reset link works.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 3600, minimum=60)

# Security and abuse limits (README "Security and reliability") ----------------------

# Behind HTTPS. PARLEY_HTTPS (on by default in production) makes cookies secure,
# sends HSTS and redirects plain HTTP to HTTPS. Behind a proxy that terminates
# TLS, PARLEY_PROXY_SSL_HEADER names the header it sets to "https" (for nginx:
# X-Forwarded-Proto); only set it when the proxy always sets or strips that header.
PARLEY_HTTPS = env_bool("PARLEY_HTTPS", default=PRODUCTION)
_proxy_ssl_header = os.environ.get("PARLEY_PROXY_SSL_HEADER", "").strip()
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = PARLEY_HTTPS
SECURE_SSL_REDIRECT = env_bool("PARLEY_SSL_REDIRECT", default=PARLEY_HTTPS)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers check health over plain HTTP
SECURE_HSTS_SECONDS = env_int("PARLEY_HSTS_SECONDS", 365 * 24 * 3600 if PARLEY_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("PARLEY_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env_bool("PARLEY_HSTS_PRELOAD")
if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
    # Asking browsers to preload the domain is the domain owner's decision, not ours.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The pages run only our own static scripts and styles (parley/security.py).
PARLEY_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def env_rate(name, default):
    """Read a limit "COUNT/PERIOD" (period: seconds, or with s, m or h); "off" means none."""
    value = (os.environ.get(name) or default).strip().lower()
    if value in ("off", "0", "none"):
        return None
    count, _, period = value.partition("/")
    units = {"s": 1, "m": 60, "h": 3600}
    try:
        multiplier = units[period[-1]] if period[-1:] in units else 1
        amount = int(period[:-1] if period[-1:] in units else period or "0") * multiplier
        count = int(count)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must look like 10/5m (count/period), not {value!r}") from None
    if count < 1 or amount < 1:
        raise ImproperlyConfigured(f"{name} needs a count and a period of at least 1")
    return count, amount


# Rate limits (parley/ratelimit.py), as (count, seconds). Per-address limits are
# generous because a whole office can share one address behind its proxy.
# Login counts failed passwords only: per email and address, per address, and
# per email across all addresses, which only slows addresses that keep failing.
PARLEY_RATE_LOGIN_EMAIL_IP = env_rate("PARLEY_RATE_LOGIN_EMAIL_IP", "10/15m")
PARLEY_RATE_LOGIN_IP = env_rate("PARLEY_RATE_LOGIN_IP", "300/15m")
PARLEY_RATE_LOGIN_EMAIL = env_rate("PARLEY_RATE_LOGIN_EMAIL", "100/1h")
PARLEY_RATE_REGISTER_IP = env_rate("PARLEY_RATE_REGISTER_IP", "50/1h")
# "Forgot password?": forms sent per address, and mails per email (over it, silently none).
PARLEY_RATE_PASSWORD_RESET_IP = env_rate("PARLEY_RATE_PASSWORD_RESET_IP", "20/1h")
PARLEY_RATE_PASSWORD_RESET_EMAIL = env_rate("PARLEY_RATE_PASSWORD_RESET_EMAIL", "3/1h")
PARLEY_RATE_SEND_USER = env_rate("PARLEY_RATE_SEND_USER", "60/1m")
PARLEY_RATE_SEND_IP = env_rate("PARLEY_RATE_SEND_IP", "1200/1m")
# The other writes, per user. Each reaches other people (an event in their rooms,
# a room in their list), so a script repeating one is spam. Far above what a
# person does by hand: a real user creates a few rooms a day, types in one room
# at a time (the client says so every 3 s), marks read at most every 0.4 s.
PARLEY_RATE_ROOM_CREATE = env_rate("PARLEY_RATE_ROOM_CREATE", "30/1h")
PARLEY_RATE_ROOM_UPDATE = env_rate("PARLEY_RATE_ROOM_UPDATE", "30/10m")
PARLEY_RATE_JOIN_LEAVE = env_rate("PARLEY_RATE_JOIN_LEAVE", "60/10m")  # joins and leaves together
PARLEY_RATE_INVITE = env_rate("PARLEY_RATE_INVITE", "100/1h")  # per inviter
PARLEY_RATE_INVITED = env_rate("PARLEY_RATE_INVITED", "20/1h")  # per invitee, whoever invites them
PARLEY_RATE_READ = env_rate("PARLEY_RATE_READ", "240/1m")
PARLEY_RATE_DM_OPEN = env_rate("PARLEY_RATE_DM_OPEN", "60/1h")
PARLEY_RATE_BLOCK = env_rate("PARLEY_RATE_BLOCK", "60/1h")  # blocks and unblocks together
PARLEY_RATE_EDIT = env_rate("PARLEY_RATE_EDIT", "60/1m")  # edits and deletes together
PARLEY_RATE_REACT = env_rate("PARLEY_RATE_REACT", "120/1m")  # adding and removing together
PARLEY_RATE_SEARCH = env_rate("PARLEY_RATE_SEARCH", "120/1m")  # a read, but the costliest; the client searches as you type
# Files, per user: a person drops a dozen screenshots at once, not hundreds (each is up to PARLEY_MAX_UPLOAD_MB).
PARLEY_RATE_UPLOAD = env_rate("PARLEY_RATE_UPLOAD", "60/10m")
PARLEY_RATE_HOOK = env_rate("PARLEY_RATE_HOOK", "60/1m")  # per incoming webhook, whoever posts to it
PARLEY_RATE_BOT_CREATE = env_rate("PARLEY_RATE_BOT_CREATE", "20/1h")  # creating bots, hooks and tokens, per user
# Typing counts in each worker's memory, like polls (see parley/ratelimit.py).
PARLEY_RATE_TYPING = env_rate("PARLEY_RATE_TYPING", "10/10s")
# Polls count in each worker's memory, not in the database (see parley/ratelimit.py).
PARLEY_RATE_POLL_USER = env_rate("PARLEY_RATE_POLL_USER", "600/1m")
PARLEY_RATE_POLL_IP = env_rate("PARLEY_RATE_POLL_IP", "12000/1m")
PARLEY_POLL_CONCURRENCY = env_int("PARLEY_POLL_CONCURRENCY", 5, minimum=1)
# Waiting polls one client address may hold per worker, whoever they are for: 200
# leaves room for an office behind one NAT address; "off" (load tests from one host).
PARLEY_POLL_CONCURRENCY_IP = env_cap("PARLEY_POLL_CONCURRENCY_IP", 200)
# How many proxies in front of the app append to X-Forwarded-For (0: use REMOTE_ADDR).
PARLEY_TRUSTED_PROXIES = env_int("PARLEY_TRUSTED_PROXIES", 0)
# A bearer token unused for this many days expires (users/models.py).
PARLEY_TOKEN_IDLE_DAYS = env_int("PARLEY_TOKEN_IDLE_DAYS", 90, minimum=1)
# Sessions of users who are not (or no longer) approved stop working (users/backends.py).
AUTHENTICATION_BACKENDS = ["users.backends.ApprovedUserBackend"]

# Hosting (README "Deployment"). -------------------------------------------------
# Mounted under a sub-path behind a proxy (deploy/nginx.conf: /chat/), say so
# here too. Page and API URLs would follow the proxy's SCRIPT_NAME by
# themselves, but static URLs and cookie paths are fixed when the app starts
# (the static storage is built before the first request), so they come from here.
PARLEY_SCRIPT_NAME = os.environ.get("PARLEY_SCRIPT_NAME", "").rstrip("/")
if PARLEY_SCRIPT_NAME:
    if not PARLEY_SCRIPT_NAME.startswith("/"):
        raise ImproperlyConfigured(f"PARLEY_SCRIPT_NAME must start with /, like /chat, not {PARLEY_SCRIPT_NAME!r}")
    FORCE_SCRIPT_NAME = PARLEY_SCRIPT_NAME
    STATIC_URL = f"{PARLEY_SCRIPT_NAME}/static/"  # WhiteNoise serves it at /static/ after the prefix
    SESSION_COOKIE_PATH = CSRF_COOKIE_PATH = f"{PARLEY_SCRIPT_NAME}/"
    # The HTTPS redirect's exemptions match request.path, which now starts with the prefix.
    import re  # noqa: E402

    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, rf"^{re.escape(PARLEY_SCRIPT_NAME.lstrip('/'))}/healthz$"]

# Long polling needs a server that holds thousands of waiting requests cheaply:
# gunicorn's gevent worker (config/gunicorn.py), which patches sockets before
# it loads the app. "auto" decides here, once: long under gevent, else
# "short", where a poll waits at most PARLEY_SHORT_POLL_SECONDS so that plain
# sync workers (or runserver) are not all tied up by waiting clients.
PARLEY_POLL_MODE = os.environ.get("PARLEY_POLL_MODE", "auto") or "auto"
if PARLEY_POLL_MODE not in ("auto", "long", "short"):
    raise ImproperlyConfigured(f"PARLEY_POLL_MODE must be auto, long or short, not {PARLEY_POLL_MODE!r}")
if PARLEY_POLL_MODE == "auto":
    PARLEY_POLL_MODE = "long" if COOPERATIVE else "short"
PARLEY_SHORT_POLL_SECONDS = env_int("PARLEY_SHORT_POLL_SECONDS", 1)

# At most this many pooled PostgreSQL connections per app process (parley/server/db/base.py):
# polls that arrive together must not each open one, past PostgreSQL's
# max_connections. The fetch and maintenance loops use it too; the listener has
# one more of its own. Keep hosts x workers x (this + 1) below max_connections.
PARLEY_DB_CONNECTIONS_PER_WORKER = env_int("PARLEY_DB_CONNECTIONS_PER_WORKER", 16, minimum=4)
# How often each process's hub looks at the stream head while polls wait, though nothing woke
# it (rooms/hub.py). On PostgreSQL every write NOTIFYs every process, so this is only a safety
# net; SQLite has no such signal between processes, and writes from another process (the bots
# worker and its assistant, the purge, a shell) reach waiting polls only when the hub looks.
PARLEY_STREAM_RECHECK_SECONDS = float(os.environ.get("PARLEY_STREAM_RECHECK_SECONDS") or (5 if USING_POSTGRES else 0.25))

if USING_POSTGRES and COOPERATIVE:
    # Under gevent, requests borrow pooled connections (parley/server/db/base.py): connecting
    # costs more than a whole poll. Elsewhere (commands, a shell, in-process tests) there are
    # no greenlets to share a pool, and Django's own backend opens one connection per thread.
    DATABASES["default"]["ENGINE"] = "parley.server.db"
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        MAX_CONNS=PARLEY_DB_CONNECTIONS_PER_WORKER, REUSE_CONNS=PARLEY_DB_CONNECTIONS_PER_WORKER)
if USING_POSTGRES:
    # PostgreSQL's JIT compiles every query whose estimated cost passes jit_above_cost, and a
    # room list over 400 rooms passes it: 100-1,000 ms of compiling for a 20 ms query. Parley's
    # queries are short; JIT never pays for itself here. A DATABASE_URL ?options=... wins.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
# The text search configuration (PostgreSQL's regconfig) that search stems words with:
# "english" makes "Deploying" find "deploy". The stored vectors are built with Parley's
# copy of it that keeps stop words, parley_<name> ("the", "after" are found; rooms
# migration 0011, rooms/search.py); after changing it, run `python manage.py search_rebuild`.
# `manage.py check --database default` (and migrate) refuse a name PostgreSQL does not know.
PARLEY_SEARCH_LANGUAGE = (os.environ.get("PARLEY_SEARCH_LANGUAGE") or "english").strip().lower()
if not PARLEY_SEARCH_LANGUAGE.replace("_", "a").isalnum() or not PARLEY_SEARCH_LANGUAGE.isascii():
    raise ImproperlyConfigured(
        f"PARLEY_SEARCH_LANGUAGE must name a text search configuration such as english, french or simple,"
        f" not {PARLEY_SEARCH_LANGUAGE!r}"
    )
