"""Payment services called directly: the staff refund of a whole order (the admin's Refund)."""

import pytest

from accounts.tests.factories import StaffFactory
from core.errors import ApplicationError
from orders.models import Order, OrderStatus
from payments import services
from payments.models import Payment, PaymentStatus
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db


def test_refunding_an_order_in_full_refunds_its_captured_payment(fake):
    payment = payment_for_new_order(fake=fake)
    intent = fake.objects[payment.stripe_payment_intent_id]
    intent["status"] = "succeeded"
    services.payment_intent_apply(intent=intent)

    refund = services.order_refund_in_full(
        order=Order.objects.get(pk=payment.order_id), actor=StaffFactory()
    )

    payment.refresh_from_db()
    assert refund.amount == payment.amount
    assert payment.status == PaymentStatus.REFUNDED
    assert Order.objects.get(pk=payment.order_id).status == OrderStatus.REFUNDED


def test_an_order_without_a_captured_payment_cannot_be_refunded(fake):
    payment = payment_for_new_order(fake=fake)

    with pytest.raises(ApplicationError) as refused:
        services.order_refund_in_full(
            order=Order.objects.get(pk=payment.order_id), actor=StaffFactory()
        )

    assert refused.value.code == "invalid_status_transition"
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.REQUIRES_PAYMENT
    assert not payment.refunds.exists()
