"""End to end against a real local Stripe server: real HTTP calls through the stripe library,
and real signed webhooks coming back to a live Django server."""

import logging
import threading
import time
from decimal import Decimal
from io import StringIO

import pytest
import stripe
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from djstripe.models import WebhookEventTrigger

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders.models import Order
from orders.tests.factories import (
    TEST_ADDRESS,
    ShippingMethodFactory,
    TaxRateFactory,
    with_shipping,
)
from payments.models import Payment
from payments.stripe_setup import local_server_register_webhook
from payments.tests.localstripe import card_payment_method

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def buyer_with_order(book, quantity=1):
    user = UserFactory()
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    order = client.post(
        "/api/orders/", with_shipping({"items": [{"book": book.pk, "quantity": quantity}]})
    )
    assert order.status_code == 201, order.json()
    return client, order.json()["id"]


def pay(client, order_id, card, local_stripe_url):
    started = client.post("/api/payments/", {"order": order_id})
    assert started.status_code == 201, started.json()
    return pay_started(client, started.json(), card, local_stripe_url)


def pay_started(client, body, card, local_stripe_url):
    payment_method = card_payment_method(
        local_stripe_url,
        setup_client_secret=body["setup_intent_client_secret"],
        publishable_key=body["publishable_key"],
        number=card,
    )
    return body["id"], client.post(
        f"/api/payments/{body['id']}/confirm/", {"payment_method": payment_method}
    )


def webhook_received(event_type):
    from djstripe.models import Event

    return lambda: Event.objects.filter(type=event_type).exists()


def order_status(order_id):
    return Order.objects.get(pk=order_id).status


def test_card_payment_is_marked_paid_by_the_webhook(shop, local_stripe_url):
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=3)
    payment_id, confirmed = pay(client, order_id, "4242424242424242", local_stripe_url)
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["next_step"] == "succeeded"
    assert wait_for(lambda: order_status(order_id) == "paid"), "no webhook marked the order paid"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (1, 0)
    assert Payment.objects.get(pk=payment_id).status == "succeeded"


def test_a_confirmed_payment_is_paid_at_once_when_its_webhook_is_lost(shop, local_stripe_url):
    from djstripe.models import Event

    # Stripe's deliveries go nowhere: only the confirm's own answer can mark the order paid.
    local_server_register_webhook("http://127.0.0.1:9/lost/")
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=3)
    payment_id, confirmed = pay(client, order_id, "4242424242424242", local_stripe_url)
    assert confirmed.status_code == 200, confirmed.json()
    assert (confirmed.json()["status"], confirmed.json()["next_step"]) == ("succeeded", "succeeded")
    assert order_status(order_id) == "paid"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (1, 0)
    assert OutboxEmail.objects.filter(order=order_id, kind="order_paid").count() == 1
    assert client.get(f"/api/orders/{order_id}/").json()["status"] == "paid"
    time.sleep(1.5)  # the local server sends its events about a second later
    assert not Event.objects.exists()


@pytest.mark.postgres_only
def test_two_simultaneous_confirms_pay_once_and_the_second_is_told_409(
    shop, local_stripe_url, caplog
):
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=1)
    started = client.post("/api/payments/", {"order": order_id}).json()
    payment_method = card_payment_method(
        local_stripe_url,
        setup_client_secret=started["setup_intent_client_secret"],
        publishable_key=started["publishable_key"],
        number="4242424242424242",
    )
    barrier = threading.Barrier(2)
    responses = []

    def confirm():
        try:
            barrier.wait(timeout=10)
            responses.append(
                client.post(
                    f"/api/payments/{started['id']}/confirm/", {"payment_method": payment_method}
                )
            )
        finally:
            connection.close()

    with caplog.at_level(logging.WARNING):
        threads = [threading.Thread(target=confirm) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    won, lost = sorted(responses, key=lambda response: response.status_code)
    assert won.status_code == 200, won.json()
    assert won.json()["status"] == "succeeded"
    body = assert_problem(lost, 409)
    assert body["code"] in ("payment_in_progress", "order_not_payable")
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert order_status(order_id) == "paid"
    assert OutboxEmail.objects.filter(order=order_id, kind="order_paid").count() == 1
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (3, 0)


def test_declined_card_keeps_the_hold_until_expiry(shop, local_stripe_url):
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=2)
    payment_id, confirmed = pay(client, order_id, "4000000000000341", local_stripe_url)
    body = assert_problem(confirmed, 402, "payment_failed")
    assert body["decline_code"] == "card_declined"
    assert client.get(f"/api/payments/{payment_id}/").json()["status"] == "failed"
    assert wait_for(webhook_received("payment_intent.payment_failed"))
    assert order_status(order_id) == "pending"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (4, 2)

    Order.objects.filter(pk=order_id).update(hold_expires_at="2000-01-01T00:00:00Z")
    call_command("expire_orders", stdout=StringIO())
    assert order_status(order_id) == "expired"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (4, 0)


