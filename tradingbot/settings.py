"""Settings, all read from the environment.

With nothing set this is the embedded default: DEBUG on, SQLite and a file cache under DATA_DIR,
the django-q2 ORM broker, and no Redis. DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
With DEBUG off the process refuses to start unless SECRET_KEY, ENCRYPTION_KEY and ALLOWED_HOSTS are set.
"""

import json
import logging
import os
import re
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from tradingbot.file_permissions import private_dir, private_file
from tradingbot.local_secrets import load_or_create_local_secrets
from tradingbot.log_redaction import register_environment_secrets, register_secret

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
# The data folder holds the SQLite database, the file cache and the development keys: this user's only.
private_dir(DATA_DIR)

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
# Behind a reverse proxy: trust its X-Forwarded-Proto (HTTPS) and X-Forwarded-For (client address of the
# login throttle). Off, both headers are ignored: a client could set them to anything.
BEHIND_PROXY = env_bool("BEHIND_PROXY", False)

# Every secret of the settings is redacted from every log line (tradingbot.log_redaction); the settings'
# own and every environment variable named like *_TOKEN, *_API_KEY, *_SECRET, *_PASSWORD.
for _secret in (SECRET_KEY, ENCRYPTION_KEY, *ENCRYPTION_OLD_KEYS):
    register_secret(_secret)
register_environment_secrets(os.environ)

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
    "tradingbot",  # platform-level commands (worker_alive), private SQLite files
    "accounts",
    "exchanges",
    "strategies",
    "bots",
    "assistant",
    "telegram_bot",
    "notify",
    "commands",  # the command service behind every door: orders, closes, cancels, alerts, bot changes
    "metrics",  # /metrics for Prometheus (off unless METRICS_TOKEN or METRICS_ALLOW is set)
    "ninja",  # django-ninja's bundled Swagger UI (static files and template: no CDN)
    "api",  # the REST API (/api/v1/), its tokens, and webhook alerts (issue 14)
    "research",  # parameter sweeps, searches and walk-forward runs (issue 15)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the cookie, then Accept-Language; a logged-in user's profile wins (below).
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A bearer token on the seed's JSON paths (/bot/start, ...): the token's user, no CSRF (api.middleware).
    "api.middleware.SeedPathTokenMiddleware",
    "accounts.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Times in the user's time zone: the browser reports it in a `tz` cookie (static/js/timezone.js).
    "bots.timezone.TimezoneMiddleware",
]

ROOT_URLCONF = "tradingbot.urls"
# A JSON endpoint refused by the CSRF check answers JSON too (tradingbot.json_errors).
CSRF_FAILURE_VIEW = "tradingbot.json_errors.csrf_failure"
DEFAULT_EXCEPTION_REPORTER_FILTER = "tradingbot.exception_filter.AlwaysSafeExceptionReporterFilter"
DEFAULT_EXCEPTION_REPORTER = "tradingbot.exception_filter.RedactingExceptionReporter"
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
                "commands.context_processors.live_notifications",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
    register_secret(DATABASES["default"]["PASSWORD"])
else:
    # SQLITE_PATH lets a process a test starts (worker, web server) open that test's database.
    SQLITE_PATH = Path(os.environ.get("SQLITE_PATH", DATA_DIR / "db.sqlite3"))
    if SQLITE_PATH.parent == DATA_DIR or SQLITE_PATH.parent.exists():
        private_file(SQLITE_PATH)  # created 0600 before SQLite creates it with the umask's mode
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
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
register_secret(unquote(urlsplit(REDIS_URL).password or ""))
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
    # Refuses what the four above let through: blank or near-blank passwords, a few characters repeated,
    # the username (or e-mail name) doubled or with a digit added.
    {"NAME": "accounts.password_validation.MinimumStrengthValidator"},
]
if env_bool("FAST_PASSWORD_HASHING", False):
    # Tests only (set by conftest.py, inherited by the servers tests start): hashing cost is not under test.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:login"

