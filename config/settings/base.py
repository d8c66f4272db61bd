"""Settings shared by every environment.

One ``environ.Env()`` reads the environment. With nothing set, Bookbridge runs on SQLite and an
embedded (filesystem) Celery broker so a newcomer needs nothing but Python; ``DATABASE_URL`` and
``REDIS_URL`` / ``CELERY_BROKER_URL`` switch to PostgreSQL and Redis.
"""

import contextlib
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False) if (BASE_DIR / ".env").exists() else None

VAR_DIR = Path(env("BOOKBRIDGE_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="dev-only-insecure-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "csp",  # django-csp: its system checks of the policy settings
    "apps.core",
    "apps.accounts",
    "apps.directory",
    "apps.intake",
    "apps.connectors",
    "apps.integrations.keap",
    "apps.integrations.salesforce",
    "apps.integrations.hubspot",
    "apps.sync",
    "apps.console",
    "apps.demo",
    "axes",  # sign-in throttling; after the apps so their templates win
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # the Content-Security-Policy header, see below
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.core.middleware.QueryStringGuard",  # NUL in a query string: refused, not a 500
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into its page
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "apps.accounts.context_processors.memberships",
            ],
        },
    }
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several processes (web, worker) share the file in the embedded setup: wait for locks.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out sign-in before any password is checked. Code that
# calls ``authenticate()`` must pass the request (the test client: ``force_login``, or
# ``client.login(request=HttpRequest(), ...)``).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "accounts:home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env("DJANGO_DEFAULT_FROM_EMAIL", default="Bookbridge <bookbridge@localhost>")

# --- Sign-in throttling (django-axes), portal and admin login alike -------------------------
# A username is locked from one IP address after this many failed sign-ins in a row, for this
# long; other users and other addresses are not affected. An operator unlocks earlier in Django
# admin ("Failed sign-in counts (lockouts)") or with ``manage.py axes_reset_username <username>``.
AXES_ENABLED = True
# Its pages are registered on proxies with readable names (apps/accounts/admin.py).
AXES_ENABLE_ADMIN = False
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True  # a good sign-in forgets earlier typos
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.lockout_response"
AXES_HTTP_RESPONSE_CODE = 429

# --- Secrets at rest -------------------------------------------------------------------------
# Comma-separated Fernet keys; the first encrypts, all decrypt (rotate by prepending a new key).
FIELD_ENCRYPTION_KEYS = env.list(
    "FIELD_ENCRYPTION_KEYS",
    # Development-only key so the embedded setup runs with no configuration; prod refuses it.
    default=["ZGV2LW9ubHktYm9va2JyaWRnZS1rZXktMDAwMDAwMDA="],
)

# --- Webhook intake --------------------------------------------------------------------------
WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", default=1024 * 1024)
WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = env.int("WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", default=300)
WEBHOOK_SECRET_ROTATION_GRACE_HOURS = env.int("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", default=24)
# Each web process keeps an account's webhook secrets this long (0: a query per delivery). A
# rotation is seen at once (a signature that fails is checked again against the database); a
# secret revoked elsewhere may still verify in another process for up to this long.
WEBHOOK_SECRET_CACHE_SECONDS = env.int("WEBHOOK_SECRET_CACHE_SECONDS", default=5)
# ... but that re-read after a failed signature happens at most once per account per this many
# seconds, so a flood of bad signatures costs no query and no decryption beyond that (a delivery
# signed with a secret rotated in another process may be refused for up to this long; OnceHub
# retries).
WEBHOOK_SECRET_REFRESH_SECONDS = env.int("WEBHOOK_SECRET_REFRESH_SECONDS", default=1)
# A web process remembers for this long that a slug has no account (public endpoints answer it
# like a bad signature, at no further query), and which account a slug names.
ACCOUNT_SLUG_CACHE_SECONDS = env.int("ACCOUNT_SLUG_CACHE_SECONDS", default=60)
# An accepted event whose hand-off to Celery was lost is re-queued after this many seconds.
INTAKE_REQUEUE_AFTER_SECONDS = env.int("INTAKE_REQUEUE_AFTER_SECONDS", default=60)
# ... and after twice as long for each further hand-off (an event that keeps failing), up to this.
INTAKE_REQUEUE_MAX_BACKOFF_SECONDS = env.int("INTAKE_REQUEUE_MAX_BACKOFF_SECONDS", default=3600)
# An event whose processing fails this many times (a bug, a payload a rule does not handle) is
# quarantined: shown in the console and /healthz, not retried until an operator replays it.
INTAKE_MAX_PROCESSING_ATTEMPTS = env.int("INTAKE_MAX_PROCESSING_ATTEMPTS", default=5)
# The wait before the first retry of a failed processing attempt; doubled for each further one.
INTAKE_PROCESSING_RETRY_SECONDS = env.float("INTAKE_PROCESSING_RETRY_SECONDS", default=2.0)
# Reconcile with OnceHub's bookings API (apps/intake/backfill.py, SPEC §15): every hour, the
# bookings of the last this many hours of every account with a stored OnceHub API key are read
# and the webhooks the portal missed are fed through the intake. 0 = off (the default).
ONCEHUB_RECONCILE_HOURS = env.int("ONCEHUB_RECONCILE_HOURS", default=0)
# The site's public address (apps/core/public_urls.py). Set explicitly, it is used for every URL
# Bookbridge shows or sends (webhook URL, OAuth redirect URIs, emails). Unset, pages build their
# URLs from the request (its Host is checked against ALLOWED_HOSTS) and only emails, alerts and
# management commands use this default.
PUBLIC_BASE_URL_IS_SET = bool(env.str("BOOKBRIDGE_PUBLIC_BASE_URL", default=""))
PUBLIC_BASE_URL = env.str("BOOKBRIDGE_PUBLIC_BASE_URL", default="") or "http://localhost:8000"

