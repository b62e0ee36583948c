"""Settings shared by every environment. Everything that varies comes from the environment."""

import json
from datetime import timedelta
from decimal import Decimal

import dj_database_url
from corsheaders.defaults import default_headers as cors_default_headers

from .env import BASE_DIR, email_settings_from_url, env_bool, env_float, env_int, env_list, env_str

SECRET_KEY = env_str("SECRET_KEY", "dev-insecure-secret-key-change-me")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SHOP_NAME = env_str("SHOP_NAME", "Bookstore")
# The shop's home page for customers (a storefront on its own site, say): the pay and account
# pages link back to it.
SHOP_URL = env_str("SHOP_URL", SITE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "django_countries",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djstripe",
    "core",
    "axes",
    "csp",
    "accounts",
    "catalog",
    "orders",
    "payments",
    # The project package: its system checks, management commands (run_jobs) and templates.
    "bookstore",
]

MIDDLEWARE = [
    "bookstore.metrics.MetricsMiddleware",
    "bookstore.request_id.RequestIdMiddleware",
    # Before anything that may answer on its own, so those answers carry CORS headers too.
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "bookstore.middleware.RejectNulBytesMiddleware",
    "payments.middleware.StripeTimeBudgetMiddleware",
    "bookstore.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "bookstore.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: turns a locked-out admin login into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "bookstore.urls"
WSGI_APPLICATION = "bookstore.wsgi.application"

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
                "bookstore.context_processors.shop",
            ],
        },
    },
]

# --- Content-Security-Policy (django-csp) ----------------------------------------------------
# For the pages we render: the pay page and the admin. Scripts only from our origin and the
# configured Stripe.js origin (added per request by ContentSecurityPolicyMiddleware), no inline
# scripts; inline styles are allowed (the admin uses style attributes). The JSON API and its
# Swagger UI (whose page has an inline script) carry no policy.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# The admin's CSV import takes files up to this size (goodbooks-10k's books.csv is about 3 MB);
# no other page takes a body past DATA_UPLOAD_MAX_MEMORY_SIZE (bookstore/middleware.py).
BOOK_IMPORT_MAX_BYTES = 50 * 1024 * 1024

# --- Database -------------------------------------------------------------------------------
# SQLite is the zero-set-up default; production uses PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers (the dev server
    # and incoming webhooks) wait for each other instead of failing with "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# The customers' catalogue pages run as statements PostgreSQL prepares once per connection
