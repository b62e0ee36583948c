"""Sentry: started with the right options when SENTRY_DSN is set, not at all without it, and the
events it would send carry the release and no personal data."""

import logging
import os
import subprocess
import sys

import pytest
import sentry_sdk
from django.test import override_settings
from django.urls import path
from sentry_sdk.transport import Transport

from bookstore.error_tracking import release_from_environment, sentry_init

DSN = "https://public@o0.ingest.sentry.io/1"


class CapturingTransport(Transport):
    """Keeps the envelopes instead of sending them over the network."""

    def __init__(self, options=None):
        super().__init__(options)
        self.events = []

    def capture_envelope(self, envelope):
        for item in envelope.items:
            if item.type == "event":
                self.events.append(item.payload.json)


@pytest.fixture
def sentry():
    transport = CapturingTransport()
    assert sentry_init(dsn=DSN, environment="test", release="abc123", transport=transport), (
        "a DSN turns Sentry on"
    )
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # back to a client that sends nothing


def test_without_a_dsn_the_sdk_is_never_started(monkeypatch):
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda *args, **kwargs: calls.append(kwargs))
    assert sentry_init(dsn="", environment="production", release="abc") is False
    assert sentry_init(dsn=None, environment="production") is False
    assert calls == []


def test_with_a_dsn_init_gets_django_and_logging_integrations_and_no_personal_data(monkeypatch):
    calls = []
    monkeypatch.setattr(sentry_sdk, "init", lambda *args, **kwargs: calls.append(kwargs))
    assert sentry_init(dsn=DSN, environment="production", release="abc123")
    (options,) = calls
    assert options["dsn"] == DSN
    assert options["release"] == "abc123"
    assert options["environment"] == "production"
    assert options["send_default_pii"] is False
    assert options["max_request_body_size"] == "never"
    assert {type(i).__name__ for i in options["integrations"]} == {
        "DjangoIntegration",
        "LoggingIntegration",
    }


def test_the_release_is_the_heroku_slug_commit_or_the_source_version():
    assert release_from_environment({"HEROKU_SLUG_COMMIT": "a1", "SOURCE_VERSION": "b2"}) == "a1"
    assert release_from_environment({"SOURCE_VERSION": "b2"}) == "b2"
    assert release_from_environment({}) is None


def test_an_error_log_record_becomes_an_event_with_the_release(sentry):
    logging.getLogger("bookstore.jobs").error("Job send_emails failed")
    sentry_sdk.flush()
    (event,) = sentry.events
    assert event["logentry"]["message"] == "Job send_emails failed"
    assert (event["release"], event["environment"]) == ("abc123", "test")


def crash(request):
    raise RuntimeError("kaboom")


urlpatterns = [path("crash/", crash)]


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_an_unhandled_exception_in_a_request_is_sent_without_personal_data(sentry, client, user):
    client.raise_request_exception = False
    client.force_login(user)
    client.cookies["sessionid"] = client.cookies["sessionid"].value
    response = client.post(
        "/crash/",
        data={"card": "4242424242424242"},
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    errors = [e for e in sentry.events if e.get("exception")]
    assert errors, "the crash reached Sentry"
    event = errors[0]
    assert event["exception"]["values"][-1]["value"] == "kaboom"
    assert event["release"] == "abc123"
    sent = repr(event)
    for personal in (user.email, "203.0.113.9", "4242424242424242", "sessionid="):
        assert personal not in sent
    assert "id" not in event.get("user", {})


@pytest.mark.parametrize(
    ("dsn", "started"), [("", "False"), (DSN, "True")], ids=["no DSN", "DSN set"]
)
def test_production_settings_start_sentry_only_with_a_dsn(dsn, started):
    # A fresh interpreter: loading the production settings is what starts (or not) the SDK.
    code = (
        "import django, sentry_sdk; django.setup(); "
        "client = sentry_sdk.get_client(); options = client.options; "
        "print(client.is_active(), options.get('release'), options.get('send_default_pii'))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.production",
        "SECRET_KEY": "x" * 50,
        "ALLOWED_HOSTS": "example.com",
        "SENTRY_DSN": dsn,
        "HEROKU_SLUG_COMMIT": "deadbeef",
    }
    env.pop("DATABASE_URL", None)
    finished = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stderr
    output = finished.stdout.split()
    assert output[0] == started
    if dsn:
        assert output[1:] == ["deadbeef", "False"]


def test_addresses_and_user_ids_in_logs_never_reach_sentry(sentry):
    """Issue 24, item 10: breadcrumbs from INFO/WARNING logs and the event's own message carried
    "Email 17 to victim.person@example.com failed…"; both are scrubbed before sending."""
    outbox = logging.getLogger("core.outbox")
    outbox.warning("Email %s to %s failed: %s", 17, "victim.person@example.com", "550 refused")
    logging.getLogger("accounts").info("Password reset for user_id=42 <other.person@example.org>")
    logging.getLogger("bookstore.jobs").error(
        "Job send_emails failed for account-42-verify_email to %s",
        "third.person@example.net",
        extra={"to": "fourth.person@example.com"},
    )
    try:
        raise ValueError("No account for fifth.person@example.com (user 42)")
    except ValueError:
        sentry_sdk.capture_exception()
    sentry_sdk.flush()
    assert len(sentry.events) == 2
    sent = repr(sentry.events)
    for personal in ("victim.person", "other.person", "third.person", "fourth.person", "fifth"):
        assert personal not in sent
    for user_id in ("user_id=42", "account-42", "user 42"):
        assert user_id not in sent
    # What happened is still readable.
    logged = sentry.events[0]
    # (Earlier tests in this process may have left breadcrumbs of other kinds, without a message.)
    crumbs = [crumb.get("message") for crumb in logged["breadcrumbs"]["values"]]
    assert "Email 17 to [email] failed: 550 refused" in crumbs
    assert "Password reset for user_id=[id] <[email]>" in crumbs
    assert logged["logentry"]["params"] == ["[email]"]
    assert sentry.events[1]["exception"]["values"][-1]["value"] == (
        "No account for [email] (user [id])"
    )


@pytest.mark.django_db
@override_settings(ROOT_URLCONF=__name__, DEBUG=False)
def test_a_crash_on_a_link_with_a_token_does_not_send_the_token(sentry, client):
    client.raise_request_exception = False
    token = "cf1x2y-0123456789abcdef0123456789abcdef"
    response = client.get(
        f"/crash/?uid=MQ&token={token}",
        HTTP_REFERER=f"http://testserver/account/password-reset/?uid=MQ&token={token}",
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    errors = [e for e in sentry.events if e.get("exception")]
    assert errors, "the crash reached Sentry"

    def where(value, path=""):
        if isinstance(value, dict):
            for key, item in value.items():
                yield from where(item, f"{path}.{key}")
        elif isinstance(value, list):
            for n, item in enumerate(value):
                yield from where(item, f"{path}[{n}]")
        elif token in str(value):
            yield path

    assert list(where(errors)) == []
    urls = [e["request"].get("url") for e in errors if "request" in e]
    assert all(url is None or url.endswith("/crash/") for url in urls), urls
