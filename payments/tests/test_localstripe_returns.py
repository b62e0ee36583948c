"""After the sale, end to end against the local Stripe server: a purchase returned and refunded,
and a card holder's dispute opened by Stripe's dispute test card and closed by the test."""

import json
import urllib.request
from decimal import Decimal

import pytest

from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from orders.models import Order
from payments.models import Dispute, Payment
from payments.tests.test_localstripe import buyer_with_order, order_status, pay, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

DISPUTE_CARD = "4000000000000259"


def test_purchase_to_refunded_return(shop, local_stripe_url, staff_client):
    book = BookFactory(stock_quantity=5, price=Decimal("15.00"))
    client, order_id = buyer_with_order(book, quantity=2)
    payment_id, confirmed = pay(client, order_id, "4242424242424242", local_stripe_url)
    assert confirmed.json()["next_step"] == "succeeded", confirmed.json()
    assert staff_client.post(f"/api/orders/{order_id}/ship/", {}).json()["status"] == "shipped"

    body = {"items": [{"book": book.pk, "quantity": 1}], "reason": "A duplicate gift"}
    quote = client.post(f"/api/orders/{order_id}/returns/quote/", body).json()
    created = client.post(f"/api/orders/{order_id}/returns/", body)
    assert created.status_code == 201, created.json()
    assert created.json()["refund_amount"] == quote["refund_amount"] == "15.00"
    url = f"/api/returns/{created.json()['id']}"
    assert staff_client.post(f"{url}/approve/").json()["status"] == "approved"
    assert staff_client.post(f"{url}/receive/", {"restock": True}).json()["status"] == "received"
    refunded = staff_client.post(f"{url}/refund/")
    assert refunded.status_code == 200, refunded.json()
    assert refunded.json()["status"] == "refunded"
    assert staff_client.post(f"{url}/refund/").status_code == 200  # a retry refunds nothing more

    payment = Payment.objects.get(pk=payment_id)
    assert (payment.status, payment.amount_refunded) == ("partially_refunded", Decimal("15.00"))
    (refund,) = payment.refunds.all()
    assert refund.stripe_refund_id.startswith("re_")
    assert order_status(order_id) == "shipped"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (4, 0)
    assert OutboxEmail.objects.filter(order=order_id, kind="return_refunded").count() == 1
    order = client.get(f"/api/orders/{order_id}/").json()
    assert order["amount_refunded"] == "15.00"
    assert [event["kind"] for event in order["events"] if event["kind"]] == [
        "return_requested",
        "return_approved",
        "return_received",
        "return_refunded",
    ]


def close_dispute(local_stripe_url, dispute_id, status):
    request = urllib.request.Request(
        f"{local_stripe_url}/_config/disputes/{dispute_id}/close",
        data=json.dumps({"status": status}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310: the test server
        return json.loads(response.read())


def test_the_dispute_card_holds_the_order_and_a_lost_dispute_is_recorded(
    shop, local_stripe_url, staff_client
):
    book = BookFactory(stock_quantity=3, price=Decimal("20.00"))
    client, order_id = buyer_with_order(book)
    payment_id, confirmed = pay(client, order_id, DISPUTE_CARD, local_stripe_url)
    assert confirmed.json()["next_step"] == "succeeded", confirmed.json()
    assert wait_for(lambda: Order.objects.get(pk=order_id).disputed), "no dispute arrived"
    dispute = Dispute.objects.get(payment_id=payment_id)
    assert (dispute.stripe_status, dispute.amount) == ("needs_response", Decimal("20.00"))
    assert OutboxEmail.objects.filter(kind="staff_dispute_opened", order=order_id).exists()
    shipped = staff_client.post(f"/api/orders/{order_id}/ship/", {})
    assert shipped.status_code == 409 and shipped.json()["code"] == "order_disputed"

    assert close_dispute(local_stripe_url, dispute.stripe_dispute_id, "lost")["status"] == "lost"
    assert wait_for(lambda: Dispute.objects.get(pk=dispute.pk).outcome == "lost")
    assert Payment.objects.get(pk=payment_id).amount_lost == Decimal("20.00")
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (2, 0)


def test_a_won_dispute_lets_the_order_ship(shop, local_stripe_url, staff_client):
    book = BookFactory(stock_quantity=3)
    client, order_id = buyer_with_order(book)
    payment_id, _ = pay(client, order_id, DISPUTE_CARD, local_stripe_url)
    assert wait_for(lambda: Dispute.objects.filter(payment_id=payment_id).exists())
    dispute = Dispute.objects.get(payment_id=payment_id)
    close_dispute(local_stripe_url, dispute.stripe_dispute_id, "won")
    assert wait_for(lambda: not Order.objects.get(pk=order_id).disputed)
    assert staff_client.post(f"/api/orders/{order_id}/ship/", {}).json()["status"] == "shipped"
