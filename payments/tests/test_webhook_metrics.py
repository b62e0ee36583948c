"""Webhook figures on /metrics: received, applied, rejected, and the delay from Stripe's
`created` to applied."""

import time

import pytest
from django.test import Client

from core.testing import metrics_scrape
from payments.tests.factories import payment_for_new_order
from payments.tests.test_webhooks import succeed

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789"


def test_webhooks_received_applied_rejected_and_their_delay(fake, post_event, settings):
    settings.METRICS_TOKEN = TOKEN
    scraper = Client()
    before = metrics_scrape(scraper, TOKEN)

    payment = payment_for_new_order(fake=fake)
    created = int(time.time()) - 30  # Stripe made the event half a minute ago
    assert post_event("payment_intent.succeeded", succeed(fake, payment),
                      timestamp=created).status_code == 200  # fmt: skip
    assert post_event("payment_intent.succeeded", succeed(fake, payment),
                      secret="whsec_forged").status_code == 400  # fmt: skip
    after = metrics_scrape(scraper, TOKEN)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("bookstore_stripe_webhooks_total", outcome="received") == 2
    assert delta("bookstore_stripe_webhooks_total", outcome="applied") == 1
    assert delta("bookstore_stripe_webhooks_total", outcome="rejected") == 1
    assert delta("bookstore_stripe_webhook_delay_seconds_count") == 1
    delay = delta("bookstore_stripe_webhook_delay_seconds_sum")
    assert 30 <= delay < 60
    assert delta("bookstore_stripe_webhook_delay_seconds_bucket", le="10.0") == 0
    assert delta("bookstore_stripe_webhook_delay_seconds_bucket", le="60.0") == 1
