"""Settings shared by every environment; the environment picks the database, cache and job queue."""

import os
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
SRC_DIR = BASE_DIR / "src" / "fangkong"

SECRET_KEY = os.environ.get("FANGKONG_SECRET_KEY", "insecure-development-key-change-me")
DEBUG = False
ALLOWED_HOSTS = os.environ.get("FANGKONG_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")

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
    "fangkong.command",
    "fangkong.supplies",
    "fangkong.analytics",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fangkong.common.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "fangkong.audit.middleware.RequestContextMiddleware",
    "fangkong.common.middleware.DomainErrorMiddleware",
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
            ],
        },
    }
]

# One variable chooses the database, so every command (demo, tests, CLI) honours it.
DATABASE_URL = os.environ.get("FANGKONG_DATABASE_URL", "sqlite:///fangkong.sqlite3")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("FANGKONG_REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [SRC_DIR / "locale"]
FORMAT_MODULE_PATH = ["fangkong.formats"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [SRC_DIR / "static"]
MEDIA_ROOT = BASE_DIR / "var" / "media"

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
    "DEFAULT_THROTTLE_RATES": {"login": "10/min"},
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
        "OrderCategoryEnum": "fangkong.control.models.Category",
    },
}

# Failed logins allowed per username and per client address before a pause.
LOGIN_THROTTLE = {"attempts": 10, "window_seconds": 300}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
