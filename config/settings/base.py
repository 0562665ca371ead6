"""Settings shared by every environment; the environment picks the database, cache and job queue."""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from config.env import env_bool, env_float, env_int, env_json, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SRC_DIR = BASE_DIR / "src" / "fangkong"

# No usable key here: dev.py and test.py set their own fixed keys, prod.py requires
# FANGKONG_SECRET_KEY. A key that is public signs tokens that anyone can forge.
SECRET_KEY = ""
DEV_SECRET_KEY = "fangkong-development-key-public-in-the-repository-never-deploy-it"
DEBUG = False
ALLOWED_HOSTS = env_list("FANGKONG_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
# Origins (scheme://host[:port]) that may POST forms when the site is reached through a proxy
# whose host is not the one Django sees.
CSRF_TRUSTED_ORIGINS = env_list("FANGKONG_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "fangkong.common",
    "fangkong.geo",
    "fangkong.accounts",
    "fangkong.audit",
    "fangkong.people",
    "fangkong.testing",
    "fangkong.tracing",
    "fangkong.control",
    "fangkong.care",
    "fangkong.checkpoints",
    "fangkong.screening",
    "fangkong.command",
    "fangkong.supplies",
    "fangkong.places",
    "fangkong.analytics",
    "fangkong.workday",
    "fangkong.resumption",
    "fangkong.vaccination",
    "fangkong.drills",
    "fangkong.voluntary",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files served by the application process itself (`fangkong serve` needs no other
    # web server for /static/), compressed and with far-future caching for hashed names.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before sessions and the login: a page's every ORM read may go to the replica.
    "fangkong.common.replica.ReplicaMiddleware",
    # The public venue-code scan (500 a second at peak) skips the rest of the stack, which is a
    # no-op for it, and runs only the few layers it needs (fangkong.places.fastpath).
    "fangkong.places.fastpath.ScanFastPath",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fangkong.common.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A drill participant's request runs on the drill's sandbox (fangkong.drills.routing).
    "fangkong.drills.middleware.DrillMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "fangkong.audit.middleware.RequestContextMiddleware",
    "fangkong.common.middleware.DomainErrorMiddleware",
    "fangkong.common.middleware.NulByteMiddleware",
    "fangkong.workday.middleware.WorkdayMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [SRC_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangkong.common.context.navigation",
                "fangkong.drills.context.drill",
            ],
        },
    }
]

# One variable chooses the database, so every command (demo, tests, CLI) honours it.
DATABASE_URL = env_str("FANGKONG_DATABASE_URL", "sqlite:///fangkong.sqlite3")
# The owner's connection to the same database (see docs/architecture.md, "Database roles"):
# `fangkong migrate` uses its user and password, the application never does.
MIGRATE_DATABASE_URL = env_str("FANGKONG_MIGRATE_DATABASE_URL", "")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A streaming replica of the same database for the screens' reads (fangkong.common.replica;
# docs/architecture.md, "A province of 50 million"). Tests mirror the primary: no second test db.
REPLICA_DATABASE_URL = env_str("FANGKONG_REPLICA_DATABASE_URL", "")
if REPLICA_DATABASE_URL:
    DATABASES["replica"] = dj_database_url.parse(REPLICA_DATABASE_URL, conn_max_age=60)
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
# How long a client that wrote reads the primary (read-your-writes while the replica lags).
REPLICA_STICKY_SECONDS = env_int("FANGKONG_REPLICA_STICKY_SECONDS", 10)
# Drills: a participant's queries go to the drill's sandbox (docs/architecture.md, "Drills").
# The replica router comes after it: a sandbox, once chosen, wins.
DATABASE_ROUTERS = ["fangkong.drills.routing.DrillRouter", "fangkong.common.replica.ReplicaRouter"]

