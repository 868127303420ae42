"""Settings for the test suite: the real settings, with fast hashing and visible e-mail.

End-to-end tests do not use this module: they start the real server (parvis.settings) as a
subprocess against the test database.
"""

import os

os.environ.setdefault("PARVIS_LOG_FILE", "")

from parvis.settings import *  # noqa: F403
from parvis.settings import LOGGING, VAR_DIR

TESTING = True
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CHANNEL_LAYERS = {"default": {"BACKEND": "parvis.core.layers.InMemoryLayer"}}

# Every log line of the suite goes to a file per worker, grepped for secrets at the end.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
_logs = VAR_DIR / "test-logs"
_logs.mkdir(parents=True, exist_ok=True)
LOGGING["handlers"]["file"] = {
    "class": "logging.FileHandler",
    "filename": str(_logs / f"pytest-{_worker}.log"),
    "filters": ["redact"],
    "formatter": "plain",
}
LOGGING["root"]["handlers"] = ["file"]
LOGGING["root"]["level"] = "DEBUG"
LOGGING["loggers"]["django.db.backends"] = {"level": "INFO"}
LOGGING["loggers"]["django.template"] = {"level": "INFO"}
LOGGING["loggers"]["asyncio"] = {"level": "INFO"}
LOGGING["loggers"]["faker"] = {"level": "INFO"}
