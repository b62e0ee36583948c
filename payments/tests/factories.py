import uuid
from decimal import Decimal

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.money import to_minor_units
from orders import services as order_services
from payments.models import Payment
from payments.tests.fake_stripe import payment_intent


def payment_for_new_order(*, fake=None, user=None, book=None, quantity=1, **payment_fields):
    """A pending order holding `quantity` copies of `book`, and an open payment for it whose
    PaymentIntent the fake Stripe knows (as requires_payment_method)."""
    user = user or UserFactory()
    book = book or BookFactory(stock_quantity=5)
    order = order_services.order_place(user=user, items=[{"book": book.pk, "quantity": quantity}])
    intent_id = f"pi_test_{uuid.uuid4().hex[:12]}"
    payment = Payment.objects.create(
        order=order,
        amount=order.total,
        currency=order.currency,
        stripe_payment_intent_id=intent_id,
        stripe_client_secret=f"{intent_id}_secret_test",
        stripe_setup_client_secret="seti_test_secret_test",
        **payment_fields,
    )
    if fake is not None:
        fake.add(
            payment_intent(
                intent_id=intent_id,
                amount=to_minor_units(order.total, order.currency),
                currency=order.currency,
                order_id=order.pk,
                status="requires_payment_method",
            )
        )
    return payment


def paid_payment(*, fake, user=None, lines, ship=True):
    """An order of `lines` ({book: quantity}) paid through the fake Stripe, and shipped."""
    from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory
    from payments import services

    user = user or UserFactory()
    method = ShippingMethodFactory(code="post-test", price=Decimal("0"))
    order = order_services.order_place(
        user=user,
        items=[{"book": book.pk, "quantity": quantity} for book, quantity in lines.items()],
        shipping_address=dict(TEST_ADDRESS),
        shipping_method=method.code,
    )
    intent_id = f"pi_test_{uuid.uuid4().hex[:12]}"
    payment = Payment.objects.create(
        order=order,
        amount=order.total,
        currency=order.currency,
        stripe_payment_intent_id=intent_id,
        stripe_client_secret=f"{intent_id}_secret_test",
    )
    intent = fake.add(
        payment_intent(
            intent_id=intent_id,
            amount=to_minor_units(order.total, order.currency),
            currency=order.currency,
            order_id=order.pk,
        )
    )
    services.payment_intent_apply(intent=intent)
    if ship:
        order.refresh_from_db()
        order_services.order_ship(order=order, actor=user)
    payment.refresh_from_db()
    return payment