# --- Outbound requests (apps/core/outbound.py) ------------------------------------------------
# Development only: CRM URLs may be plain http:// to loopback (the local CRM sandboxes).
# Production refuses to start with it on.
ALLOW_INSECURE_CRM_URLS = env.bool("ALLOW_INSECURE_CRM_URLS", default=DEBUG)
# Hosts an operator adds to a CRM's own host family (e.g. a regional or private-cloud API host),
# e.g. KEAP_EXTRA_ALLOWED_HOSTS="api.keap.example.net,*.keap.example.net".
OUTBOUND_EXTRA_ALLOWED_HOSTS = {
    "keap": env.list("KEAP_EXTRA_ALLOWED_HOSTS", default=[]),
    "salesforce": env.list("SALESFORCE_EXTRA_ALLOWED_HOSTS", default=[]),
    "hubspot": env.list("HUBSPOT_EXTRA_ALLOWED_HOSTS", default=[]),
    "oncehub": env.list("ONCEHUB_EXTRA_ALLOWED_HOSTS", default=[]),
}

# --- Keap defaults for new connectors (apps/integrations/keap/connection.py) -------------------
# The OAuth app's client id (public; its secret is entered in the wizard and stored encrypted),
# and Keap's hosts; each connector may point elsewhere (e.g. the sandbox).
KEAP_CLIENT_ID = env("KEAP_CLIENT_ID", default="")
KEAP_API_BASE = env("KEAP_API_BASE", default="https://api.infusionsoft.com/crm")
KEAP_TOKEN_URL = env("KEAP_TOKEN_URL", default="https://api.infusionsoft.com/token")
KEAP_AUTHORIZE_URL = env("KEAP_AUTHORIZE_URL",
                         default="https://accounts.infusionsoft.com/app/oauth/authorize")

# --- HubSpot defaults for new connectors (apps/integrations/hubspot/connection.py) ------------
# The public app's client id (its secret is entered on the connect page and stored encrypted),
# and HubSpot's hosts (../shared/reference/hubspot-api.md §2); a connector may point elsewhere.
HUBSPOT_CLIENT_ID = env("HUBSPOT_CLIENT_ID", default="")
HUBSPOT_API_BASE = env("HUBSPOT_API_BASE", default="https://api.hubapi.com")
HUBSPOT_AUTHORIZE_URL = env("HUBSPOT_AUTHORIZE_URL", default="https://app.hubspot.com/oauth/authorize")

