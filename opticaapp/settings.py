"""OpticaApp settings: one module, configured from the environment (see .env.example)."""

from pathlib import Path
from urllib.parse import unquote

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    # Real environment variables win over the file.
    env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core ------------------------------------------------------------------------------------

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY is required when DJANGO_DEBUG is off.")
    SECRET_KEY = "insecure-development-only-key"  # noqa: S105 - only ever used with DEBUG on
# Earlier keys, comma-separated, while a rotation settles: what they signed (sessions, password-reset
# links) is still accepted, and everything new is signed with SECRET_KEY.
SECRET_KEY_FALLBACKS = [key.strip() for key in env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[]) if key.strip()]

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
# The bridge (and a health check) reach gunicorn directly on the loopback by address.
ALLOWED_HOSTS += [host for host in ("127.0.0.1", "localhost") if host not in ALLOWED_HOSTS]
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "procrastinate.contrib.django",
    "apps.common",
    "apps.accounts",
    "apps.organizations",
    "apps.clinic_import",
    "apps.patients",
    "apps.appointments",
    "apps.notifications",
    "apps.whatsapp",
    "apps.inbox",
    "apps.dashboard",
    "apps.orders",
    "apps.recalls",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "opticaapp.middleware.RequestSizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "opticaapp.middleware.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.organizations.middleware.CurrentOrganizationMiddleware",
    "apps.common.middleware.UnstorableInputMiddleware",
    # Last, as django-axes asks, so that lockouts see the final request.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "opticaapp.urls"
WSGI_APPLICATION = "opticaapp.wsgi.application"

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
                "apps.organizations.context_processors.organization",
                "apps.inbox.context_processors.inbox",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/opticaapp")}
# The embedded server listens on a socket whose directory arrives percent-encoded in the URL.
DATABASES["default"]["HOST"] = unquote(DATABASES["default"]["HOST"])
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# The same backend with a health check that makes no round trip on an idle, healthy connection
# (opticaapp/postgresql/base.py): a restarted PostgreSQL is still noticed before a request's first query.
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "opticaapp.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The cache holds the API login throttle: a table, so that the limit is one for every gunicorn worker and
# machine (an in-process cache would give each worker its own). Created by the migrations (apps/common).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
        "OPTIONS": {"MAX_ENTRIES": 50_000},
    }
}

# --- Authentication --------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Repeated login failures for one account from one address are locked out for a while.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_USERNAME_FORM_FIELD = "username"
# Behind nginx every request comes from 127.0.0.1: the client's address is the one the trusted proxies forward
# (X-Forwarded-For). 1 with the nginx site of deploy/nginx; 0 (the socket's address) when nothing is in front.
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "apps.accounts.lockout.client_ip"
AXES_USERNAME_CALLABLE = "apps.accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "apps.accounts.lockout.axes_lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# --- Internationalization --------------------------------------------------------------------

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Bogota"
USE_I18N = True
USE_TZ = True

# --- Static files ----------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# UI assets come from npm packages installed by the setup, never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default="django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Uploaded and received files (MEDIA_ROOT/<organization id>/...). There is deliberately no
# MEDIA_URL: files are served only by views that check the login and the organization.
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# --- Email -----------------------------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="OpticaApp <no-reply@localhost>")
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- REST API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.organizations.api.authentication.OrganizationTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["apps.organizations.api.permissions.IsOrganizationMember"],
    "DEFAULT_PAGINATION_CLASS": "opticaapp.api.StandardPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_SCHEMA_CLASS": "opticaapp.schema.AutoSchema",
    # The API speaks JSON only (415 otherwise), as documented: forms would read booleans and empty
    # values by HTML's rules rather than the schema's.
    "DEFAULT_PARSER_CLASSES": ["opticaapp.parsers.JSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "opticaapp.api.exception_handler",
    "DEFAULT_FILTER_BACKENDS": [],
    "DEFAULT_THROTTLE_RATES": {"login": env.str("API_LOGIN_THROTTLE", default="10/min")},
    # The throttle counts per client address, read as django-axes reads it (TRUSTED_PROXY_COUNT).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT or None,
}
# Days an API token works; the next POST /api/auth/token/ after that gives a new key.
API_TOKEN_TTL_DAYS = env.int("API_TOKEN_TTL_DAYS", default=30)
SPECTACULAR_SETTINGS = {
    "TITLE": "OpticaApp API",
    "DESCRIPTION": "Patients, appointments and WhatsApp messages of one clinic (organization).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Security (production values come from the environment) ----------------------------------

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=False)
# The bridge posts its signed events to gunicorn on the loopback, never through nginx's TLS: a
# redirect would stop every event (linking, receipts, replies).
SECURE_REDIRECT_EXEMPT = [r"^whatsapp/events/$"]
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=5 * 1024 * 1024)
# Largest request body, uploaded files included (Django itself limits only the non-file part): a bigger one is
# answered 413 before it is read (opticaapp/middleware.py). nginx's client_max_body_size is the same 10 MB.
MAX_REQUEST_BYTES = env.int("DJANGO_MAX_REQUEST_BYTES", default=10 * 1024 * 1024)
# Largest patient spreadsheet (20,000 rows of CSV take about 2 MB).
PATIENT_IMPORT_MAX_BYTES = env.int("PATIENT_IMPORT_MAX_BYTES", default=8 * 1024 * 1024)

