"""Settings, all read from the environment (see README.md for the variables)."""

from __future__ import annotations

import json
import os
import sys
from datetime import date, timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from exc


def env_date(name: str, default: str) -> date:
    value = env_str(name, default) or default
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a date like 2022-06-01, not {value!r}") from exc


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        # A production server with a guessable key would let anyone forge sessions and
        # signed provider links: refuse to start rather than run like that.
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Set it to a long random string, or set "
            "DJANGO_DEBUG=true for local development."
        )
    SECRET_KEY = "insecure-development-key-only-used-with-DJANGO_DEBUG"  # noqa: S105

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "csp",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "phonenumber_field",
    "heart_cases.apps.HeartCasesConfig",
    "navigation.apps.NavigationConfig",
    "referrals.apps.ReferralsConfig",
    "calls.apps.CallsConfig",
    # Reporting reads every app's tables; nothing imports it.
    "metrics.apps.MetricsConfig",
    # The demo city (`manage.py seed_demo`); nothing imports it.
    "demo.apps.DemoConfig",
]

MIDDLEWARE = [
    "heart_cases.middleware.RequestIdMiddleware",
    # Before anything validates the Host or redirects to HTTPS (see the class).
    "heart_cases.middleware.HealthCheckMiddleware",
    "heart_cases.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in person's own language choice, over the browser's (heart_cases/language.py).
    "heart_cases.language.AccountLanguageMiddleware",
    # A POST after the session ended: login's next is the form's page (heart_cases/expired.py).
    "heart_cases.expired.ExpiredFormMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "heart_cases.middleware.DatabaseUnavailableMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a lockout into its own response.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "heart_cases.urls"
WSGI_APPLICATION = "heart_cases.wsgi.application"

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
                "django.template.context_processors.i18n",
                "navigation.context_processors.unread_notifications",
            ],
        },
    },
]

