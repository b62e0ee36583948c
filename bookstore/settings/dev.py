"""Local development: debug on, emails to the console, SQLite unless DATABASE_URL says otherwise,
and Stripe pointed at the local Stripe server (`make run` starts it) unless keys are given."""

from bookstore.error_tracking import release_from_environment, sentry_init

from .base import *  # noqa: F403
from .env import env_bool, env_str

DEBUG = env_bool("DEBUG", True)

LOCAL_STRIPE_URL = env_str("LOCAL_STRIPE_URL", "http://127.0.0.1:8420")
if not STRIPE_SECRET_KEY:  # noqa: F405
    # Test-mode-shaped keys that only the local Stripe server accepts.
    STRIPE_SECRET_KEY = "sk_test_localstripe0000000000000000"
    STRIPE_PUBLISHABLE_KEY = "pk_test_localstripe0000000000000000"
    STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET or "whsec_localstripe_development"  # noqa: F405
    STRIPE_API_BASE = STRIPE_API_HOST = LOCAL_STRIPE_URL
    STRIPE_JS_URL = f"{LOCAL_STRIPE_URL}/js.stripe.com/v3/"

# Error tracking: on when SENTRY_DSN is set.
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development")
sentry_init(
    dsn=SENTRY_DSN,  # noqa: F405
    environment=SENTRY_ENVIRONMENT,
    release=release_from_environment(),
    traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,  # noqa: F405
)