# --- Content-Security-Policy (django-csp 4, ``csp.middleware.CSPMiddleware``) ------------------
# SPEC §13: every page carries a policy without inline script. The project's templates have no
# inline script, event handler or style (tests/security/test_csp.py scans them); a script that
# really must be inline carries ``nonce="{{ request.csp_nonce }}"`` (the NONCE below puts that
# request's nonce into script-src). Lists are comma-separated sources, quoted keywords included,
# e.g. CSP_IMG_SRC="'self',data:,https://images.example". The CRM connect views add their CRM's
# OAuth origins to form-action (apps/connectors/csp.py). object-src, base-uri and frame-ancestors
# are not tunable: nothing is embedded, no page needs <base>, and no page may be framed.
_csp_directives = {
    "default-src": env.list("CSP_DEFAULT_SRC", default=[SELF]),
    "script-src": [*env.list("CSP_SCRIPT_SRC", default=[SELF]), NONCE],
    "style-src": env.list("CSP_STYLE_SRC", default=[SELF]),
    "img-src": env.list("CSP_IMG_SRC", default=[SELF, "data:"]),  # data: Bootstrap's form icons
    "font-src": env.list("CSP_FONT_SRC", default=[SELF]),
    "connect-src": env.list("CSP_CONNECT_SRC", default=[SELF]),  # the dashboard's refresh
    "form-action": env.list("CSP_FORM_ACTION", default=[SELF]),
    "object-src": [NONE],
    "base-uri": [NONE],
    "frame-ancestors": [NONE],
    "report-uri": env.list("CSP_REPORT_URI", default=[]) or None,
}
# CSP_REPORT_ONLY=true sends the policy as Content-Security-Policy-Report-Only (browsers report
# violations, to CSP_REPORT_URI if set, and block nothing; frame-ancestors is then not applied,
# X-Frame-Options: DENY still is). The setting names avoid django-csp 3's CSP_* (check csp.E001).
_csp_report_only = env.bool("CSP_REPORT_ONLY", default=False)
CONTENT_SECURITY_POLICY = None if _csp_report_only else {"DIRECTIVES": _csp_directives}
CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _csp_directives} if _csp_report_only else None

# --- Cache -----------------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "apps.core.cache.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    # Shared by web and worker processes on one machine, with no server to run.
    CACHES = {"default": {"BACKEND": "apps.core.cache.FileCache",  # an atomic add: see there
                          "LOCATION": str(VAR_DIR / "cache")}}

# --- Celery ----------------------------------------------------------------------------------
# Sync jobs of each CRM on a queue of their own (``<prefix>.keap``, ``<prefix>.salesforce``) so that
# one slow or throttled CRM cannot hold the workers of the others; workers then consume e.g.
# ``-Q celery,sync.keap``. Off: every job runs inline in the task that processes its event.
SYNC_QUEUE_PER_CRM = env.bool("SYNC_QUEUE_PER_CRM", default=False)
SYNC_QUEUE_PREFIX = env("SYNC_QUEUE_PREFIX", default="sync")

