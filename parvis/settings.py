"""Parvis settings, read from the environment.

The defaults run the embedded setup (SQLite, local files, in-memory channel layer) with no
service to install. Setting DATABASE_URL, REDIS_URL, EMAIL_HOST or OIDC_* switches each part to
the scale setup. See docs/deploy.md.
"""

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    """A setting from the environment, or from the file named by NAME_FILE (for secrets)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        return Path(file_name).read_text().strip()
    return os.environ.get(name, default)


def envbool(name: str, default: bool) -> bool:
    value = env(name, "")
    if not value:
        return default
    return value.lower() in ("1", "true", "yes", "on")


def envint(name: str, default: int) -> int:
    value = env(name, "")
    return int(value) if value else default


VAR_DIR = Path(env("PARVIS_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """The configured key, or one generated once and kept under var/ for the embedded setup."""
    configured = env("SECRET_KEY")
    if configured:
        return configured
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
TESTING = envbool("PARVIS_TESTING", False)
ALLOWED_HOSTS = [h.strip() for h in env("ALLOWED_HOSTS", "127.0.0.1,localhost").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in env("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_tasks",
    "django_tasks_db",
    "channels",
    "mozilla_django_oidc",
    "parvis.core",
    "parvis.spaces",
    "parvis.documents",
    "parvis.chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "parvis.core.middleware.SecureCookiesMiddleware",
    "csp.middleware.CSPMiddleware",  # before ServeStatic, so static files carry the CSP too
    "servestatic.middleware.ServeStaticMiddleware",
    "parvis.core.middleware.RequestLogMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "parvis.core.middleware.SessionLifetimeMiddleware",
    "parvis.core.middleware.PolicyMemoMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "parvis.urls"
ASGI_APPLICATION = "parvis.asgi.application"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "parvis.core.context_processors.parvis",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------------------------
# SQLite in WAL with synchronous=FULL: an acknowledged commit survives a power cut, and readers do
# not block the writer. IMMEDIATE transactions take the write lock up front, so two writers wait
# on the busy timeout instead of failing with "database is locked" half-way through.
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA foreign_keys=ON"
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'parvis.sqlite3'}")
DATABASES: dict[str, dict[str, Any]] = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": SQLITE_PRAGMAS,
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
elif (DATABASE_POOL_SIZE := envint("DATABASE_POOL_SIZE", 20)) > 0:
    # Under ASGI each request runs in a thread of its own, and Django's connections belong to a
    # thread: without a pool every request opened a PostgreSQL connection (a new server process)
    # and a kept one was never reused. The pool hands them out and takes them back at the end of
    # each request and websocket action; with health checks on, Django has the pool check a
    # connection before lending it (one that died while pooled is replaced, not failed on).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2,
        "max_size": DATABASE_POOL_SIZE,
        "timeout": 20,
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = envint("DATABASE_CONN_MAX_AGE", 0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache and channel layer --------------------------------------------------------------------
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # A consumer waits on its channel with a 5-second BZPOPMIN; redis-py 8 also gives up
            # reading a socket after 5 seconds by default, so an idle websocket died with a
            # TimeoutError. Reads may last longer than the pop, not forever (a dead Redis).
            "CONFIG": {
                "hosts": [{"address": REDIS_URL, "socket_timeout": 15}],
                "capacity": 1000,
                "expiry": 30,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "parvis.core.layers.InMemoryLayer"}}

WEB_PROCESSES = envint("WEB_PROCESSES", 1)  # of one `manage.py serve` (needs REDIS_URL beyond 1)

# --- Background tasks ---------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- Authentication -----------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = ["parvis.core.auth.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# CNIL délibération 2022-100: 12 characters and a refusal of common passwords, no forced renewal.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "parvis.core.passwords.FrenchCommonPasswordValidator"},
    {"NAME": "parvis.core.passwords.MaximumLengthValidator"},
]
PASSWORD_RESET_TIMEOUT = 3600
OTP_TOTP_ISSUER = "Parvis"

OIDC_OP_AUTHORIZATION_ENDPOINT = env("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_ENABLED = bool(OIDC_OP_AUTHORIZATION_ENDPOINT)
OIDC_RP_CLIENT_ID = env("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env("OIDC_RP_CLIENT_SECRET")
OIDC_OP_TOKEN_ENDPOINT = env("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_USER_ENDPOINT = env("OIDC_OP_USER_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = env("OIDC_OP_JWKS_ENDPOINT")
OIDC_OP_LOGOUT_ENDPOINT = env("OIDC_OP_LOGOUT_ENDPOINT")
OIDC_OP_ISSUER = env("OIDC_OP_ISSUER")
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "ProConnect")
OIDC_RP_SIGN_ALGO = env("OIDC_RP_SIGN_ALGO", "RS256")
OIDC_RP_SCOPES = env("OIDC_RP_SCOPES", "openid email given_name usual_name")
OIDC_USE_PKCE = True
OIDC_PKCE_CODE_CHALLENGE_METHOD = "S256"
OIDC_USE_NONCE = True
OIDC_STORE_ID_TOKEN = True
OIDC_CREATE_USER = True
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc_authentication_callback"
OIDC_OP_LOGOUT_URL_METHOD = "parvis.core.oidc.provider_logout_url"
OIDC_AUTH_REQUEST_EXTRA_PARAMS = {"acr_values": env("OIDC_ACR_VALUES", "eidas1")}
OIDC_CALLBACK_CLASS = "parvis.core.oidc.CallbackView"
OIDC_AUTHENTICATE_CLASS = "parvis.core.oidc.AuthenticationRequestView"
OIDC_TIMEOUT = envint("OIDC_TIMEOUT", 10)  # seconds; the library waits forever without it
LOGIN_REDIRECT_URL_FAILURE = "/connexion/"
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("parvis.core.oidc.ParvisOIDCBackend")


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: a CSP source without path or query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


# The sign-out form's POST is redirected to the provider's end-session endpoint, and browsers
# apply form-action to redirects: the provider's origins must be allowed there.
OIDC_FORM_ACTION = (
    sorted({_origin(url) for url in (OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_LOGOUT_ENDPOINT) if url})
    if OIDC_ENABLED
    else []
)

# --- Sessions and cookies -----------------------------------------------------------------------
# Idle 2 h, absolute 12 h (ASVS 7.1.1, documented in docs/architecture.md).
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_SECONDS = 2 * 3600
SESSION_ABSOLUTE_SECONDS = 12 * 3600
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
# Behind TLS the proxy sets X-Forwarded-Proto; SecureCookiesMiddleware then marks every cookie
# Secure, whatever the host. SESSION_COOKIE_SECURE forces it even without the header.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_PROXY", False) else None
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_HSTS_SECONDS = envint("HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "parvis.core.views.errors.csrf_failure"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF, *OIDC_FORM_ACTION],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

# --- Internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "parvis" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "parvis" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env("STATICFILES_BACKEND", "servestatic.storage.CompressedManifestStaticFilesStorage")
    },
}
SERVESTATIC_KEEP_ONLY_HASHED_FILES = False

# --- E-mail -------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Parvis <ne-pas-repondre@parvis.localhost>")
EMAIL_HOST = env("EMAIL_HOST")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 25)
    EMAIL_HOST_USER = env("EMAIL_HOST_USER")
    EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", False)
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 20)
else:
    # Embedded setup: messages land as files under var/mail/, never in a log.
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")

# --- Logging ------------------------------------------------------------------------------------
# Every handler goes through RedactSecretsFilter; requests are logged by route pattern, never by
# raw path, so tokens in URLs (reset links, invitations) cannot reach a log.
LOG_FILE = env("PARVIS_LOG_FILE")
LOGGING: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "parvis.core.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact"],
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.security": {"level": "INFO"},
    },
}
if LOG_FILE:
    LOGGING["handlers"]["file"] = {
        "class": "logging.FileHandler",
        "filename": LOG_FILE,
        "filters": ["redact"],
        "formatter": "plain",
    }
    LOGGING["root"]["handlers"].append("file")

# --- Parvis -------------------------------------------------------------------------------------
# Throttles: (failures, window in seconds). Per address alone the ceiling is much higher, so the
# twenty agents of one mairie behind one public address are never locked out together.
PARVIS_THROTTLES = {
    "login": {"pair": (5, 900), "account": (20, 3600), "address": (100, 3600)},
    "otp": {"pair": (5, 900), "account": (10, 3600), "address": (100, 3600)},
    "app_password": {"pair": (5, 900), "account": (20, 3600), "address": (100, 3600)},
    "reset": {"pair": (3, 3600), "account": (5, 3600), "address": (30, 3600)},
    "access_code": {"pair": (5, 900), "account": (10, 3600), "address": (100, 3600)},
    "share_password": {"pair": (5, 900), "account": (20, 3600), "address": (100, 3600)},
}
PARVIS_DIGEST_HOUR = envint("PARVIS_DIGEST_HOUR", 8)
PARVIS_MAIL_DOMAIN = env("PARVIS_MAIL_DOMAIN", "parvis.localhost")

# --- Documents (GED) ----------------------------------------------------------------------------
# Blobs on local disk (the embedded default) or in an S3-compatible bucket (PARVIS_S3_BUCKET).
PARVIS_BLOB_DIR = env("PARVIS_BLOB_DIR", str(VAR_DIR / "blobs"))
PARVIS_SPOOL_DIR = env("PARVIS_SPOOL_DIR", str(VAR_DIR / "spool"))  # S3 only: files before upload
PARVIS_S3 = {
    "bucket": env("PARVIS_S3_BUCKET"),
    "endpoint_url": env("PARVIS_S3_ENDPOINT_URL"),
    "region": env("PARVIS_S3_REGION"),
    "access_key": env("PARVIS_S3_ACCESS_KEY_ID"),
    "secret_key": env("PARVIS_S3_SECRET_ACCESS_KEY"),
}
# Behind nginx: downloads leave Python through X-Accel-Redirect to this internal location,
# which must alias PARVIS_BLOB_DIR (see docs/deploy.md). Empty: Parvis streams them itself.
PARVIS_ACCEL_REDIRECT = env("PARVIS_ACCEL_REDIRECT")
PARVIS_MAX_FILE_BYTES = envint("PARVIS_MAX_FILE_BYTES", 20 * 1024**3)
# The ClamAV daemon (a socket path or host:port). Empty: no antivirus.
PARVIS_CLAMAV = env("PARVIS_CLAMAV")
# Files sent in one form post are spooled to disk beyond this size (chunked uploads are not).
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = 1000

# --- WebDAV -------------------------------------------------------------------------------------
# /dav/ (parvis/documents/webdav): threads running wsgidav per process, the block size PUT bodies
# are read in, and how long a verified app password is remembered in a process (a revoked one
# is refused at once all the same: one query per request checks it still exists).
PARVIS_DAV_WORKERS = envint("PARVIS_DAV_WORKERS", 16)
PARVIS_DAV_BLOCK_BYTES = envint("PARVIS_DAV_BLOCK_BYTES", 1024 * 1024)
PARVIS_DAV_AUTH_CACHE_SECONDS = envint("PARVIS_DAV_AUTH_CACHE_SECONDS", 600)
PARVIS_DAV_AUTH_CACHE_SIZE = 10_000
LOGGING["loggers"]["wsgidav"] = {"level": "WARNING"}