# The embedded default is SQLite in var/; DATABASE_URL switches to PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'var' / 'heart.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share one SQLite file under `make run`: wait for the lock instead
    # of failing, and take the write lock at BEGIN so that two writers never deadlock.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 5
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Short OLTP statements: compiling a plan with JIT (when a stale estimate crosses
        # jit_above_cost) cost 0.6 s per sweep batch in the benchmarks and saves nothing here.
        DATABASES["default"]["OPTIONS"].setdefault("options", "-c jit=off")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Our named date formats (heart_cases/formats/<language>/formats.py): day before month in
# Spanish, the weekday first in both.
FORMAT_MODULE_PATH = ["heart_cases.formats"]
# The header's language menu sets this cookie (and, for a logged-in person, their account).
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = env_str("HEART_TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
STATICFILES_DIRS = [BASE_DIR / "heart_cases" / "static"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Requests: API.md caps a body at 1 MiB (413 above it).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024
HEART_MAX_BODY_BYTES = DATA_UPLOAD_MAX_MEMORY_SIZE

REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/0")

# Celery: the database is the source of truth; a message is only a nudge to do work that a
# periodic sweep would otherwise find. So: JSON only, acknowledge after the work is done,
# redeliver if the worker dies, take one message at a time, and bound every task.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Celery's Django fixup closes the database connections around every task unless this many
# tasks have not yet run; heart_cases.celery closes them as Django does for a request instead
# (CONN_MAX_AGE, health checks), so the fixup's count is set beyond reach.
CELERY_DB_REUSE_MAX = 1_000_000_000
CELERY_BROKER_TRANSPORT_OPTIONS = {
    # Longer than any task's time limit, so a slow task is not handed to a second worker.
    "visibility_timeout": 3600,
    # Publishing happens after a commit, inside a web request: when Redis is down the request
    # must not hang. The sweep picks up whatever was not queued.
    "socket_connect_timeout": 1,
    "socket_timeout": 2,
}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BEAT_SCHEDULE_FILENAME = str(BASE_DIR / "var" / "celerybeat-schedule")
# Sweeps find due work in the database every minute (DESIGN.md: never long countdowns).
CELERY_BEAT_SCHEDULE = {
    "sweep-follow-ups": {"task": "navigation.sweep_follow_ups", "schedule": 60.0},
    "sweep-referrals": {"task": "referrals.sweep_referrals", "schedule": 60.0},
    # Folds the changes noted since the last read into the metrics facts, so that a dashboard
    # read after a quiet hour does not pay for the hour's intake.
    "metrics-refresh": {"task": "metrics.refresh_facts", "schedule": 60.0},
    # Yesterday's break-the-glass reads, to the supervisors, once a day (in TIME_ZONE).
    "notify-break-glass-reads": {
        "task": "navigation.notify_break_glass_reads",
        "schedule": crontab(hour=6, minute=0),
    },
    # De-identifies the neighbors past the retention period, at night (heart_cases.retention).
    "retention-sweep": {
        "task": "heart_cases.retention_sweep",
        "schedule": crontab(hour=3, minute=30),
    },
}
# Whether a metrics read folds waiting changes in first (live numbers on one database). Off
# where reports read a replica: the beat task above keeps the facts current there.
HEART_METRICS_REFRESH_ON_READ = env_bool("HEART_METRICS_REFRESH_ON_READ", True)
# The programs whose answered calls no police officer went to: the calls "diverted from police"
# (METRICS.md). Co-Response (COR) sends a crisis-trained officer with the clinician.
HEART_DIVERTED_PROGRAMS = env_list("HEART_DIVERTED_PROGRAMS", "CCD,CRT")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where links in emails point (the web UI's public address).
HEART_BASE_URL = env_str("HEART_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "heart-navigation@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Knox's, then the account's language when the call names none (heart_cases/language.py).
        "heart_cases.language.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["heart_cases.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "heart_cases.api_common.Pagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "heart_cases.api_common.exception_handler",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_CLASSES": ["heart_cases.throttling.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": env_str("HEART_API_RATE", "1200/min")},
}

SPECTACULAR_SETTINGS = {
    "TITLE": "HEART Care Navigation API",
    "DESCRIPTION": "Field responses, neighbor cases, follow-ups and referrals. See API.md.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # Swagger UI from the app itself, never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "CaseStatusEnum": "heart_cases.models.Case.Status",
        "CaseOutcomeEnum": "heart_cases.models.Case.Outcome",
        "NeedEnum": "heart_cases.models.Need",
        "TaskKindEnum": "navigation.models.FollowUpTask.Kind",
        "TaskStatusEnum": "navigation.models.FollowUpTask.Status",
        "AttemptMethodEnum": "navigation.models.ContactAttempt.Method",
        "AttemptOutcomeEnum": "navigation.models.ContactAttempt.Outcome",
        "ReferralStatusEnum": "referrals.models.Referral.Status",
        "ReferralBusinessStatusEnum": "referrals.models.Referral.BusinessStatus",
        "ReasonCodeEnum": "referrals.models.ReasonCode",
        "ConsentMethodEnum": "referrals.models.Consent.Method",
        "EligibleCallOutcomeEnum": "calls.models.Outcome",
        "EligibleCallSourceEnum": "calls.models.CallSource",
        # The field responses' name before eligible calls had a source too.
        "SourceEnum": "heart_cases.models.FieldResponseSource",
    },
}

# API tokens (knox): hashed at rest and expiring. A person's token lasts HEART_TOKEN_TTL_HOURS;
# a service account (the CAD integration) gets HEART_SERVICE_TOKEN_TTL_DAYS.
HEART_TOKEN_TTL = timedelta(hours=env_int("HEART_TOKEN_TTL_HOURS", 10))
HEART_SERVICE_TOKEN_TTL = timedelta(days=env_int("HEART_SERVICE_TOKEN_TTL_DAYS", 365))
REST_KNOX = {
    "TOKEN_TTL": HEART_TOKEN_TTL,
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": False,
}

# Times of things that happened (API.md): none before the programs began, none further ahead of
# the server's clock than a device's clock may drift.
HEART_EARLIEST_RECORD = env_date("HEART_EARLIEST_RECORD", "2022-06-01")
HEART_CLOCK_SKEW_MINUTES = env_int("HEART_CLOCK_SKEW_MINUTES", 5)
# The retention rule (heart_cases.retention): a neighbor with nothing open and no activity for
# this many days (seven years) is de-identified by the daily sweep, this many records a batch.
HEART_RETENTION_DAYS = env_int("HEART_RETENTION_DAYS", 2557)
HEART_RETENTION_BATCH = env_int("HEART_RETENTION_BATCH", 500)
# After each batch the sweep rests this many times as long as the batch took (1.0: it works
# half the time), so that a sweep running in the day leaves the task list its speed.
HEART_RETENTION_PAUSE = env_float("HEART_RETENTION_PAUSE", 1.0)

# The care-navigation follow-up clock (DESIGN.md): encounter time plus this many hours.
HEART_FOLLOW_UP_HOURS = env_int("HEART_FOLLOW_UP_HOURS", 48)
# Holidays for business days and service hours (the `holidays` package's codes).
HEART_HOLIDAY_COUNTRY = env_str("HEART_HOLIDAY_COUNTRY", "US")
HEART_HOLIDAY_SUBDIV = env_str("HEART_HOLIDAY_SUBDIV", "NC")
# Contact attempts: retry a call this many service hours later; after this many failed calls
# (or a wrong number) visit in person within HEART_VISIT_WITHIN_HOURS service hours; after
# this many failed visits close the case as unable to reach.
HEART_RETRY_AFTER_SERVICE_HOURS = env_int("HEART_RETRY_AFTER_SERVICE_HOURS", 4)
HEART_MAX_CALL_ATTEMPTS = env_int("HEART_MAX_CALL_ATTEMPTS", 3)
HEART_VISIT_WITHIN_HOURS = env_int("HEART_VISIT_WITHIN_HOURS", 10)
HEART_MAX_VISIT_ATTEMPTS = env_int("HEART_MAX_VISIT_ATTEMPTS", 2)
# How many follow-on sweep runs a full batch queues (about the number of workers).
HEART_SWEEP_FANOUT = env_int("HEART_SWEEP_FANOUT", 2)
# Benchmark-only endpoints (a bare-row baseline for `make bench`); never on in production.
HEART_BENCH_ENDPOINTS = env_bool("HEART_BENCH_ENDPOINTS", False)
# Service areas (calls.areas): each program's area as a GeoJSON file of polygons in longitude and
# latitude (a relative path is from the project's directory). HEART_SERVICE_AREAS is a JSON
# mapping, {"CRT": "/etc/heart/crt-area.geojson"}, or {} for no areas (every call's
# in_service_area is then null). The default gives every program the demo city's pilot area
# (central and east Durham), which a real deployment replaces.
_service_areas = env_str("HEART_SERVICE_AREAS")
try:
    HEART_SERVICE_AREAS = (
        json.loads(_service_areas)
        if _service_areas
        else dict.fromkeys(("CCD", "CRT", "COR"), "demo/service_areas/durham_pilot.geojson")
    )
except ValueError as exc:
    raise ImproperlyConfigured(
        f'HEART_SERVICE_AREAS must be JSON like {{"CRT": "area.geojson"}}, not {_service_areas!r}'
    ) from exc
PHONENUMBER_DEFAULT_REGION = env_str("HEART_PHONE_REGION", "US")
PHONENUMBER_DB_FORMAT = "E164"

SIMPLE_HISTORY_HISTORY_CHANGE_REASON_USE_TEXT_FIELD = True

# Staff sessions end after 30 minutes without a request (a laptop left open in a van).
SESSION_COOKIE_AGE = env_int("HEART_SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
LANGUAGE_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG)
# Production redirects plain HTTP to HTTPS unless told otherwise (DJANGO_SECURE_SSL_REDIRECT=false
# where the proxy redirects, or for a plain-HTTP test server). Behind a proxy that terminates TLS,
# HEART_TRUSTED_PROXY_COUNT lets the app see that the request came in over HTTPS.
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", not DEBUG)
# A health check on loopback speaks plain HTTP and does not follow redirects.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", not DEBUG)
HEART_TRUSTED_PROXY_COUNT = env_int("HEART_TRUSTED_PROXY_COUNT", 0)
if HEART_TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy: everything from this app, no inline script, no one frames us.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Five failed logins for one username from one client address lock that username out from that
# address for 30 minutes (django-axes). By username and address together: five mistyped
# usernames behind an office NAT or a van's hotspot must not lock out everyone there.
AXES_FAILURE_LIMIT = env_int("HEART_LOGIN_FAILURE_LIMIT", 5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = timedelta(minutes=env_int("HEART_LOGIN_LOCKOUT_MINUTES", 30))
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_CLIENT_IP_CALLABLE = "heart_cases.middleware.client_address"
AXES_LOCKOUT_TEMPLATE = "heart_cases/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
# The lockout page, with Retry-After: the seconds until the cool-off ends.
AXES_LOCKOUT_CALLABLE = "heart_cases.lockout.login_locked_out"

TESTING = "pytest" in sys.modules

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("HEART_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