# (core.prepared). Turn off behind a pooler in transaction mode (PgBouncer's
# pool_mode=transaction), which cannot keep a connection's prepared statements.
DATABASE_PREPARED_STATEMENTS = env_bool("DATABASE_PREPARED_STATEMENTS", True)
# Workers PostgreSQL may add to one query of the app's (max_parallel_workers_per_gather). None by
# default: the shop's queries are short, and starting workers cost them more than the workers
# saved (a search of 9,800 of a million books: 44 ms with two, 32 without).
DATABASE_PARALLEL_WORKERS = env_int("DATABASE_PARALLEL_WORKERS", 0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and (
    DATABASE_PREPARED_STATEMENTS
):
    # Server settings for the app's own connections; none behind a pooler in transaction mode,
    # which refuses them. Planned once, for any parameters: the point of preparing statements.
    # Django prepares nothing itself (psycopg2), so plan_cache_mode reaches only those.
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    server_settings = (
        "-c plan_cache_mode=force_generic_plan "
        f"-c max_parallel_workers_per_gather={DATABASE_PARALLEL_WORKERS}"
    )
    database_options["options"] = f"{database_options.get('options', '')} {server_settings}".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
# Redis may fail without taking the shop down (bookstore/cache.py): an error is a cache miss, each
# connect and reply waits at most CACHE_TIMEOUT_SECONDS (no retries), and after a failure a
# process leaves Redis alone for CACHE_RETRY_SECONDS.
CACHE_TIMEOUT_SECONDS = env_float("CACHE_TIMEOUT_SECONDS", 0.25)
CACHE_RETRY_SECONDS = env_float("CACHE_RETRY_SECONDS", 1.0)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "bookstore.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "bookstore"),
            "OPTIONS": {
                "socket_connect_timeout": CACHE_TIMEOUT_SECONDS,
                "socket_timeout": CACHE_TIMEOUT_SECONDS,
                "retry_seconds": CACHE_RETRY_SECONDS,
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Browser storefronts on other origins (CORS) ------------------------------------------
# Only the API, only the listed origins ("https://shop.example.com"; empty = none). No
# credentials: the API takes bearer tokens, never cookies.
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = (*cors_default_headers, "idempotency-key")
CORS_EXPOSE_HEADERS = ["Idempotent-Replayed", "Retry-After", "X-Request-ID", "ETag"]
# Seconds a browser may reuse a preflight answer.
CORS_PREFLIGHT_MAX_AGE = env_int("CORS_PREFLIGHT_MAX_AGE", 86400)

# --- Catalogue ------------------------------------------------------------------------------
# Anonymous GET /api/books/ and /api/books/{id}/ are served from the cache for up to this many
# seconds, so a stock change shows within that time (0 turns it off); see catalog/caching.py.
CATALOGUE_CACHE_SECONDS = env_int("CATALOGUE_CACHE_SECONDS", 1)

# Facet counts (GET /api/books/?facets=) are shared between readers this many seconds (0: off):
# counting them visits every book a list finds, and a minute-old count is still a good guide.
FACETS_CACHE_SECONDS = env_int("FACETS_CACHE_SECONDS", 60)

# The price facet's bucket bounds (GET /api/books/?facets=price): with 10, 20, 50 the buckets
# are under 10, 10 to under 20, 20 to under 50, and 50 or more.
FACET_PRICE_BUCKETS = [
    Decimal(bound) for bound in env_list("FACET_PRICE_BUCKETS", ["10", "20", "50"])
]

# How search ranks (README, "How search ranks"): points for where the query matches, a penalty
# for box sets/companions/adaptations and for typo-corrected matches, and popularity
# (log10(1 + ratings + copies_sold_weight * copies sold)) times its weight. A shop tunes these
# here; SEARCH_RANKING (JSON, e.g. {"popularity": 2}) overrides single weights.
SEARCH_RANKING = {
    "title_exact": 10.0,
    "title_prefix": 6.0,
    "title_phrase": 4.0,
    "title_words": 2.0,
    "series_exact": 6.0,
    "series_phrase": 3.0,
    "author_exact": 8.0,
    "author_phrase": 7.0,
    "other_author_phrase": 2.0,
    "collection_penalty": 5.0,
    "typo_penalty": 1.0,
    "popularity": 1.5,
    "copies_sold_weight": 50.0,
} | json.loads(env_str("SEARCH_RANKING", "{}"))

# --- Accounts -------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# A bearer token's user is read from the cache for up to this many seconds (0: from the database
# on every request). A change saved to a user clears the copy at once in a shared cache
# (REDIS_URL); with the per-process default, other processes may keep theirs this long.
AUTH_USER_CACHE_SECONDS = env_int("AUTH_USER_CACHE_SECONDS", 30)
# The axes backend comes first: it refuses a locked-out user + address before the password is
# even checked (accounts/lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_CALLABLE = "accounts.lockout.login_username"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_ip"
AXES_DISABLE_ACCESS_LOG = True  # failures are what we need; successful logins are not kept
AXES_VERBOSE = False
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Email ----------------------------------------------------------------------------------
# One of: SENDGRID_API_KEY (through django-anymail), EMAIL_URL (smtp://, smtp+tls://,
# smtps://, console://), the EMAIL_HOST/PORT/... settings, or else the console.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Bookstore <shop@bookstore.local>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 15)
SENDGRID_API_KEY = env_str("SENDGRID_API_KEY")
EMAIL_URL = env_str("EMAIL_URL")
if SENDGRID_API_KEY:
    EMAIL_BACKEND = "anymail.backends.sendgrid.EmailBackend"
    ANYMAIL = {"SENDGRID_API_KEY": SENDGRID_API_KEY}
elif EMAIL_URL:
    globals().update(email_settings_from_url(EMAIL_URL))
elif env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
# Where django.core.mail.backends.filebased.EmailBackend writes (the cluster proof counts them).
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "var" / "emails"))

