"""Django settings, every one read from the environment with a safe development default.

A `.env` file in the project directory (or the file named by `ENV_FILE`) is read first; variables
already set in the environment win. `.env.example` documents every variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from voiceproject.env import env_bool, env_choice, env_decimal, env_endpoint, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
load_dotenv(os.environ.get("ENV_FILE") or BASE_DIR / ".env", override=False)

# --- Core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",  # first, so that `runserver` serves WebSockets too
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "conversations",
    "realtime",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "voiceproject.urls"
ASGI_APPLICATION = "voiceproject.asgi.application"
WSGI_APPLICATION = None

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
                "voiceproject.context_processors.site",
            ],
        },
    },
]

# --- Database and channel layer -------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    # Connections are kept (and checked before reuse): a voice session writes often, and a new
    # connection per write would cost more than the write.
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=600, conn_health_checks=True)}
except ValueError:
    # The URL itself is not echoed: it may carry a password.
    raise ImproperlyConfigured("DATABASE_URL is not a valid database URL.") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets pages read while the relay writes; IMMEDIATE takes the write lock up front, so
    # concurrent transactions wait instead of failing with "database is locked". Temporary data
    # in memory: each statement of a batch's transaction keeps the pages it changes to undo
    # itself should it fail, by default in a temporary file (in bench/writes.py a third of the
    # writes to files, and 4-15% of the CPU per stored turn). The WAL is copied back into the
    # database every 10,000 pages (about 40 MB) instead of 1,000: a busy worker's batches change
    # the same pages (each conversation's end of each index) again and again, and each copy
    # writes them once (bench/writes.py, 400 sessions' turns on a 50 MB database: about 7% less
    # CPU per turn).
    DATABASES["default"]["OPTIONS"] = {
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA temp_store=MEMORY;"
            " PRAGMA wal_autocheckpoint=10000;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1500, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Authentication -------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SIGNUP_ENABLED = env_bool("SIGNUP_ENABLED", DEBUG)

# Requests per minute: token requests per client IP, and writes (PUT, PATCH, DELETE) per user.
API_THROTTLE_AUTH_PER_MINUTE = env_int("API_THROTTLE_AUTH_PER_MINUTE", 10, minimum=1, maximum=100_000)
API_THROTTLE_WRITE_PER_MINUTE = env_int("API_THROTTLE_WRITE_PER_MINUTE", 60, minimum=1, maximum=100_000)
# Proxies in front of the app that append to X-Forwarded-For. 0: the client address is the peer's,
# and a client cannot dodge the token limit by sending its own X-Forwarded-For.
API_TRUSTED_PROXIES = env_int("API_TRUSTED_PROXIES", 0, minimum=0, maximum=10)

REST_FRAMEWORK = {
    # Token first: an anonymous request then gets 401 with `WWW-Authenticate: Token`, not 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON only: every answer, errors included, has one shape (no browsable HTML API).
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "conversations.api_errors.api_exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["conversations.api_throttles.WriteRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "auth": f"{API_THROTTLE_AUTH_PER_MINUTE}/min",
        "write": f"{API_THROTTLE_WRITE_PER_MINUTE}/min",
    },
    "NUM_PROXIES": API_TRUSTED_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Voice chat API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Your conversations, their transcripts, exports, your session settings and your usage. "
        "Authenticate with `Authorization: Token <key>` (from `POST /api/auth/token/`) or, in the "
        "browser, with the session cookie and the `X-CSRFToken` header on writes. Every error has "
        'one body: `{"error": {"code": "...", "message": "...", "fields": {...}}}`; `fields` '
        "names each invalid field or query parameter with one message. Token requests are limited "
        "per client address and writes per user (429 with `Retry-After`). Any endpoint may answer "
        "500 `server_error` without details. See docs/api.md for a walk-through."
    ),
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_GENERATE_CHOICE_DESCRIPTION": False,
    "ENUM_NAME_OVERRIDES": {
        "ConversationStatusEnum": "conversations.models.Conversation.Status",
        "MessageStatusEnum": "conversations.models.Message.Status",
        "MessageKindEnum": "conversations.models.Message.Kind",
        "UsageKindEnum": "conversations.models.Usage.Kind",
    },
}

# --- Internationalisation and static files --------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Security (strict unless DEBUG; each can be relaxed for a TLS-terminating proxy setup) ---------

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0, maximum=63_072_000
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
if env_bool("TRUST_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# /healthz and /readyz answer plain HTTP so load balancers can probe workers directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# --- Logging: one line per record, never request bodies or headers --------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
}

# --- Realtime providers ---------------------------------------------------------------------------

REALTIME_PROVIDERS = ("openai", "azure_openai", "azure_voicelive", "simulator")

OPENAI_API_KEY = env_str("OPENAI_API_KEY")
OPENAI_REALTIME_MODEL = env_str("OPENAI_REALTIME_MODEL", "gpt-realtime")
OPENAI_REALTIME_URL = env_endpoint("OPENAI_REALTIME_URL", "wss://api.openai.com/v1/realtime")

AZURE_OPENAI_ENDPOINT = env_endpoint("AZURE_OPENAI_ENDPOINT")
AZURE_OPENAI_API_KEY = env_str("AZURE_OPENAI_API_KEY")
AZURE_OPENAI_DEPLOYMENT = env_str("AZURE_OPENAI_DEPLOYMENT")
AZURE_OPENAI_API_VERSION = env_str("AZURE_OPENAI_API_VERSION")

AZURE_VOICELIVE_ENDPOINT = env_endpoint("AZURE_VOICELIVE_ENDPOINT")
AZURE_VOICELIVE_API_KEY = env_str("AZURE_VOICELIVE_API_KEY")
AZURE_VOICELIVE_MODEL = env_str("AZURE_VOICELIVE_MODEL")
AZURE_VOICELIVE_API_VERSION = env_str("AZURE_VOICELIVE_API_VERSION", "2025-10-01")

# Empty: the app starts its own simulator on a loopback port when the simulator provider is used.
REALTIME_SIMULATOR_URL = env_endpoint("REALTIME_SIMULATOR_URL")

REALTIME_PROVIDER = env_choice(
    "REALTIME_PROVIDER", "openai" if OPENAI_API_KEY else "simulator", REALTIME_PROVIDERS
)
_REQUIRED_BY_PROVIDER = {
    "openai": ("OPENAI_API_KEY",),
    "azure_openai": ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_DEPLOYMENT"),
    "azure_voicelive": ("AZURE_VOICELIVE_ENDPOINT", "AZURE_VOICELIVE_API_KEY", "AZURE_VOICELIVE_MODEL"),
    "simulator": (),
}
for _name in _REQUIRED_BY_PROVIDER[REALTIME_PROVIDER]:
    if not globals()[_name]:
        raise ImproperlyConfigured(f"{_name} must be set when REALTIME_PROVIDER is {REALTIME_PROVIDER}.")

# USD per 1M tokens, from shared/realtime-protocol.md section 6. A model missing here keeps its
# token counts but gets no cost: a guessed price would be worse than none.
REALTIME_PRICES: dict[str, dict[str, str]] = {
    "gpt-realtime": {
        "text_in": "4.00", "text_cached": "0.40", "text_out": "16.00",
        "audio_in": "32.00", "audio_cached": "0.40", "audio_out": "64.00",
        "image_in": "5.00", "image_cached": "0.50",
    },
    "gpt-realtime-1.5": {
        "text_in": "4.00", "text_cached": "0.40", "text_out": "16.00",
        "audio_in": "32.00", "audio_cached": "0.40", "audio_out": "64.00",
        "image_in": "5.00", "image_cached": "0.50",
    },
    "gpt-realtime-2": {
        "text_in": "4.00", "text_cached": "0.40", "text_out": "24.00",
        "audio_in": "32.00", "audio_cached": "0.40", "audio_out": "64.00",
    },
    "gpt-realtime-2.1": {
        "text_in": "4.00", "text_cached": "0.40", "text_out": "24.00",
        "audio_in": "32.00", "audio_cached": "0.40", "audio_out": "64.00",
    },
    "gpt-realtime-mini": {
        "text_in": "0.60", "text_cached": "0.06", "text_out": "2.40",
        "audio_in": "10.00", "audio_cached": "0.30", "audio_out": "20.00",
    },
    "gpt-realtime-2.1-mini": {
        "text_in": "0.60", "text_cached": "0.06", "text_out": "2.40",
        "audio_in": "10.00", "audio_cached": "0.30", "audio_out": "20.00",
    },
    "gpt-4o-realtime-preview": {
        "text_in": "5.00", "text_cached": "2.50", "text_out": "20.00",
        "audio_in": "40.00", "audio_cached": "2.50", "audio_out": "80.00",
    },
    "gpt-4o-mini-realtime-preview": {
        "text_in": "0.60", "text_cached": "0.30", "text_out": "2.40",
        "audio_in": "10.00", "audio_cached": "0.30", "audio_out": "20.00",
    },
}  # fmt: skip
# Dated snapshots that share a listed model's price. Other snapshots (gpt-4o-realtime-preview-2024-10-01
# had different audio prices) stay unpriced rather than inherit a wrong one.
REALTIME_PRICE_ALIASES: dict[str, str] = {
    "gpt-realtime-2025-08-28": "gpt-realtime",
    "gpt-4o-realtime-preview-2024-12-17": "gpt-4o-realtime-preview",
    "gpt-4o-realtime-preview-2025-06-03": "gpt-4o-realtime-preview",
    "gpt-4o-mini-realtime-preview-2024-12-17": "gpt-4o-mini-realtime-preview",
}

# --- Relay behaviour ------------------------------------------------------------------------------

# The server's instructions (markdown); a user's own instructions extend them, never replace them.
REALTIME_INSTRUCTIONS_FILE = Path(
    env_str("REALTIME_INSTRUCTIONS_FILE") or BASE_DIR / "realtime" / "instructions.md"
)
if not REALTIME_INSTRUCTIONS_FILE.is_file():
    raise ImproperlyConfigured("REALTIME_INSTRUCTIONS_FILE does not name a readable file.")
# When set, the assistant speaks first in a new conversation, following this instruction.
REALTIME_GREETING = env_str("REALTIME_GREETING")
if len(REALTIME_GREETING) > 2000:
    raise ImproperlyConfigured("REALTIME_GREETING must be at most 2000 characters.")
# A session whose browser sends nothing (audio, text or ping) for this long is ended.
REALTIME_IDLE_TIMEOUT_S = env_int("REALTIME_IDLE_TIMEOUT_S", 300, minimum=10, maximum=86_400)
REALTIME_CONNECT_TIMEOUT_S = env_int("REALTIME_CONNECT_TIMEOUT_S", 15, minimum=1, maximum=120)
# How much of a resumed conversation is replayed upstream, in estimated tokens.
REALTIME_HISTORY_TOKENS = env_int("REALTIME_HISTORY_TOKENS", 8_000, minimum=0, maximum=100_000)

# Net allocations between collections of the youngest objects (Python's default is 700; 0 leaves
# Python's settings alone); see voiceproject/garbage.py for why a worker collects rarely.
WORKER_GC_THRESHOLD = env_int("WORKER_GC_THRESHOLD", 50_000, minimum=0, maximum=1_000_000)
if 0 < WORKER_GC_THRESHOLD < 700:
    raise ImproperlyConfigured("WORKER_GC_THRESHOLD must be 0 (Python's default) or between 700 and 1000000.")

# --- Limits, enforced across workers (per-user overrides in admin under "User limits") ------------

REALTIME_MAX_SESSIONS_PER_USER = env_int("REALTIME_MAX_SESSIONS_PER_USER", 2, minimum=0, maximum=1000)
# 0 / empty: no daily budget.
REALTIME_DAILY_TOKEN_BUDGET = env_int("REALTIME_DAILY_TOKEN_BUDGET", 0, minimum=0, maximum=10**12)
REALTIME_DAILY_COST_BUDGET = env_decimal("REALTIME_DAILY_COST_BUDGET")
REALTIME_MAX_SESSION_MINUTES = env_int("REALTIME_MAX_SESSION_MINUTES", 120, minimum=1, maximum=24 * 60)
# On SIGTERM a worker ends its voice sessions cleanly within this many seconds, then stops.
REALTIME_SHUTDOWN_TIMEOUT_S = env_int("REALTIME_SHUTDOWN_TIMEOUT_S", 10, minimum=1, maximum=600)
# Live sessions refresh their registry row and channel-layer group this often.
REALTIME_HEARTBEAT_S = env_int("REALTIME_HEARTBEAT_S", 15, minimum=1, maximum=300)
# A new upstream session is opened before the provider's cap (60 minutes for OpenAI).
REALTIME_UPSTREAM_RECYCLE_MINUTES = env_int(
    "REALTIME_UPSTREAM_RECYCLE_MINUTES", 55, minimum=1, maximum=24 * 60
)
