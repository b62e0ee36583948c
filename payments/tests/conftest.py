import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlsplit

import pytest
import stripe
from django.conf import settings

from payments import gateway
from payments.stripe_setup import local_server_register_webhook, stripe_setup
from payments.tests import fake_stripe
from payments.tests.localstripe import running_local_stripe


@pytest.fixture
def fake(monkeypatch):
    return fake_stripe.install(monkeypatch)


@pytest.fixture
def webhook_endpoint(db, fake):
    """What `manage.py stripe_setup` creates: dj-stripe's key, account and endpoint rows."""
    return urlsplit(stripe_setup()).path


def signed_event(event_type, obj, *, secret=None, timestamp=None, event_id=None):
    """(body, Stripe-Signature header) for an event, signed exactly as Stripe signs it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    event = {
        "id": event_id or f"evt_{uuid.uuid4().hex[:16]}",
        "object": "event",
        "api_version": "2026-05-27.dahlia",
        "created": timestamp,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
        "data": {"object": obj},
    }
    body = json.dumps(event)
    secret = settings.STRIPE_WEBHOOK_SECRET if secret is None else secret
    signature = hmac.new(
        secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    return body, f"t={timestamp},v1={signature}"


@pytest.fixture
def post_event(client, webhook_endpoint):
    def post(event_type, obj, **kwargs):
        headers = kwargs.pop("headers", {})
        body, signature = signed_event(event_type, obj, **kwargs)
        return client.post(
            webhook_endpoint,
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=signature,
            **headers,
        )

    return post


@pytest.fixture(scope="session")
def local_stripe_url(tmp_path_factory):
    with running_local_stripe(tmp_path_factory.mktemp("localstripe")) as url:
        yield url


# localstripe sleeps this long before it looks up where to send an event (plus a margin).
WEBHOOK_DELAY_SECONDS = 1.5
WEBHOOKS_NOWHERE = "http://127.0.0.1:9/after-the-test/"


@pytest.fixture
def shop(settings, live_server, local_stripe_url, monkeypatch):
    settings.STRIPE_API_BASE = local_stripe_url
    settings.STRIPE_JS_URL = f"{local_stripe_url}/js.stripe.com/v3/"
    settings.SITE_URL = live_server.url
    monkeypatch.setattr(stripe, "api_base", local_stripe_url)
    gateway.configure()
    local_server_register_webhook(stripe_setup())
    yield live_server
    # The local Stripe server (one for the session) sends each event a second after it happens,
    # to the address registered then: a test that ends before its events are delivered would
    # have them land in the next test (whose database knows nothing of them). They go nowhere.
    local_server_register_webhook(WEBHOOKS_NOWHERE)
    time.sleep(WEBHOOK_DELAY_SECONDS)