# --- REST framework -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "core.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "core.exceptions.problem_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env_str("THROTTLE_LOGIN_RATE", "10/min"),
        "register": env_str("THROTTLE_REGISTER_RATE", "20/hour"),
        "stripe_webhook": env_str("THROTTLE_STRIPE_WEBHOOK_RATE", "600/min"),
        # Per customer: placing orders, and placing orders that carry a discount code.
        "orders": env_str("THROTTLE_ORDER_RATE", "30/hour"),
        "discount": env_str("THROTTLE_DISCOUNT_RATE", "10/hour"),
        # Per client (the customer, else the address): new carts.
        "carts": env_str("THROTTLE_CART_RATE", "30/hour"),
        # Per client: reading and changing carts (each prices the cart).
        "cart_use": env_str("THROTTLE_CART_USE_RATE", "120/min"),
        # Per payment (confirming, by pay page or API; refreshing the result page) and per order
        # (starting from the emailed link): calls to Stripe.
        "pay_page": env_str("THROTTLE_PAY_PAGE_RATE", "30/hour"),
        # Per customer: payments started through the API and cards tried (API or pay page).
        "payment_attempts": env_str("THROTTLE_PAYMENT_ATTEMPT_RATE", "30/hour"),
        # Per customer: return requests (each one emails the customer and the staff).
        "returns": env_str("THROTTLE_RETURN_RATE", "10/hour"),
        # Per customer: reviews written, rewritten or deleted.
        "reviews": env_str("THROTTLE_REVIEW_RATE", "10/hour"),
        # Per customer: data exports (each reads everything kept about the customer).
        "data_export": env_str("THROTTLE_DATA_EXPORT_RATE", "10/hour"),
        # Per customer: back-in-stock alerts asked for or dropped.
        "alerts": env_str("THROTTLE_ALERT_RATE", "30/hour"),
        # Per client (the customer, else the address): book lists that ask for facets.
        "facets": env_str("THROTTLE_FACETS_RATE", "120/min"),
        # Reset requests per client and per email address; links (reset, verify) per client.
        "password_reset": env_str("THROTTLE_PASSWORD_RESET_RATE", "10/hour"),
        "password_reset_email": env_str("THROTTLE_PASSWORD_RESET_EMAIL_RATE", "3/hour"),
        "account_link": env_str("THROTTLE_ACCOUNT_LINK_RATE", "20/hour"),
        "verify_email_resend": env_str("THROTTLE_VERIFY_EMAIL_RESEND_RATE", "3/hour"),
        # Registrations per email address (each mails that inbox); per signed-in user, requests
        # carrying the current password (also counted by the login lockout) and email changes.
        "register_email": env_str("THROTTLE_REGISTER_EMAIL_RATE", "3/hour"),
        "current_password": env_str("THROTTLE_CURRENT_PASSWORD_RATE", "10/hour"),
        "email_change": env_str("THROTTLE_EMAIL_CHANGE_RATE", "3/hour"),
    },
    # The client address is REMOTE_ADDR unless NUM_PROXIES trusted proxies (Heroku's router: 1)
    # stand in front; X-Forwarded-For is then read from the right, so a client cannot forge it.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # The login view sends Django's user_logged_in, which records last_login (and resets the
    # lockout count), as the admin's login does.
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "TOKEN_OBTAIN_SERIALIZER": "accounts.serializers.LoginSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.serializers.RefreshSerializer",
}
# Links in account emails; {uid} and {token} are filled in. By default our own small pages;
# a storefront on another site points them at its own pages, which POST to the API.
PASSWORD_RESET_URL = env_str(
    "PASSWORD_RESET_URL", f"{SITE_URL}/account/password-reset/?uid={{uid}}&token={{token}}"
)
EMAIL_VERIFICATION_URL = env_str(
    "EMAIL_VERIFICATION_URL", f"{SITE_URL}/account/verify-email/?uid={{uid}}&token={{token}}"
)
# Seconds a password reset (and email verification) link stays valid.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3 * 24 * 3600)
# Placing an order needs a verified email address (403 email_not_verified until then).
REQUIRE_VERIFIED_EMAIL_TO_ORDER = env_bool("REQUIRE_VERIFIED_EMAIL_TO_ORDER", False)
# How long a process may trust its cached copy of a user's token version (accounts/sessions.py).
# A shared cache (Redis) is updated on every bump, so its entries may live long; the
# local-memory cache is per process, so a bump in another process shows within this time.
TOKEN_VERSION_CACHE_SECONDS = env_int("TOKEN_VERSION_CACHE_SECONDS", 86400 if REDIS_URL else 5)

