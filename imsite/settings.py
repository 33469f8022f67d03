"""Settings of the IM product. Every tunable comes from the environment (see imsite/env.py and
docs/api.md section 7); nothing secret lives in code."""

import json
import secrets
import socket
import sys
from pathlib import Path
from urllib.parse import urlparse

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from imsite.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("IM_DATA_DIR", str(BASE_DIR / "data")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY, or a random key kept in the (git-ignored) data folder for the embedded
    default, so sessions survive restarts without a secret in the repository."""
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
SECURE_COOKIES = env_bool("DJANGO_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
# On every response (django.middleware.security); HTML pages also get a CSP (imsite/security.py).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = [f"{scheme}://{host}" for host in ALLOWED_HOSTS for scheme in ("http", "https")
                        if host and not host.startswith(".") and host != "*"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "django_prometheus",
    "channels",
    "rest_framework",
    "oauth2_provider",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "conversations",
    "chat",
    "groups",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "imsite.logging_context.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "imsite.security.SecurityHeadersMiddleware",
    # Static files served by the application itself, also with DEBUG off (after collectstatic).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language of a request: the language cookie, else Accept-Language, else English; a
    # signed-in user's own choice overrides both (imsite/i18n.py, after authentication).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "imsite.i18n.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "imsite.urls"
ASGI_APPLICATION = "imsite.asgi.application"
# The ASGI application's WebSocket side, as ROOT_URLCONF is its HTTP side: the app that owns the
# socket routes it, and only settings name it (imsite, the lowest layer, imports no app).
WEBSOCKET_APPLICATION = "chat.routing.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login"
LOGIN_REDIRECT_URL = "/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------------------------
# The main database holds users, friendships, groups, conversations and per-user state.
# IM_MESSAGE_SHARDS lists the message databases (aliases shard0, shard1, ...); with none, messages
# live in the main database. See docs/sharding.md and imsite/shards.py.
_default_db = env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'im.sqlite3'}"
# Connections close at the end of each HTTP request (CONN_MAX_AGE 0): under ASGI each request runs
# on a thread of its own (asgiref), so a kept connection is never reused, and stays open until the
# garbage collector finds the dead thread's connection object (seen exhausting max_connections in
# a burst of logins). The long-lived socket and batch threads keep theirs (imsite/db_threads.py).
DATABASES = {"default": dj_database_url.parse(_default_db, conn_max_age=0)}
MESSAGE_SHARDS: list[str] = []
for _index, _url in enumerate(env_list("IM_MESSAGE_SHARDS")):
    _alias = f"shard{_index}"
    DATABASES[_alias] = dj_database_url.parse(_url, conn_max_age=0)
    MESSAGE_SHARDS.append(_alias)
for _db in DATABASES.values():
    # django-prometheus's wrappers of the same backends count queries and errors per database.
    _db["ENGINE"] = _db["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")
    if _db["ENGINE"].endswith("sqlite3"):
        # WAL lets the browser, the socket and background work read while one of them writes.
        _db.setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        _db["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
        _db["OPTIONS"]["timeout"] = 20
        # Tests too use a file, not Django's shared-cache memory database: its table locks fail a
        # second connection's write at once (SQLITE_LOCKED) instead of waiting like the product's file.
        _db["TEST"] = {"NAME": str(DATA_DIR / f"test_{Path(_db['NAME']).name}")}
DATABASE_ROUTERS = ["imsite.shards.ShardRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channel layer, Celery ---------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            # Pub/sub channels ignore the Redis database number: name them after it, so that two
            # deployments (or test runs) on one Redis server with different databases never cross.
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "asgi" + (urlparse(REDIS_URL).path.strip("/") or "0")},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    # One process: background work runs in-process, right away.
    CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_BEAT_SCHEDULE = {
    "sweep-pending-acks": {"task": "chat.tasks.sweep_pending_acks", "schedule": 1.0},
    "expire-ringing-calls": {"task": "chat.tasks.expire_ringing_calls", "schedule": 1.0},
}

# --- The IM's own settings (docs/api.md section 7) ---------------------------------------------------
def _default_node_name() -> str:
    port = "8000"
    for flag in ("-p", "--port"):
        if flag in sys.argv[:-1]:
            port = sys.argv[sys.argv.index(flag) + 1]
    return f"{socket.gethostname()}:{port}"


IM_NODE_NAME = env_str("IM_NODE_NAME") or _default_node_name()
IM_PUBLIC_WS_URL = env_str("IM_PUBLIC_WS_URL") or f"ws://{IM_NODE_NAME}/ws"
IM_HEARTBEAT_TIMEOUT = env_float("IM_HEARTBEAT_TIMEOUT", 90)
IM_ACK_RETRY_DELAYS = [float(x) for x in env_list("IM_ACK_RETRY_DELAYS", "5,30,300")]
IM_RECALL_WINDOW = env_float("IM_RECALL_WINDOW", 120)
IM_SEND_RATE = env_float("IM_SEND_RATE", 20)
# Frames received and not yet answered, per socket and per node, before a socket stops reading
# (imsite/realtime/pipeline.py): under overload the node holds its capacity.
IM_SOCKET_FRAMES_IN_FLIGHT = env_int("IM_SOCKET_FRAMES_IN_FLIGHT", 200)
IM_NODE_FRAMES_IN_FLIGHT = env_int("IM_NODE_FRAMES_IN_FLIGHT", 1000)
IM_MAX_GROUP_MEMBERS = env_int("IM_MAX_GROUP_MEMBERS", 500)
IM_MAX_UPLOAD_BYTES = env_int("IM_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# Decompression-bomb limit of uploaded images: pixels, all frames counted (chat/actions/media.py).
IM_MAX_IMAGE_PIXELS = env_int("IM_MAX_IMAGE_PIXELS", 40_000_000)
IM_DIRECT_REQUIRES_FRIENDSHIP = env_bool("IM_DIRECT_REQUIRES_FRIENDSHIP", True)
# Snowflake node id (0-1023). Empty: leased from Redis at start-up (see imsite/snowflake.py).
IM_SNOWFLAKE_NODE_ID = env_str("IM_SNOWFLAKE_NODE_ID")
IM_CALL_RING_TIMEOUT = env_float("IM_CALL_RING_TIMEOUT", 60)
# Account safety (docs/api.md section 11): failed logins per username before a lockout of
# IM_LOGIN_LOCKOUT seconds, and sign-ups per client address per hour.
IM_LOGIN_ATTEMPTS = env_int("IM_LOGIN_ATTEMPTS", 5)
IM_LOGIN_LOCKOUT = env_float("IM_LOGIN_LOCKOUT", 900)
IM_REGISTER_RATE = env_int("IM_REGISTER_RATE", 20)
# Replies, reactions, edits, forwards, mentions and Web Push (docs/api.md sections 9, 10).
IM_EDIT_WINDOW = env_float("IM_EDIT_WINDOW", 86400)
IM_PUSH_DELAY = max(0.0, env_float("IM_PUSH_DELAY", 5))  # a notification is never sent sooner than this
# Push services a subscription's endpoint may point at (fnmatch patterns): the browsers' own.
IM_PUSH_HOSTS = env_list("IM_PUSH_HOSTS", "fcm.googleapis.com,*.push.services.mozilla.com,*.notify.windows.com,"
                         "web.push.apple.com,*.push.apple.com")
IM_PUSH_ALLOW_HTTP = env_bool("IM_PUSH_ALLOW_HTTP", False)  # testing only
IM_PUSH_TTL = env_int("IM_PUSH_TTL", 86400)
# The VAPID key (PEM, or the raw private number base64url-encoded). Empty: one is generated into
# the data folder on first use (the embedded default; several hosts must share one key).
IM_VAPID_PRIVATE_KEY = env_str("IM_VAPID_PRIVATE_KEY")
IM_VAPID_SUBJECT = env_str("IM_VAPID_SUBJECT", "mailto:admin@localhost")
# STUN/TURN servers for calls, handed to the browser as RTCPeerConnection's iceServers (JSON list,
# e.g. [{"urls": "turn:turn.example.com:3478", "username": "im", "credential": "..."}]). Empty:
# host candidates only, which connects browsers on one network (docs/calls.md).
IM_ICE_SERVERS = json.loads(env_str("IM_ICE_SERVERS") or "[]")
if not isinstance(IM_ICE_SERVERS, list) or not all(isinstance(s, dict) and "urls" in s for s in IM_ICE_SERVERS):
    raise ImproperlyConfigured("IM_ICE_SERVERS must be a JSON list of objects with `urls`.")

DATA_UPLOAD_MAX_MEMORY_SIZE = IM_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Auth ------------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("IM_TEST_FAST_PASSWORDS", False):
    # Test runs only (bin/test sets it, for the test process and the servers it starts): hashing
    # every test user's password with PBKDF2 would dominate the suite's time.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
OAUTH2_PROVIDER = {
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("IM_ACCESS_TOKEN_SECONDS", 36000),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("IM_REFRESH_TOKEN_SECONDS", 30 * 86400),
    "ROTATE_REFRESH_TOKEN": True,
    "SCOPES": {"im": "Use the IM as this user"},
    "DEFAULT_SCOPES": ["im"],
    "PKCE_REQUIRED": True,
}
IM_OAUTH_CLIENT_ID = "im-first-party"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ActiveUserOAuth2Authentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "imsite.parsers.JSONObjectParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "EXCEPTION_HANDLER": "imsite.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "imsite.openapi.ImAutoSchema",
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "IM API",
    "DESCRIPTION": "REST API of the IM product. The reference, with the socket protocol, is docs/api.md in the "
                   "repository; every socket frame is in docs/websocket.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # /api/docs loads Swagger UI from this server's static files (drf-spectacular-sidecar), so it
    # works offline and under a Content-Security-Policy without third-party hosts.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge from Swagger's public validator (it would send the schema off the machine).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                             "imsite.openapi.add_operator_endpoints"],
    # Two choice sets share the field name `type`: name each after its object.
    "ENUM_NAME_OVERRIDES": {
        "MessageTypeEnum": ["text", "image", "voice", "file", "location", "system"],
        "ConversationTypeEnum": ["direct", "group"],
    },
}

# --- Static and uploaded files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("DJANGO_STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Without collectstatic (the embedded default, tests), WhiteNoise finds files like runserver does.
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = Path(env_str("IM_MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": env_str("IM_STORAGE_BACKEND", "django.core.files.storage.FileSystemStorage")},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Email (password reset) ------------------------------------------------------------------------
# By default mail is written to files in the data folder, so the embedded mode works with nothing
# configured; IM_EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend with IM_EMAIL_HOST etc.
# sends it for real.
EMAIL_BACKEND = env_str("IM_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env_str("IM_EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = env_str("IM_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("IM_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("IM_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("IM_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("IM_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("IM_EMAIL_FROM", "im@localhost")

# --- Languages (docs/api.md section 12) ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("zh-hans", "简体中文")]
# The product's own catalogues (django: Python and templates; djangojs: the browser client). The
# compiled .mo files are committed, so running the product needs no gettext tools.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "ts", "levelname": "level", "name": "logger"},
        }
    },
    "filters": {"request_id": {"()": "imsite.logging_context.RequestIdFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
    "root": {"handlers": ["console"], "level": env_str("IM_LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}
