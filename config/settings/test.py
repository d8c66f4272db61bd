"""Tests: fast hashing, mail kept in memory, the real database and broker from the environment.

``DATABASE_URL`` / ``REDIS_URL`` point at PostgreSQL and Redis in CI. Locally, with nothing set,
SQLite (a file, so a worker process can share it) and the filesystem broker are used.
"""

import contextlib
import os

from .base import *  # noqa: F403
from .base import DATABASES, VAR_DIR, env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# One test database per test run, so parallel runs on one machine never share (or drop) one.
# Child processes (workers, servers) are given the created database's name explicitly.
TEST_RUN_ID = _run_id = env("BOOKBRIDGE_TEST_RUN_ID", default=str(os.getpid()))
# Likewise one queue per run: parallel runs (and a demo) on one broker never take each other's work.
CELERY_TASK_DEFAULT_QUEUE = f"bookbridge-test-{_run_id}"
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so a worker process can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{_run_id}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_run_id}"}
# Set by .ci/run: a test that needs PostgreSQL/Redis/Chromium fails instead of skipping.
REQUIRE_SERVICES = env.bool("BOOKBRIDGE_REQUIRE_SERVICES", default=False)

# Keep the test broker's files apart from the demo's.
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    _test_broker = VAR_DIR / "test-broker"
    for _folder in ("queue", "processed", "control"):
        with contextlib.suppress(OSError):  # reported by the transport (apps/core/broker.py)
            (_test_broker / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {  # noqa: F405
        "data_folder_in": str(_test_broker / "queue"),
        "data_folder_out": str(_test_broker / "queue"),
        "processed_folder": str(_test_broker / "processed"),
        "control_folder": str(_test_broker / "control"),
        "store_processed": False,
    }
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
# The CRM sandboxes speak plain http on loopback; tests of the policy itself turn this off.
ALLOW_INSECURE_CRM_URLS = True

WHITENOISE_USE_FINDERS = True  # serve static files straight from the apps, no collectstatic
# Sign-in throttling stays on in tests: the suite logs in with force_login or through the login
# form (which passes the request django-axes needs).
AXES_ENABLED = True
