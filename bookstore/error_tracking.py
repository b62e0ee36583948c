"""Error tracking with Sentry's official SDK, on when SENTRY_DSN is set (off otherwise).

Unhandled exceptions in requests (Django integration) and every ERROR log record (logging
integration: the problem handler's "core.errors", a failed job in "bookstore.jobs", a
payment that does not match) become Sentry events; INFO and up travel as breadcrumbs. No personal
data is sent: no user ids or emails, cookies, IP addresses or request bodies. The SDK's own
`send_default_pii=False` leaves out the request's user, cookies and address; what our log
messages say (an address, a user id) is scrubbed from every event and breadcrumb by
`before_send` and `before_breadcrumb`, whatever logger wrote it.

The release is the deployed commit: HEROKU_SLUG_COMMIT (Heroku's dyno metadata) or SOURCE_VERSION
(Heroku's build, most CI systems).
"""

import logging
import os
import re
from typing import Any

from .redaction import address_redacted, secrets_redacted

# An email address, as loosely as it may appear in a log line (quoted, in angle brackets).
EMAIL_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
# A user id named as such: "user 17", "user_id=17", "user:17", "account-17-", "customer #17".
USER_ID = re.compile(r"\b(user(?:[ _-]?id)?|account|customer)([ =:#-]+)\d+", re.IGNORECASE)


def personal_data_scrubbed(value: Any) -> Any:
    """`value` (an event, a breadcrumb or part of one) with every email address, user id, link
    token and pay-page key in its strings replaced, at any depth."""
    if isinstance(value, str):
        return USER_ID.sub(r"\1\2[id]", EMAIL_ADDRESS.sub("[email]", secrets_redacted(value)))
    if isinstance(value, dict):
        return {key: personal_data_scrubbed(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [personal_data_scrubbed(item) for item in value]
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    event = personal_data_scrubbed(event)
    event.pop("user", None)
    request = event.get("request")
    if isinstance(request, dict):  # a reset link's token, a pay page's key
        request.pop("query_string", None)
        if isinstance(request.get("url"), str):
            request["url"] = address_redacted(request["url"])
        if isinstance(request.get("headers"), dict):
            request["headers"].pop("Referer", None)
    return event


def before_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    return personal_data_scrubbed(crumb)


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
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )
    return True
