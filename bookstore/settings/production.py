"""Production: secure by default. SECRET_KEY and ALLOWED_HOSTS must come from the environment."""

from bookstore.error_tracking import release_from_environment, sentry_init

from .base import *  # noqa: F403
from .env import env_bool, env_int, env_list, env_str

DEBUG = False
SECRET_KEY = env_str("SECRET_KEY", required=True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("The environment variable ALLOWED_HOSTS must be set.")

SIMPLE_JWT = {**SIMPLE_JWT, "SIGNING_KEY": env_str("JWT_SIGNING_KEY") or SECRET_KEY}  # noqa: F405

# Heroku's router (and most load balancers) terminate TLS and say so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_REDIRECT_EXEMPT = [r"^api/health/?$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
# Only a plain-HTTP local stack (compose.yaml) turns these off.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)

STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60)  # noqa: F405
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True  # noqa: F405

# JSON log lines with the request id, to stdout (the platform collects them).
for _handler in ("console", "client_errors"):
    LOGGING["handlers"][_handler]["formatter"] = env_str("LOG_FORMAT", "json")  # noqa: F405

# Error reporting: ADMINS="Ops <ops@example.com>, Dev <dev@example.com>" emails every unexpected
# error (a 500) to them; an error tracker (Sentry and the like) can hook the same logger,
# "core.errors".
ADMINS = [
    (name.strip(), address.strip(" >"))
    for name, _, address in (entry.partition("<") for entry in env_list("ADMINS"))
]
if ADMINS:
    LOGGING["handlers"]["mail_admins"] = {  # noqa: F405
        "class": "django.utils.log.AdminEmailHandler",
        "level": "ERROR",
        "filters": ["request_id", "secrets"],
    }
    LOGGING["loggers"]["core.errors"] = {  # noqa: F405
        "handlers": ["console", "mail_admins"],
        "level": "ERROR",
        "propagate": False,
    }

# Emails go out from `manage.py send_emails` on the scheduler, never inside a web request.
EMAIL_OUTBOX_FLUSH_ON_COMMIT = env_bool("EMAIL_OUTBOX_FLUSH_ON_COMMIT", False)

# Error tracking: on when SENTRY_DSN is set.
sentry_init(
    dsn=SENTRY_DSN,  # noqa: F405
    environment=SENTRY_ENVIRONMENT,  # noqa: F405
    release=release_from_environment(),
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,  # noqa: F405
)