# Content-Security-Policy (django-csp): scripts only from this site or inline blocks carrying the request's
# nonce (`nonce="{{ request.csp_nonce }}"`); no inline event handlers (static/js/app.js replaces them).
# Styles allow inline attributes: Bootstrap's markup, htmx's indicator styles and progress bars use them.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Logging ---------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Every job's start and end at info level would bury the terminal under the periodic jobs' lines;
    # retries and failures still show (JOB_LOG_LEVEL=INFO shows every job).
    "filters": {"ordinary_retries": {"()": "opticaapp.logfilters.OrdinaryRetryFilter"},
                "quiet_jobs": {"()": "opticaapp.logfilters.QuietJobsFilter",
                               "level": env.str("JOB_LOG_LEVEL", default="WARNING")}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["ordinary_retries", "quiet_jobs"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "procrastinate.blueprints": {"level": "WARNING"},
                "procrastinate.periodic": {"level": "WARNING"}},
}


# --- Background jobs (procrastinate) ---------------------------------------------------------

# Jobs a worker runs at once. Sends mostly wait on the bridge, so a few in parallel multiply
# reminder throughput; each running job holds one database connection.
# A worker writes its heartbeat every 5 s; its jobs count as stalled (and run again) once it has
# been silent for WHATSAPP_STALLED_JOB_SECONDS, checked every 10 s: a killed worker's sends resume
# within 20-30 s.
PROCRASTINATE_WORKER_DEFAULTS = {"concurrency": env.int("WORKER_CONCURRENCY", default=4),
                                 "update_heartbeat_interval": 5.0, "stalled_worker_timeout": 20.0}
# `manage.py worker` waits this long for a lost database before it exits with 1.
WORKER_RECONNECT_SECONDS = env.float("WORKER_RECONNECT_SECONDS", default=120.0)

# --- WhatsApp bridge -------------------------------------------------------------------------

# WHATSAPP_SERVER_URL / WHATSAPP_SERVER_API_KEY are the names the Node/Baileys server's
# deployments used: still read, the WHATSAPP_BRIDGE_* names win when both are set.
WHATSAPP_BRIDGE_URL = (env.str("WHATSAPP_BRIDGE_URL", default="") or env.str("WHATSAPP_SERVER_URL", default="")
                       or "http://127.0.0.1:3000")
WHATSAPP_BRIDGE_API_KEY = (env.str("WHATSAPP_BRIDGE_API_KEY", default="")
                           or env.str("WHATSAPP_SERVER_API_KEY", default=""))
WHATSAPP_EVENTS_SECRET = env.str("WHATSAPP_EVENTS_SECRET", default="")
WHATSAPP_BRIDGE_TIMEOUT = env.float("WHATSAPP_BRIDGE_TIMEOUT", default=15.0)
WHATSAPP_BRIDGE_RETRIES = env.int("WHATSAPP_BRIDGE_RETRIES", default=2)
# Sends that find the bridge down or the session reconnecting retry with exponential backoff.
WHATSAPP_SEND_RETRY_SECONDS = env.int("WHATSAPP_SEND_RETRY_SECONDS", default=30)
WHATSAPP_SEND_RETRY_MAX_SECONDS = env.int("WHATSAPP_SEND_RETRY_MAX_SECONDS", default=900)
WHATSAPP_SEND_MAX_ATTEMPTS = env.int("WHATSAPP_SEND_MAX_ATTEMPTS", default=20)
# A job whose worker sent no heartbeat for this long is put back in the queue.
WHATSAPP_STALLED_JOB_SECONDS = env.int("WHATSAPP_STALLED_JOB_SECONDS", default=20)
# An outbound message still queued or sending this long after its last change, with no send job
# waiting for it, is handed to a new send job by the periodic sweep.
WHATSAPP_STUCK_SEND_SECONDS = env.int("WHATSAPP_STUCK_SEND_SECONDS", default=300)
# Largest file staff may send or a patient's file Django keeps (the bridge has its own limit too).
WHATSAPP_MEDIA_MAX_BYTES = env.int("WHATSAPP_MEDIA_MAX_BYTES", default=16 * 1024 * 1024)

# --- Patients --------------------------------------------------------------------------------

# Names of the patients app's choice sets in the OpenAPI schema ("status" and "kind" also exist elsewhere;
# a prescription's "kind" made the message's one ambiguous, so it is named here too).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update({
    "PrescriptionStatusEnum": "apps.patients.models.optical.PrescriptionStatus",
    "PrescriptionKindEnum": "apps.patients.models.optical.PrescriptionKind",
    "PrismBaseEnum": "apps.patients.models.optical.PrismBase",
    "MessageKindEnum": "apps.notifications.models.MessageKind",
    "MessageStatusEnum": "apps.notifications.models.MessageStatus",
    "AppointmentStatusEnum": "apps.appointments.models.AppointmentStatus",
    "OrderStatusEnum": "apps.orders.models.OrderStatus",
    "OrderLineKindEnum": "apps.orders.models.LineKind",
    "PaymentKindEnum": "apps.orders.models.PaymentKind",
    "PaymentMethodEnum": "apps.orders.models.PaymentMethod",
    "RecallKindEnum": "apps.recalls.models.RecallKind",
    "RecallStatusEnum": "apps.recalls.models.RecallStatus",
})
