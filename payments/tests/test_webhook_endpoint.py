"""The webhook endpoint as a stranger sees it: an address that cannot be computed, bodies that
cost nothing and store nothing until Stripe's signature is proven, never a 500, a rate limit."""

import hashlib
import hmac
import json
import time
import uuid
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger

from core.testing import assert_problem
from payments.stripe_setup import stripe_setup
from payments.tests.conftest import signed_event
from payments.views import StripeWebhookThrottle

pytestmark = pytest.mark.django_db


def sign(body, secret):
    timestamp = int(time.time())
    payload = body if isinstance(body, bytes) else body.encode()
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def test_the_endpoint_id_is_random_kept_and_printed(fake, settings):
    url = stripe_setup()
    endpoint_id = urlsplit(url).path.split("/")[3]
    assert uuid.UUID(endpoint_id).version == 4
    assert uuid.UUID(endpoint_id) != uuid.uuid5(uuid.NAMESPACE_URL, settings.SITE_URL)
    assert stripe_setup() == url  # kept across deploys
    out = StringIO()
    call_command("stripe_setup", stdout=out)
    assert url in out.getvalue()
    assert WebhookEndpoint.objects.get().djstripe_validation_method == "verify_signature"


def test_an_endpoint_on_the_old_computable_id_gets_a_random_one(fake, settings):
    url = stripe_setup()
    derived = uuid.uuid5(uuid.NAMESPACE_URL, settings.SITE_URL)
    WebhookEndpoint.objects.update(djstripe_uuid=derived)
    new_url = stripe_setup()
    assert str(derived) not in new_url and new_url != url
    assert WebhookEndpoint.objects.get().djstripe_uuid != derived


def test_a_body_over_the_limit_is_413_and_stores_nothing(client, webhook_endpoint, settings):
    body = json.dumps({"id": "evt_big", "padding": "x" * settings.STRIPE_WEBHOOK_MAX_BYTES})
    response = client.post(
        webhook_endpoint,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(body, settings.STRIPE_WEBHOOK_SECRET),
    )
    assert_problem(response, 413, "payload_too_large")
    assert not WebhookEventTrigger.objects.exists()


def test_unverifiable_requests_store_nothing(client, webhook_endpoint):
    body, _ = signed_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    for signature in ["t=1,v1=0", sign(body, "whsec_forged"), "garbage"]:
        response = client.post(
            webhook_endpoint, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        assert_problem(response, 400, "validation_error")
    assert not WebhookEventTrigger.objects.exists()


ODD_BODIES = {
    "nul byte": '{"id": "evt_\x00", "livemode": false}',
    "escaped nul": '{"id": "evt_1", "object": "event", "livemode": false, "type": "x", '
    '"data": {"object": {"id": "\\u0000"}}}',
    "50,000 deep": "[" * 50_000 + "]" * 50_000,
    "binary": bytes(range(256)) * 4,
    "not an object": '"just a string"',
    "no id": '{"livemode": false, "type": "x", "data": {}}',
}


@pytest.mark.parametrize("signed", [False, True], ids=["unsigned", "signed"])
@pytest.mark.parametrize("body", ODD_BODIES.values(), ids=ODD_BODIES.keys())
def test_odd_bodies_are_400_not_500(client, webhook_endpoint, settings, body, signed):
    headers = (
        {"HTTP_STRIPE_SIGNATURE": sign(body, settings.STRIPE_WEBHOOK_SECRET)} if signed else {}
    )
    response = client.post(webhook_endpoint, body, content_type="application/json", **headers)
    assert_problem(response, 400, "validation_error")
    assert not WebhookEventTrigger.objects.exists()
    assert not Event.objects.exists()


def test_requests_past_the_rate_are_429(client, webhook_endpoint, monkeypatch):
    monkeypatch.setattr(StripeWebhookThrottle, "THROTTLE_RATES", {"stripe_webhook": "3/min"})
    statuses = [
        client.post(
            webhook_endpoint,
            "{}",
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE="t=1,v1=0",
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    response = client.post(webhook_endpoint, "{}", content_type="application/json")
    assert_problem(response, 429, "throttled")
    assert response["Retry-After"]
