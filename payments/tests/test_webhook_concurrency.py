"""The same event delivered five times at once (Stripe retries, several web processes)."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from django.test import Client

from catalog.tests.factories import BookFactory
from core.money import to_minor_units
from orders.tests.helpers import assert_stock_invariant
from payments.models import Payment
from payments.tests.conftest import signed_event
from payments.tests.factories import payment_for_new_order

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def deliver_at_once(endpoint, body, signature, times):
    barrier = threading.Barrier(times)

    def deliver():
        barrier.wait()
        try:
            response = Client().post(
                endpoint, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
            )
            return response.status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=times) as pool:
        return list(pool.map(lambda _: deliver(), range(times)))


@pytest.mark.parametrize("same_event", [True, False], ids=["same event", "distinct events"])
def test_five_deliveries_at_once_have_one_effect(fake, webhook_endpoint, same_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book, quantity=2)
    intent = fake.objects[payment.stripe_payment_intent_id]
    intent["status"] = "succeeded"
    assert intent["amount"] == to_minor_units(payment.amount, payment.currency)

    if same_event:
        body, signature = signed_event("payment_intent.succeeded", intent, event_id="evt_same")
        statuses = deliver_at_once(webhook_endpoint, body, signature, 5)
    else:
        events = [signed_event("payment_intent.succeeded", intent) for _ in range(5)]
        barrier = threading.Barrier(5)

        def deliver(event):
            barrier.wait()
            try:
                return (
                    Client()
                    .post(
                        webhook_endpoint,
                        event[0],
                        content_type="application/json",
                        HTTP_STRIPE_SIGNATURE=event[1],
                    )
                    .status_code
                )
            finally:
                connection.close()

        with ThreadPoolExecutor(max_workers=5) as pool:
            statuses = list(pool.map(deliver, events))

    assert statuses == [200] * 5
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert payment.order.events.filter(to_status="paid").count() == 1
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (3, 0)
    assert not Payment.objects.exclude(pk=payment.pk).exists()
    assert_stock_invariant()