# Login throttling (accounts.throttle; the site's login and the admin's): within the window, at most
# LOGIN_FAILURE_LIMIT failed logins per (account, address), LOGIN_ACCOUNT_FAILURE_LIMIT per account from all
# addresses, LOGIN_ADDRESS_FAILURE_LIMIT per address over all accounts (high: behind a proxy or a NAT many
# users share one). An attempt is reserved before the password is checked, so concurrent guesses count too.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_ACCOUNT_FAILURE_LIMIT = int(os.environ.get("LOGIN_ACCOUNT_FAILURE_LIMIT", "20"))
LOGIN_ADDRESS_FAILURE_LIMIT = int(os.environ.get("LOGIN_ADDRESS_FAILURE_LIMIT", "100"))
LOGIN_FAILURE_WINDOW_SECONDS = int(os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900"))
# Password reset requests: per e-mail address and per client address within the window.
PASSWORD_RESET_LIMIT = int(os.environ.get("PASSWORD_RESET_LIMIT", "3"))
PASSWORD_RESET_ADDRESS_LIMIT = int(os.environ.get("PASSWORD_RESET_ADDRESS_LIMIT", "20"))
PASSWORD_RESET_WINDOW_SECONDS = int(os.environ.get("PASSWORD_RESET_WINDOW_SECONDS", "3600"))
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", str(60 * 60 * 24)))  # link valid 1 day

# E-mail (password resets), as Django 6.1's MAILERS. In development without EMAIL_HOST it is printed to the
# console; with EMAIL_HOST it goes to that SMTP server (EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD,
# EMAIL_USE_TLS); in production without EMAIL_HOST to the machine's own mail server on localhost:25.
_EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if _EMAIL_HOST or not DEBUG:
    _LOCAL_MTA = not _EMAIL_HOST
    _EMAIL_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    register_secret(_EMAIL_PASSWORD)
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {
        "host": _EMAIL_HOST or "localhost",
        "port": int(os.environ.get("EMAIL_PORT", "25" if _LOCAL_MTA else "587")),
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": _EMAIL_PASSWORD,
        "use_tls": env_bool("EMAIL_USE_TLS", not _LOCAL_MTA),
        "timeout": 20,
    }}}
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tradingbot@localhost")

# An open live-update websocket re-checks its session this often (logout elsewhere, password change,
# expired session): it is closed when the session no longer authenticates its user. A logout closes the
# sockets of that session at once.
LIVE_SESSION_RECHECK_SECONDS = float(os.environ.get("LIVE_SESSION_RECHECK_SECONDS", "15"))

LANGUAGE_CODE = "en"
# English is the source; Thai, Simplified Chinese and Japanese are translated in locale/ (issue 10).
LANGUAGES = [("en", "English"), ("th", "ไทย"), ("zh-hans", "简体中文"), ("ja", "日本語")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The switcher's cookie for visitors (a logged-in user's choice is on the profile too): a year, lax.
LANGUAGE_COOKIE_AGE = 60 * 60 * 24 * 365
LANGUAGE_COOKIE_SAMESITE = "Lax"
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

# Content-Security-Policy (Django's own middleware): scripts and styles only from our static files, no inline
# script, no inline event handler, no inline style attribute, no eval. Page JS goes in static/js/ (see
# docs/architecture.md, "Content-Security-Policy"). 'self' in connect-src covers the same-origin websocket.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(60 * 60 * 24 * 365)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_PROXY else None

LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO").upper()
# ccxt logs every request's headers (API keys, passphrases, Basic credentials) and urllib3 every URL (query
# strings with signatures) at DEBUG: never below INFO, whatever LOG_LEVEL says.
_CAPPED_LEVEL = logging.getLevelName(max(logging.INFO, logging.getLevelNamesMapping().get(LOG_LEVEL, logging.INFO)))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    # Every registered secret is redacted from every record, whichever logger it comes from; the Telegram bot
    # token (part of every Bot API URL) has its own filter too.
    "filters": {"redact_secrets": {"()": "tradingbot.log_redaction.RedactSecretsFilter"},
                "redact_telegram_token": {"()": "telegram_bot.redaction.RedactTelegramToken"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact_secrets", "redact_telegram_token"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own default handlers (an unfiltered console handler on "django", "django.server") would
        # stay attached and print request errors unredacted: everything goes through the console handler above.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "INFO"},
        "ccxt": {"level": _CAPPED_LEVEL},
        "urllib3": {"level": _CAPPED_LEVEL},
        # django-q2 logs two lines per task at INFO; bots tick every second in the demo.
        "django-q": {"level": os.environ.get("WORKER_LOG_LEVEL", "WARNING")},
        # httpx logs each request URL at INFO (a Bot API URL holds the token); python-telegram-bot logs its
        # base URL at DEBUG. Capped whatever LOG_LEVEL says; the filter above is the second line of defence.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "telegram": {"level": "INFO"},
    },
}

