"""Deployment checks (`manage.py check --deploy`): settings that would leave the shop open."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

# Keys that are known, or too short or too plain to resist guessing: HS256 wants 256 bits.
MIN_JWT_KEY_LENGTH = 32
KNOWN_WEAK_FRAGMENTS = ("insecure", "change-me", "changeme", "secret-key", "test-secret")


def jwt_key_weakness(key):
    """Why `key` is too weak to sign access tokens, or "" if it is not."""
    if len(key) < MIN_JWT_KEY_LENGTH:
        return f"it is shorter than {MIN_JWT_KEY_LENGTH} characters"
    if len(set(key)) < 8:
        return "it uses fewer than 8 different characters"
    lowered = key.lower()
    fragment = next((f for f in KNOWN_WEAK_FRAGMENTS if f in lowered), None)
    if fragment:
        return f"it contains {fragment!r}, like the development keys"
    return ""


@register(Tags.security, deploy=True)
def check_jwt_signing_key(app_configs=None, **kwargs):
    weakness = jwt_key_weakness(settings.SIMPLE_JWT["SIGNING_KEY"] or "")
    if not weakness:
        return []
    return [
        Error(
            f"The key that signs access tokens is weak: {weakness}.",
            hint="Set JWT_SIGNING_KEY (or SECRET_KEY, its default) to a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'.",
            id="bookstore.E001",
        )
    ]


@register(Tags.security, deploy=True)
def check_stripe_webhook_secret(app_configs=None, **kwargs):
    if settings.STRIPE_WEBHOOK_SECRET:
        return []
    return [
        Warning(
            "STRIPE_WEBHOOK_SECRET is not set: Stripe's webhooks cannot be verified, so no "
            "payment would ever be marked paid.",
            hint="Use the signing secret (whsec_...) of the webhook endpoint that "
            "`manage.py stripe_setup` printed, from the Stripe dashboard.",
            id="bookstore.W001",
        )
    ]


# Caches that live inside one process: with several workers, each keeps its own copy.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register(Tags.security, deploy=True)
def check_shared_cache(app_configs=None, **kwargs):
    if settings.CACHES["default"]["BACKEND"] not in PER_PROCESS_CACHES:
        return []
    return [
        Warning(
            "The cache is kept in each worker process (REDIS_URL is not set): every worker "
            "counts its own throttles (logins, password guesses, reset and registration mail, "
            "discount codes, links), so N workers allow N times each limit, and a revoked "
            "token may be honoured by another worker until its cached copy expires.",
            hint="Set REDIS_URL so that all workers share one cache.",
            id="bookstore.W002",
        )
    ]