SPECTACULAR_SETTINGS = {
    "TITLE": "Bookstore API",
    "DESCRIPTION": (
        "Browse and search the catalogue, place orders that hold stock, and pay through Stripe. "
        "Every error is an RFC 9457 problem details document (`application/problem+json`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "ENUM_NAME_OVERRIDES": {
        "OrderStatusEnum": "orders.models.OrderStatus",
        "PaymentStatusEnum": "payments.models.PaymentStatus",
        "RefundStatusEnum": "payments.models.Refund.Status",
        "ReturnStatusEnum": "orders.models.ReturnStatus",
    },
    "SERVE_AUTHENTICATION": [],
}

# --- Stripe ---------------------------------------------------------------------------------
CURRENCY = env_str("CURRENCY", "usd").lower()

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOG_FORMAT = env_str("LOG_FORMAT", "plain")  # "json" in production
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "bookstore.request_id.RequestIdFilter"},
        "secrets": {"()": "bookstore.log_format.SecretsRedacted"},
        "client_error_as_warning": {"()": "bookstore.log_format.ClientErrorAsWarning"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"},
        "json": {"()": "bookstore.log_format.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "secrets"],
        },
        "client_errors": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "secrets", "client_error_as_warning"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "stripe": {"level": "WARNING"},
        # Our problem handler logs unexpected errors itself; Django's own 500 log would repeat it.
        "django.request": {"level": "ERROR", "handlers": ["console"], "propagate": False},
        # Django's default config mails ADMINS from the "django" logger; only our own error
        # logger ("core.errors", see production.py) may do that, and only for server errors.
        "django": {"level": "INFO", "handlers": ["console"], "propagate": False},
        "django.security": {"level": "INFO", "handlers": ["client_errors"], "propagate": False},
    },
}

# --- Error tracking -------------------------------------------------------------------------
# Sentry (bookstore/error_tracking.py): on when SENTRY_DSN is set, started by the dev and
# production settings (never by the tests'). The release is the deployed commit.
SENTRY_DSN = env_str("SENTRY_DSN", "")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "production")
SENTRY_TRACES_SAMPLE_RATE = float(env_str("SENTRY_TRACES_SAMPLE_RATE", "0"))

# --- Metrics --------------------------------------------------------------------------------
# GET /metrics with "Authorization: Bearer <METRICS_TOKEN>" serves Prometheus metrics
# (bookstore/metrics.py); without a token the path is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

# --- Stripe (dj-stripe) ---------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY", "")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY", "")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET", "")
# Empty means the real Stripe API; development points it at the local Stripe server.
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "")
STRIPE_JS_URL = env_str("STRIPE_JS_URL", "https://js.stripe.com/v3/")
STRIPE_LIVE_MODE = env_bool("STRIPE_LIVE_MODE", False)
if STRIPE_API_BASE:
    STRIPE_API_HOST = STRIPE_API_BASE  # dj-stripe's name for it
