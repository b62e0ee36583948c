"""Totals Stripe cannot charge: nothing at all (paid at once, no Stripe), less than Stripe's
minimum (refused when the order is placed), and zero-decimal currencies (whole units)."""

from decimal import Decimal

import pytest

from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import assert_problem, field_errors
from orders.models import Order, OrderEvent
from orders.tests.factories import DiscountCodeFactory, with_shipping
from payments.models import Payment
from payments.tests.test_api import paid_payment

pytestmark = pytest.mark.django_db


def place(client, book, quantity=1, **extra):
    payload = with_shipping({"items": [{"book": book.pk, "quantity": quantity}], **extra})
    return client.post("/api/orders/", payload, format="json")


def test_a_free_order_is_paid_at_once_without_stripe(fake, user_client):
    DiscountCodeFactory(code="FREE", value=Decimal("100"))
    book = BookFactory(price=Decimal("12.00"), stock_quantity=5)
    response = place(user_client, book, quantity=2, discount_code="FREE")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["total"], body["status"]) == ("0.00", "paid")
    order = Order.objects.get(pk=body["id"])
    assert order.paid_at is not None
    event = OrderEvent.objects.get(order=order, to_status="paid")
    assert event.actor_label == "system" and "Nothing to pay" in event.note
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (3, 0)  # committed, not held
    kinds = set(OutboxEmail.objects.filter(order=order).values_list("kind", flat=True))
    assert "order_paid" in kinds and "order_placed" not in kinds  # a receipt, no pay link
    assert fake.calls == []
    payment = user_client.post("/api/payments/", {"order": order.pk})
    assert_problem(payment, 409, "order_not_payable")
    assert fake.calls == [] and not Payment.objects.exists()


@pytest.mark.parametrize(("currency", "price"), [("usd", "0.49"), ("gbp", "0.29"), ("jpy", "49")])
def test_a_total_below_stripes_minimum_is_refused_at_placement(
    fake, user_client, settings, currency, price
):
    settings.CURRENCY = currency
    book = BookFactory(price=Decimal(price), stock_quantity=5)
    body = assert_problem(place(user_client, book), 409, "order_below_minimum")
    assert body["currency"] == currency
    assert not Order.objects.exists()
    book.refresh_from_db()
    assert book.reserved_quantity == 0


def test_a_total_at_the_minimum_is_placed(fake, user_client):
    book = BookFactory(price=Decimal("0.50"), stock_quantity=5)
    assert place(user_client, book).status_code == 201


def test_zero_decimal_totals_are_whole_units_and_charged_as_such(fake, user_client, settings):
    settings.CURRENCY = "jpy"
    DiscountCodeFactory(code="TENOFF", value=Decimal("10"))
    book = BookFactory(price=Decimal("1005"), stock_quantity=5)
    body = place(user_client, book, discount_code="TENOFF").json()
    # 10 % of 1005 is 100.5: rounded to 101 yen, never a fraction of a yen.
    assert (body["discount_amount"], body["total"]) == ("101.00", "904.00")
    response = user_client.post("/api/payments/", {"order": body["id"]})
    assert response.status_code == 201, response.json()
    create = fake.calls_to("POST", "/v1/payment_intents")[0][2]
    assert (create["amount"], create["currency"]) == ("904", "jpy")


def test_a_price_with_a_fraction_of_a_yen_is_rounded_not_truncated(fake, user_client, settings):
    settings.CURRENCY = "jpy"
    book = BookFactory(price=Decimal("539.60"), stock_quantity=5)
    body = place(user_client, book).json()
    assert body["total"] == "540.00"
    user_client.post("/api/payments/", {"order": body["id"]})
    assert fake.calls_to("POST", "/v1/payment_intents")[0][2]["amount"] == "540"


def test_a_refund_in_yen_must_be_whole_yen(fake, staff_client, settings):
    settings.CURRENCY = "jpy"
    payment = paid_payment(fake, book=BookFactory(price=Decimal("1000"), stock_quantity=5))
    assert payment.currency == "jpy"
    response = staff_client.post(f"/api/payments/{payment.pk}/refund/", {"amount": "0.49"})
    assert field_errors(assert_problem(response, 400, "validation_error")) == {"amount"}
    assert not fake.calls_to("POST", "/v1/refunds")
    response = staff_client.post(f"/api/payments/{payment.pk}/refund/", {"amount": "300"})
    assert response.status_code == 200, response.json()
    assert [c[2]["amount"] for c in fake.calls_to("POST", "/v1/refunds")] == ["300"]
