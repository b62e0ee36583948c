"""Error tracking with Sentry's official SDK, on when SENTRY_DSN is set (off otherwise).

Unhandled exceptions in requests (Django integration) and every ERROR log record (logging
integration: the problem handler's "bookstore.errors", a failed job in "bookstore.jobs", a
payment that does not match) become Sentry events; INFO and up travel as breadcrumbs. No personal
data is sent: no user ids or emails, cookies, IP addresses or request bodies.

The release is the deployed commit: HEROKU_SLUG_COMMIT (Heroku's dyno metadata) or SOURCE_VERSION
(Heroku's build, most CI systems).
"""

import logging
import os


def release_from_environment(environ=os.environ):
    return environ.get("HEROKU_SLUG_COMMIT") or environ.get("SOURCE_VERSION") or None


def sentry_init(*, dsn, environment, release=None, traces_sample_rate=0.0, transport=None):
    """Start the SDK when `dsn` is set; returns whether it did."""
    if not dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import LoggingIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        send_default_pii=False,
        max_request_body_size="never",
        traces_sample_rate=traces_sample_rate,
        integrations=[
            DjangoIntegration(),
            LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
        ],
        transport=transport,
    )
    return True
