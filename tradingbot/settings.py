"""Settings, all read from the environment.

With nothing set this is the embedded default: DEBUG on, SQLite and a file cache under DATA_DIR,
the django-q2 ORM broker, and no Redis. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
With DEBUG off the process refuses to start unless SECRET_KEY, ENCRYPTION_KEY and ALLOWED_HOSTS are set.
"""

import json
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

from tradingbot.local_secrets import load_or_create_local_secrets

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}")


def env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def database_from_url(url: str) -> dict:
    """postgres://user:password@host:port/name?sslmode=require -> Django DATABASES entry."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise ImproperlyConfigured(
            f"DATABASE_URL must start with postgres:// or postgresql://, not {parts.scheme or 'nothing'}://"
        )
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise ImproperlyConfigured("DATABASE_URL names no database (postgres://user@host:5432/NAME)")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
        "OPTIONS": dict(parse_qsl(parts.query)),
        "CONN_MAX_AGE": int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
    }


DEBUG = env_bool("DEBUG", True)
DATA_DIR = Path(os.environ.get("DATA_DIR", BASE_DIR / "var")).resolve()

if DEBUG:
    # Development keys: generated once, kept in DATA_DIR (git-ignored), never committed.
    _local = load_or_create_local_secrets(DATA_DIR / "local-secrets.json")
    SECRET_KEY = os.environ.get("SECRET_KEY") or _local["SECRET_KEY"]
    ENCRYPTION_KEY = os.environ.get("ENCRYPTION_KEY") or _local["ENCRYPTION_KEY"]
    ENCRYPTION_OLD_KEYS = env_list("ENCRYPTION_OLD_KEYS") or _local.get("ENCRYPTION_OLD_KEYS", [])
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    _missing = [name for name in ("SECRET_KEY", "ENCRYPTION_KEY", "ALLOWED_HOSTS") if not os.environ.get(name)]
    if _missing:
        raise ImproperlyConfigured(
            "DEBUG is off, so these must be set in the environment: " + ", ".join(_missing)
            + " (manage.py generate_encryption_key makes an ENCRYPTION_KEY)"
        )
    SECRET_KEY = os.environ["SECRET_KEY"]
    ENCRYPTION_KEY = os.environ["ENCRYPTION_KEY"]
    ENCRYPTION_OLD_KEYS = env_list("ENCRYPTION_OLD_KEYS")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")

CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_q",
    "channels",
    "tradingbot",  # platform-level commands (worker_alive)
    "accounts",
    "exchanges",
    "strategies",
    "bots",
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
    "django_htmx.middleware.HtmxMiddleware",
    # Times in the user's time zone: the browser reports it in a `tz` cookie (static/js/timezone.js).
    "bots.timezone.TimezoneMiddleware",
]

ROOT_URLCONF = "tradingbot.urls"
DEFAULT_EXCEPTION_REPORTER_FILTER = "tradingbot.exception_filter.AlwaysSafeExceptionReporterFilter"
ASGI_APPLICATION = "tradingbot.asgi.application"
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
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            # SQLITE_PATH lets a process a test starts (worker, web server) open that test's database.
            "NAME": Path(os.environ.get("SQLITE_PATH", DATA_DIR / "db.sqlite3")),
            # The web server and the worker are separate processes writing one file: WAL lets readers
            # go on while one writes, and IMMEDIATE transactions plus a timeout queue the writers.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # A file, not :memory:, so processes a test starts can share it; one per test run.
            "TEST": {"NAME": DATA_DIR / f"test-db-{os.getpid()}.sqlite3"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer", "CONFIG": {"hosts": [REDIS_URL]}}
    }
else:
    # A file cache is shared by the web and worker processes (login throttling, worker heartbeat),
    # which the in-memory cache is not.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            # CACHE_DIR: the tests give each run its own, shared with the processes they start.
            "LOCATION": Path(os.environ.get("CACHE_DIR", DATA_DIR / "cache")),
        }
    }
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

Q_CLUSTER = {
    "name": "tradingbot",
    "workers": int(os.environ.get("WORKER_PROCESSES", "2")),
    "timeout": 120,
    "retry": 180,
    "max_attempts": 1,
    "catch_up": False,
    "save_limit": 500,
    "ack_failures": True,
    "label": "Worker",
    **({"redis": REDIS_URL} if REDIS_URL else {"orm": "default"}),
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("FAST_PASSWORD_HASHING", False):
    # Tests only (set by conftest.py, inherited by the servers tests start): hashing cost is not under test.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling: this many failures for one username or one address within the window
# refuse further attempts from it until the window has passed.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", DATA_DIR / "staticfiles"))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing folder
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

# Demo candles shipped with the project (copied from real Binance data).
CANDLE_DATA_DIR = BASE_DIR / "exchanges" / "data"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # django-q2 logs two lines per task at INFO; bots tick every second in the demo.
        "django-q": {"level": os.environ.get("WORKER_LOG_LEVEL", "WARNING")},
    },
}

# Point a ccxt exchange at another base URL, e.g. {"binance": "http://127.0.0.1:9000"}: a regional
# endpoint, a proxy, or the fake exchange the tests start. JSON in the environment.
try:
    CCXT_URL_OVERRIDES = json.loads(os.environ.get("CCXT_URL_OVERRIDES", "") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"CCXT_URL_OVERRIDES must be a JSON object: {exc}") from exc


# The bot dispatcher ticks due bots in its own worker process (1, the default: no queue round trip, one
# candle fetch per symbol shared by its bots), or enqueues one django-q2 task per tick (0: spreads live
# bots over every worker, so one slow exchange holds up only its own bots).
BOTS_TICK_INLINE = env_bool("BOTS_TICK_INLINE", True)


# --- The channel layer's Redis connections and the worker (issue 16) ---
if REDIS_URL:
    # channels-redis reads a channel with a 5 s blocking BZPOPMIN, and redis-py 8's default socket timeout is
    # 5 s too: the read of an idle websocket's channel raced the timeout and lost (TimeoutError, daphne closed
    # the socket with 1011). The socket timeout must be well above the blocking read; keepalive and a
    # health check find a dead connection instead.
    CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [{
        "address": REDIS_URL,
        "socket_timeout": 30,
        "socket_connect_timeout": 5,
        "socket_keepalive": True,
        "health_check_interval": 30,
    }]