def test_refund_through_the_api_restocks(shop, local_stripe_url, staff_client):
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=1)
    payment_id, _ = pay(client, order_id, "4242424242424242", local_stripe_url)
    assert wait_for(lambda: order_status(order_id) == "paid")
    refunded = staff_client.post(f"/api/payments/{payment_id}/refund/")
    assert refunded.status_code == 200, refunded.json()
    assert refunded.json()["status"] == "refunded"
    assert refunded.json()["refunds"][0]["stripe_refund_id"].startswith("re_")
    assert order_status(order_id) == "refunded"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (4, 0)


def test_payment_intent_carries_the_total_shipping_address_and_order_number(shop, local_stripe_url):
    ShippingMethodFactory(code="express", name="Express", price=Decimal("14.99"))
    TaxRateFactory(country="US", region="NY", percent=Decimal("8.875"))
    book = BookFactory(price=Decimal("12.50"), stock_quantity=4)
    client = ProblemCheckingAPIClient()
    client.force_authenticate(UserFactory())
    placed = client.post(
        "/api/orders/",
        {
            "items": [{"book": book.pk, "quantity": 2}],
            "shipping_address": {**TEST_ADDRESS, "line2": "Apt 7", "phone": "+1 518 555 0100"},
            "shipping_method": "express",
        },
    )
    assert placed.status_code == 201, placed.json()
    order = placed.json()
    # 25.00 + 14.99 shipping + 8.875% of 39.99 (3.549... -> 3.55) = 43.54
    assert (order["tax_amount"], order["total"]) == ("3.55", "43.54")

    started = client.post("/api/payments/", {"order": order["id"]})
    assert started.status_code == 201, started.json()
    intent_id = Payment.objects.get(pk=started.json()["id"]).stripe_payment_intent_id
    # Read back from the local Stripe server itself, not from our database.
    intent = stripe.PaymentIntent.retrieve(
        intent_id, api_key=settings.STRIPE_SECRET_KEY, stripe_version=None
    )
    assert (intent.amount, intent.currency) == (4354, "usd")
    assert intent.metadata["order_id"] == str(order["id"])
    assert intent.metadata["order_number"] == order["number"]
    assert intent.shipping["name"] == "Ada Reader"
    assert intent.shipping["phone"] == "+1 518 555 0100"
    assert dict(intent.shipping["address"]) == {
        "line1": "1 Library Way",
        "line2": "Apt 7",
        "city": "Albany",
        "state": "NY",
        "postal_code": "12207",
        "country": "US",
    }

    payment_id, confirmed = pay_started(
        client, started.json(), "4242424242424242", local_stripe_url
    )
    assert confirmed.status_code == 200, confirmed.json()
    assert wait_for(lambda: order_status(order["id"]) == "paid")


def test_another_card_after_a_decline_pays_the_same_payment(shop, local_stripe_url):
    book = BookFactory(stock_quantity=4)
    client, order_id = buyer_with_order(book, quantity=1)
    started = client.post("/api/payments/", {"order": order_id})
    assert started.status_code == 201, started.json()
    payment_id, declined = pay_started(client, started.json(), "4000000000000341", local_stripe_url)
    assert assert_problem(declined, 402, "payment_failed")["decline_code"] == "card_declined"

    # The same payment and card form, as the failure email's link and the pay page offer it.
    again = client.post("/api/payments/", {"order": order_id})
    assert again.json()["id"] == payment_id
    _, confirmed = pay_started(client, again.json(), "4242424242424242", local_stripe_url)
    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["next_step"] == "succeeded"
    assert wait_for(lambda: order_status(order_id) == "paid"), "no webhook marked the order paid"
    assert Payment.objects.get(pk=payment_id).status == "succeeded"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (3, 0)


def test_closing_the_account_deletes_the_stripe_customer_and_its_webhook_is_applied(
    shop, local_stripe_url
):
    book = BookFactory(stock_quantity=2)
    client, order_id = buyer_with_order(book)
    pay(client, order_id, "4242424242424242", local_stripe_url)
    assert order_status(order_id) == "paid"  # the confirm applied it; its webhooks come later

    # Closed at once: the payment's webhooks arrive after its customer was deleted, and are
    # applied as at Stripe (which still answers a deleted customer, marked deleted).
    closed = client.delete("/api/users/me/", {"password": DEFAULT_PASSWORD})
    assert closed.status_code == 204
    assert wait_for(webhook_received("customer.deleted")), "customer.deleted was not applied"
    assert wait_for(webhook_received("payment_intent.succeeded"))
    assert wait_for(lambda: not WebhookEventTrigger.objects.filter(processed=False).exists())
    assert not WebhookEventTrigger.objects.exclude(exception="").exists()
    # What those late webhooks stored lost the person again, as closing left the rest.
    from djstripe.models import PaymentIntent

    intent = PaymentIntent.objects.get(
        id=Payment.objects.get(order_id=order_id).stripe_payment_intent_id
    )
    assert intent.stripe_data.get("shipping") is None
    assert "Ada" not in "".join(WebhookEventTrigger.objects.values_list("body", flat=True))