# Seconds one attempt at a Stripe call may take, and how often a failed attempt is retried.
STRIPE_TIMEOUT = env_int("STRIPE_TIMEOUT", 4)
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 1)
# All Stripe calls of one request together get at most this many seconds (then 502), well
# inside gunicorn's worker timeout (GUNICORN_TIMEOUT, 30 s).
STRIPE_REQUEST_BUDGET = env_int("STRIPE_REQUEST_BUDGET", 10)
# Stripe's events are a few KB; a bigger body is refused with 413 before anything is stored.
STRIPE_WEBHOOK_MAX_BYTES = env_int("STRIPE_WEBHOOK_MAX_BYTES", 256 * 1024)
# Payments still open this many minutes after they started are checked by reconcile_payments.
PAYMENT_RECONCILE_AFTER_MINUTES = env_int("PAYMENT_RECONCILE_AFTER_MINUTES", 10)
# ... and payments confirmed but not yet settled ("processing") after this many seconds, so an
# order whose webhook was lost is paid within about a minute.
PAYMENT_RECONCILE_PROCESSING_SECONDS = env_int("PAYMENT_RECONCILE_PROCESSING_SECONDS", 60)
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# --- Orders ---------------------------------------------------------------------------------
ORDER_HOLD_MINUTES = env_int("ORDER_HOLD_MINUTES", 30)
# Tests and the multi-instance proof (.ci/cluster.py) hold copies for seconds instead; when set
# it wins over ORDER_HOLD_MINUTES. Leave it unset in production.
ORDER_HOLD_SECONDS = env_int("ORDER_HOLD_SECONDS", 0)
# A customer may ask to return books for this many days after their order was shipped.
RETURN_WINDOW_DAYS = env_int("RETURN_WINDOW_DAYS", 30)

# --- Retention (jobs in run_jobs, hourly, in batches) ----------------------------------------
# dj-stripe's record of each webhook request (body, outcome) is deleted after this many days.
WEBHOOK_RETENTION_DAYS = env_int("WEBHOOK_RETENTION_DAYS", 30)
# Sent outbox emails (their rendered bodies) are deleted after this many days.
EMAIL_RETENTION_DAYS = env_int("EMAIL_RETENTION_DAYS", 90)
# Anonymous carts nobody changed for this many days are deleted (customers' own carts stay).
CART_TTL_DAYS = env_int("CART_TTL_DAYS", 30)
# Rows deleted per statement: each batch is its own short transaction.
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 500)
# VAT shops: catalogue and shipping prices include tax, and an order's tax is the part included.
PRICES_INCLUDE_TAX = env_bool("PRICES_INCLUDE_TAX", False)
# Copies one customer may hold in unpaid (pending, unexpired) orders: of one book, and in all.
# Beyond them placing an order answers 409 hold_limit_exceeded, so nobody can empty the shelves
# with orders they never pay. A bookshop customer rarely wants more; a school or a book club
# buying in bulk pays each order before the next.
MAX_HELD_COPIES_PER_BOOK = env_int("MAX_HELD_COPIES_PER_BOOK", 20)
MAX_HELD_COPIES_TOTAL = env_int("MAX_HELD_COPIES_TOTAL", 50)
# Books one customer's wishlist holds; adding one more is 400 (`book`: wishlist_full). A list is
# for remembering, not a copy of the catalogue that a script could grow without end.
WISHLIST_MAX_BOOKS = env_int("WISHLIST_MAX_BOOKS", 1000)

# --- Email outbox ---------------------------------------------------------------------------
STAFF_EMAIL = env_str("STAFF_EMAIL", "staff@bookstore.local")
# Send each email right after its transaction commits. Production leaves this off and runs
# `manage.py send_emails` from the scheduler, so a slow mail server never slows a request.
EMAIL_OUTBOX_FLUSH_ON_COMMIT = env_bool("EMAIL_OUTBOX_FLUSH_ON_COMMIT", True)
# How often the scheduler's send_emails looks for due emails (one indexed query, SKIP LOCKED):
# a reset or verification link reaches the mail server seconds after its commit.
EMAIL_SEND_EVERY_SECONDS = env_float("EMAIL_SEND_EVERY_SECONDS", 2.0)