# Point a ccxt exchange at another base URL, e.g. {"binance": "http://127.0.0.1:9000"}: a regional
# endpoint, a proxy, or the fake exchange the tests start. JSON in the environment.
try:
    CCXT_URL_OVERRIDES = json.loads(os.environ.get("CCXT_URL_OVERRIDES", "") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"CCXT_URL_OVERRIDES must be a JSON object: {exc}") from exc

# Live trading on the exchange's truth (issue 16). EXCHANGE_CAPABILITIES overrides entries of the table in
# exchanges/capabilities.py, e.g. {"binance": {"lookup_window": 90}} (JSON in the environment);
# BOT_EXCHANGE_CLIENT_OPTIONS: the bots' ccxt client retries/backoff/timeout; live bots compare open orders
# and the balance with the exchange every RECONCILE_EVERY_MINUTES.
try:
    EXCHANGE_CAPABILITIES = json.loads(os.environ.get("EXCHANGE_CAPABILITIES", "") or "{}")
except ValueError as exc:
    raise ImproperlyConfigured(f"EXCHANGE_CAPABILITIES must be a JSON object: {exc}") from exc
BOT_EXCHANGE_CLIENT_OPTIONS: dict = {}
RECONCILE_EVERY_MINUTES = int(os.environ.get("RECONCILE_EVERY_MINUTES", "15"))


# The bot dispatcher ticks due bots in its own worker process (1, the default: no queue round trip, one
# candle fetch per symbol shared by its bots), or enqueues one django-q2 task per tick (0: spreads live
# bots over every worker, so one slow exchange holds up only its own bots).
BOTS_TICK_INLINE = env_bool("BOTS_TICK_INLINE", True)


# The trading assistant (assistant/): natural-language commands, understood offline or by any
# OpenAI-compatible LLM. The LLM is off until OPENAI_MODEL and OPENAI_API_KEY or OPENAI_BASE_URL are set.
def _assistant_number(name: str, default: str, cast=int):
    raw = os.environ.get(name, "").strip() or default
    try:
        value = cast(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}")
    if value < 0:
        raise ImproperlyConfigured(f"{name} must not be negative, got {raw!r}")
    return value


OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")  # e.g. http://127.0.0.1:11434/v1 for Ollama
OPENAI_MODEL = os.environ.get("OPENAI_MODEL", "")
ASSISTANT_LLM_TIMEOUT_SECONDS = _assistant_number("ASSISTANT_LLM_TIMEOUT_SECONDS", "8", float)
# How the LLM is asked to answer: "tool" (a function call) or "json_schema" (structured output).
ASSISTANT_LLM_ANSWER = os.environ.get("ASSISTANT_LLM_ANSWER", "tool")
if ASSISTANT_LLM_ANSWER not in ("tool", "json_schema"):
    raise ImproperlyConfigured(f"ASSISTANT_LLM_ANSWER must be tool or json_schema, got {ASSISTANT_LLM_ANSWER!r}")
ASSISTANT_REQUESTS_PER_MINUTE = _assistant_number("ASSISTANT_REQUESTS_PER_MINUTE", "30")  # per user; 0: no limit
ASSISTANT_LLM_CALLS_PER_MINUTE = _assistant_number("ASSISTANT_LLM_CALLS_PER_MINUTE", "10")  # per user; 0: none
ASSISTANT_LLM_DAILY_TOKENS_PER_USER = _assistant_number("ASSISTANT_LLM_DAILY_TOKENS_PER_USER", "50000")  # 0: none
ASSISTANT_LLM_DAILY_TOKENS_TOTAL = _assistant_number("ASSISTANT_LLM_DAILY_TOKENS_TOTAL", "0")  # 0: no site cap
ASSISTANT_MAX_TEXT_LENGTH = _assistant_number("ASSISTANT_MAX_TEXT_LENGTH", "500")
ASSISTANT_DEFAULT_QUOTE = os.environ.get("ASSISTANT_DEFAULT_QUOTE", "USDT").strip().upper() or "USDT"
ASSISTANT_MARKETS_CACHE_SECONDS = _assistant_number("ASSISTANT_MARKETS_CACHE_SECONDS", "3600")