REDIS_URL = env_str("FANGKONG_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Counters every worker process must see alike (the login throttle): Redis when configured,
# otherwise a table in the database, created by every migrate (accounts.signals). A store
# that does not answer within the timeouts counts as down, and logins are refused (503).
if REDIS_URL:
    CACHES["shared"] = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
else:
    CACHES["shared"] = {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "fangkong_shared_cache",
        # Culling would drop live counters: a spray of made-up usernames must not reset them.
        "OPTIONS": {"MAX_ENTRIES": 1_000_000},
    }

# Background jobs (fangkong.common.jobs, RQ on REDIS_URL). The database row of a job is its truth:
# a worker holds a job by a lease it renews every LEASE/3 seconds; a job whose lease ran out is
# queued again (up to JOB_MAX_ATTEMPTS runs) or failed. Every worker reaps every JOB_REAP_SECONDS.
JOB_QUEUE = env_str("FANGKONG_JOB_QUEUE", "fangkong")
JOB_LEASE_SECONDS = env_int("FANGKONG_JOB_LEASE_SECONDS", 60)
JOB_REAP_SECONDS = env_int("FANGKONG_JOB_REAP_SECONDS", 30)
JOB_MAX_ATTEMPTS = env_int("FANGKONG_JOB_MAX_ATTEMPTS", 3)
# A run longer than this is stopped by RQ and the job failed (a 300k-row file takes minutes).
JOB_TIMEOUT_SECONDS = env_int("FANGKONG_JOB_TIMEOUT_SECONDS", 3600)
# Uploads above this are refused with 413 "too_large" before anything is read or stored.
# Voluntary testing: who delivers the results lookup's one-time codes, a callable(phone, message).
SMS_SENDER = env_str("FANGKONG_SMS_SENDER", "fangkong.voluntary.sms.log_sender")
MAX_UPLOAD_MB = env_int("FANGKONG_MAX_UPLOAD_MB", 50)
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
# Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) stays: it bounds the non-file part of a body only,
# and files above FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) stream to a temporary file, never into a
# web process's memory. The proxy in front (client_max_body_size) should refuse bigger bodies too.

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [SRC_DIR / "locale"]
FORMAT_MODULE_PATH = ["fangkong.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("FANGKONG_STATIC_ROOT", str(BASE_DIR / "var" / "static")))
STATICFILES_DIRS = [SRC_DIR / "static"]
MEDIA_ROOT = Path(env_str("FANGKONG_MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
# Uploaded files are never served by URL: each kind has a download view that checks scope.
MEDIA_URL = "/media-not-served/"

# Content Security Policy (django-csp): scripts only from this site or carrying the request's
# nonce; no eval, no inline handlers (pages use static/fangkong/app.js). Styles may be inline:
# htmx's indicator styles, Plotly's injected styles and a few style attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "fangkong.accounts.authentication.RememberingTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "fangkong.common.schema.AutoSchema",
    "EXCEPTION_HANDLER": "fangkong.common.exception_handlers.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fangkong API",
    "DESCRIPTION": _("Epidemic prevention and control command platform"),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema as the API answers (fangkong.common.schema): bare lists, nulls, error bodies;
    # a many=True refusal (lab results' 409) is a list too.
    "ENABLE_LIST_MECHANICS_ON_NON_2XX": True,
    # Two models call their choice field "kind"; name the two enums in the schema explicitly.
    "ENUM_NAME_OVERRIDES": {
        "TestOrderReasonEnum": "fangkong.testing.models.TestOrder.Reason",
        "SiteKindEnum": "fangkong.testing.models.Site.Kind",
        "TubeKindEnum": "fangkong.testing.models.Tube.Kind",
        "TaskStateEnum": "fangkong.command.models.Task.State",
        "InspectionStateEnum": "fangkong.command.models.Inspection.State",
        "FindingStateEnum": "fangkong.command.models.Finding.State",
        "ProposalStateEnum": "fangkong.command.models.Proposal.State",
        "RiskLevelEnum": "fangkong.command.models.RiskLevel",
        "ResponseLevelEnum": "fangkong.command.models.ResponseLevel.Level",
        "UnitKindEnum": "fangkong.command.models.Unit.Kind",
        "TaskUpdateKindEnum": "fangkong.command.models.TaskUpdate.Kind",
        "AnswerResultEnum": "fangkong.command.models.Answer.Result",
        "ResultEnum": "fangkong.testing.models.Result",
        "TaskPriorityEnum": "fangkong.command.models.Priority",
        "SupplyRequestPriorityEnum": "fangkong.supplies.models.SupplyRequest.Priority",
        "ImportJobStatusEnum": "fangkong.common.models.ImportJob.Status",
        "ImportJobModeEnum": "fangkong.common.models.ImportJob.Mode",
        "OrderCategoryEnum": "fangkong.control.models.Category",
        "VoluntaryBookingStatusEnum": "fangkong.voluntary.models.Booking.Status",
    },
}

# --- imports
# Rejected rows an import job keeps (with their errors) for its report and download; the count
# of rejected rows is always exact. 5 million bad rows once stored 141 MB in one job.
FANGKONG_IMPORT_MAX_STORED_ERRORS = env_int("FANGKONG_IMPORT_MAX_STORED_ERRORS", 1000)
# The niceness (0-19) a bulk import (CLI, job worker) runs at, and its PostgreSQL backend when the
# database is on this host and the OS lets us: the desks' requests come first and an import still
# gets the whole machine when they are idle (common/priority.py). 0: imports at normal priority.
FANGKONG_IMPORT_NICE = env_int("FANGKONG_IMPORT_NICE", 10)
if not 0 <= FANGKONG_IMPORT_NICE <= 19:
    raise ImproperlyConfigured(
        f"FANGKONG_IMPORT_NICE must be from 0 to 19, not {FANGKONG_IMPORT_NICE}."
    )

# Failed logins allowed per username, and per client address, before a pause of
# window_seconds after the last failure. A success forgives that account's failures, from that
# address too, so one user's typos never lock out the others behind the same address.
LOGIN_THROTTLE = {"attempts": 10, "address_attempts": 50, "window_seconds": 300}


def _hours(name: str, default: float) -> timedelta:
    hours = env_float(name, default)
    if not 0 < hours < 1e6:
        raise ImproperlyConfigured(f"{name} must be a positive number of hours, not {hours!r}")
    return timedelta(hours=hours)


# An API token lives this long after the login that last issued it.
API_TOKEN_TTL = _hours("FANGKONG_TOKEN_TTL_HOURS", 12.0)

# Whether /api/schema/ and /api/docs/ are served without a login (production: not by default).
PUBLIC_SCHEMA = env_bool("FANGKONG_PUBLIC_SCHEMA", True)

# --- Fangkong's own knobs (README, "Configuration"): read here and nowhere else. ---------------
# Folder of the big data (presence, scans, manifests) that new cases are co-located against;
# empty: var/media/colocation/configured.
FANGKONG_COLOCATION_DATA = env_str("FANGKONG_COLOCATION_DATA", "")
# Venue codes: the public address their QR codes hold (else the host of the request).
FANGKONG_PUBLIC_URL = env_str("FANGKONG_PUBLIC_URL", "")
# Venue scans per client address and per number a minute ({"address_per_minute": 600, "number_per_minute": 6}).
FANGKONG_SCAN_THROTTLE = env_json("FANGKONG_SCAN_THROTTLE", {})
# A person dispatched by closed-loop transfer and not checked in after this long raises an alert.
FANGKONG_TRANSFER_LIMIT_HOURS = env_float("FANGKONG_TRANSFER_LIMIT_HOURS", 3.0)
# An open task past its due time by this long is escalated to the level above.
FANGKONG_TASK_ESCALATION_HOURS = env_float("FANGKONG_TASK_ESCALATION_HOURS", 24.0)
# The daily-report levels, top first, and the hours after day D ends when each level is due.
FANGKONG_REPORT_LEVELS = env_list("FANGKONG_REPORT_LEVELS", ["city", "district", "street"])
FANGKONG_REPORT_DUE_HOURS = env_json(
    "FANGKONG_REPORT_DUE_HOURS", {"street": 8, "district": 9, "city": 10}
)
# Dotted paths of extra daily-report figure providers (after the shipped ones).
FANGKONG_FIGURE_PROVIDERS = env_list("FANGKONG_FIGURE_PROVIDERS", [])
# Print published bulletins to PDF with chromium (when it and a CJK font are present).
FANGKONG_BULLETIN_PDF = env_bool("FANGKONG_BULLETIN_PDF", True)
# Sample turnaround thresholds for rounds that set none of their own.
FANGKONG_TESTING_TURNAROUND = {
    "warning_hours": env_int("FANGKONG_TESTING_WARNING_HOURS", 6),
    "breach_hours": env_int("FANGKONG_TESTING_BREACH_HOURS", 12),
}
# A supply item with fewer days of cover than this is short.
FANGKONG_SUPPLY_SHORTAGE_DAYS = env_float("FANGKONG_SUPPLY_SHORTAGE_DAYS", 3.0)
# Overrides of the situation model's parameters (analytics.situation.DEFAULTS), as JSON.
FANGKONG_SITUATION = env_json("FANGKONG_SITUATION", {})
# Folder of the drills' SQLite sandboxes; empty: var/media/drills.
FANGKONG_DRILL_DIR = env_str("FANGKONG_DRILL_DIR", "")
# How long the HQ dashboard reuses a node's figures (its refresh period; 0 turns caching off).
FANGKONG_DASHBOARD_CACHE_SECONDS = env_int("FANGKONG_DASHBOARD_CACHE_SECONDS", 60)
# Key places: the duty and closure preset (places/policy.py PRESETS); empty: the Jun 2022 one.
FANGKONG_PLACES_POLICY = env_str("FANGKONG_PLACES_POLICY", "")
# Voluntary testing's rate limits, JSON {"book": {"address": [n, seconds]}, …} over its defaults.
VOLUNTARY_LIMITS = env_json("FANGKONG_VOLUNTARY_LIMITS", {})
# Readiness targets the national plans leave to the city (resumption/readiness.py).
FANGKONG_READINESS_CABIN_BEDS_PER_10K = env_float("FANGKONG_READINESS_CABIN_BEDS_PER_10K", 10.0)
FANGKONG_READINESS_DESIGNATED_BEDS_PER_10K = env_float(
    "FANGKONG_READINESS_DESIGNATED_BEDS_PER_10K", 2.0
)
FANGKONG_READINESS_COVER_DAYS = env_float("FANGKONG_READINESS_COVER_DAYS", 14.0)
FANGKONG_READINESS_TASK_HOURS = env_int("FANGKONG_READINESS_TASK_HOURS", 48)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