# --- Sync engine tunables (apps/sync) ----------------------------------------------------------
# A running job's worker renews its lease on every CRM call; silent for this long, the job counts
# as abandoned (its worker died) and ``run_due_jobs`` resumes it.
SYNC_JOB_LEASE_SECONDS = env.float("SYNC_JOB_LEASE_SECONDS", default=90.0)
# The longest wait sent as a Celery countdown (capped further at a quarter of the broker's
# visibility timeout); longer waits are left to ``run_due_jobs``.
SYNC_MAX_COUNTDOWN_SECONDS = env.float("SYNC_MAX_COUNTDOWN_SECONDS", default=300.0)
# A pending job whose hand-off to Celery has not started it after this long is re-queued.
SYNC_DISPATCH_GRACE_SECONDS = env.int("SYNC_DISPATCH_GRACE_SECONDS", default=60)
# Circuit breaker per connector (apps/sync/circuit.py): this many consecutive transient failures
# open it for the pause; each failed probe doubles the pause, up to the maximum.
SYNC_CIRCUIT_THRESHOLD = env.int("SYNC_CIRCUIT_THRESHOLD", default=5)
SYNC_CIRCUIT_PAUSE = env.float("SYNC_CIRCUIT_PAUSE", default=15.0)
SYNC_CIRCUIT_MAX_PAUSE = env.float("SYNC_CIRCUIT_MAX_PAUSE", default=300.0)
# Rate limits (apps/sync/ratelimit.py): off only for benchmarks against a sandbox.
SYNC_RATE_LIMIT_ENABLED = env.bool("SYNC_RATE_LIMIT_ENABLED", default=True)
# Per CRM kind, limits replacing the published ones, in calls per window (second, minute, hour,
# day), e.g. SYNC_RATE_LIMITS='{"keap": {"minute": 240}}'; a connector's own settings win.
SYNC_RATE_LIMITS = env.json("SYNC_RATE_LIMITS", default={})
# A Redis of their own for the shared buckets and in-flight slots (default: REDIS_URL, else the
# Django cache).
SYNC_RATE_LIMIT_REDIS_URL = env("SYNC_RATE_LIMIT_REDIS_URL", default="")
# A call waits inline for a token or an in-flight slot at most this long; a longer wait defers
# the job (no attempt counted) instead of holding the worker.
SYNC_THROTTLE_MAX_INLINE_WAIT = env.float("SYNC_THROTTLE_MAX_INLINE_WAIT", default=10.0)

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://localhost/")
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": 3600}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        # A folder that cannot be made is the transport's to report (and wait for), not a crash
        # at start-up (apps/core/broker.py).
        with contextlib.suppress(OSError):
            (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        {
            "data_folder_in": str(_broker_dir / "queue"),
            "data_folder_out": str(_broker_dir / "queue"),
            "processed_folder": str(_broker_dir / "processed"),
            "control_folder": str(_broker_dir / "control"),
            "store_processed": False,
        }
    )
    # kombu's filesystem transport with its folder errors turned into connection errors, so a
    # worker waits (and retries, for ever) until a broken folder is usable again instead of
    # exiting; see apps/core/broker.py.
    CELERY_BROKER_TRANSPORT = "apps.core.broker:Transport"
    CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True  # a worker started before its broker waits for it
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the task thread's database connections after every task unless
# this is set; then only every this-many tasks. Connections otherwise follow CONN_MAX_AGE
# (config/celery_app.py), so a task does not pay for a new PostgreSQL backend.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=120)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=180)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_BEAT_SCHEDULE = {
    "requeue-stalled-events": {
        "task": "bookbridge.intake.requeue_stalled_events",
        "schedule": 30.0,
    },
    "run-due-sync-jobs": {
        "task": "bookbridge.sync.run_due_jobs",
        "schedule": 10.0,
    },
    "worker-heartbeat": {
        "task": "bookbridge.console.heartbeat",
        "schedule": 30.0,
    },
    "check-connector-alerts": {
        "task": "bookbridge.console.check_alerts",
        "schedule": 60.0,
    },
    "apply-data-retention": {
        "task": "bookbridge.console.apply_retention",
        "schedule": 3600.0,
    },
}
if ONCEHUB_RECONCILE_HOURS > 0:
    CELERY_BEAT_SCHEDULE["reconcile-oncehub-bookings"] = {
        "task": "bookbridge.intake.reconcile_oncehub",
        "schedule": 3600.0,
    }

# --- Operations console ----------------------------------------------------------------------
# Data retention in days (0 keeps forever). Rows of jobs a retry still needs (pending, running,
# retrying, failed, dead) and the event a booking's state points at are never removed.
RETENTION_CRM_CALL_BODY_DAYS = env.int("RETENTION_CRM_CALL_BODY_DAYS", default=30)
RETENTION_EVENT_DAYS = env.int("RETENTION_EVENT_DAYS", default=180)
# Alerts: a connector's failure rate over the window (finished jobs) opens an incident.
ALERT_FAILURE_RATE_THRESHOLD = env.float("ALERT_FAILURE_RATE_THRESHOLD", default=0.5)
ALERT_FAILURE_WINDOW_MINUTES = env.int("ALERT_FAILURE_WINDOW_MINUTES", default=30)
ALERT_MIN_JOBS = env.int("ALERT_MIN_JOBS", default=5)
# Worker heartbeat, written to the cache by a periodic task and read by /healthz.
WORKER_HEARTBEAT_CACHE_KEY = "bookbridge:worker-heartbeat"
WORKER_HEARTBEAT_MAX_AGE_SECONDS = env.int("WORKER_HEARTBEAT_MAX_AGE_SECONDS", default=120)
HEALTHZ_BROKER_TIMEOUT_SECONDS = env.float("HEALTHZ_BROKER_TIMEOUT_SECONDS", default=2.0)
# Admin changelists of big tables count at most this many rows ("10000+").
ADMIN_COUNT_LIMIT = env.int("ADMIN_COUNT_LIMIT", default=10_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