# Telegram (telegram_bot, notify). No token: everything Telegram is off and the rest works as without it.
TELEGRAM_BOT_TOKEN = os.environ.get("TELEGRAM_BOT_TOKEN", "").strip()
if TELEGRAM_BOT_TOKEN and not re.fullmatch(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,100}", TELEGRAM_BOT_TOKEN):
    # Never echo the value: it is a secret even when mistyped.
    raise ImproperlyConfigured("TELEGRAM_BOT_TOKEN does not look like a bot token from @BotFather (digits:letters)")
# A local Bot API server or the tests' fake one; the client adds /bot<token>/<method>.
TELEGRAM_API_BASE_URL = (os.environ.get("TELEGRAM_API_BASE_URL", "") or "https://api.telegram.org").rstrip("/")
# Sent by Telegram in X-Telegram-Bot-Api-Secret-Token with every webhook call (1-256 of A-Z a-z 0-9 _ -).
TELEGRAM_WEBHOOK_SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "").strip()
if TELEGRAM_WEBHOOK_SECRET and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", TELEGRAM_WEBHOOK_SECRET):
    raise ImproperlyConfigured("TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and - (1 to 256 of them)")
# The bot's @username for the deep links of the Settings page; asked from Telegram (getMe) when empty.
TELEGRAM_BOT_USERNAME = os.environ.get("TELEGRAM_BOT_USERNAME", "").strip().lstrip("@")

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

# --- Metrics and monitoring (issue 17) ---
# GET /metrics (Prometheus text format) is off (404) unless one of these is set: METRICS_TOKEN (the scrape sends
# "Authorization: Bearer <token>") and/or METRICS_ALLOW (addresses or networks, e.g. 127.0.0.1,10.0.0.0/8, matched
# against REMOTE_ADDR). With both, both must hold. PROMETHEUS_MULTIPROC_DIR (default DATA_DIR/prometheus) is read
# by metrics.process, not here: the client must see it before its first import.
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "").strip()
register_secret(METRICS_TOKEN)
METRICS_ALLOW = env_list("METRICS_ALLOW")
for _network in METRICS_ALLOW:
    import ipaddress

    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"METRICS_ALLOW: {_network!r} is not an address or a network (10.0.0.0/8)")

# LOG_FORMAT=json: one JSON object per line (tradingbot.log_format), the same redaction filters first.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain").strip().lower() or "plain"
if LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
LOGGING["formatters"]["json"] = {"()": "tradingbot.log_format.JsonFormatter"}
if LOG_FORMAT == "json":
    LOGGING["handlers"]["console"]["formatter"] = "json"
# --- REST API and webhooks (api, issue 14) ---
def _api_number(name: str, default: str) -> int:
    try:
        value = int(os.environ.get(name, default))
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number")
    if value < 0:
        raise ImproperlyConfigured(f"{name} must be 0 or more")
    return value


API_RATE_LIMIT = _api_number("API_RATE_LIMIT", "120")  # requests per token (or session user) per window; 0: off
API_RATE_WINDOW_SECONDS = _api_number("API_RATE_WINDOW_SECONDS", "60") or 60
API_MAX_PAGE_LIMIT = _api_number("API_MAX_PAGE_LIMIT", "200") or 200
API_MAX_TOKENS_PER_USER = _api_number("API_MAX_TOKENS_PER_USER", "20") or 20
WEBHOOK_MAX_BODY_BYTES = _api_number("WEBHOOK_MAX_BODY_BYTES", "4096") or 4096
WEBHOOK_DUPLICATE_WINDOW_SECONDS = _api_number("WEBHOOK_DUPLICATE_WINDOW_SECONDS", "60")
# Refused alerts (unknown id, wrong secret, ...) per source address per minute; then 429, not audited. 0: off.
WEBHOOK_REFUSALS_PER_MINUTE = _api_number("WEBHOOK_REFUSALS_PER_MINUTE", "60")
# Source addresses or networks allowed to send alerts, comma-separated; empty: any. "tradingview" stands for
# TradingView's published alert addresses (api.webhooks.TRADINGVIEW_IPS).
WEBHOOK_ALLOWED_IPS = [
    address for item in os.environ.get("WEBHOOK_ALLOWED_IPS", "").split(",") if item.strip()
    for address in (("52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7")
                    if item.strip().lower() == "tradingview" else (item.strip(),))
]
