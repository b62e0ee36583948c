"""Payment services called directly: the staff refund of a whole order (the admin's Refund)."""

from decimal import Decimal

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


@pytest.mark.django_db(transaction=True)
def test_every_path_that_locks_a_payment_holds_the_lock_until_it_ends(fake, monkeypatch):
    """The locks are taken in the path's own transaction: outside one (the confirm, the
    reconciling job) they would be released as soon as taken."""
    from django.db import connection

    from catalog.tests.factories import BookFactory
    from payments.tests.factories import paid_payment

    payment = paid_payment(fake=fake, lines={BookFactory(): 1}, ship=False)
    staff = StaffFactory(is_superuser=True)
    intent = {"id": payment.stripe_payment_intent_id, "status": "succeeded"}
    in_transaction = []
    locked = services._locked_after_its_order

    def recording(payment):
        in_transaction.append(connection.in_atomic_block)
        return locked(payment)

    monkeypatch.setattr(services, "_locked_after_its_order", recording)
    services.payment_intent_apply(intent=intent)
    services.refund_apply(
        refund={"id": "re_dashboard", "payment_intent": intent["id"], "amount": 100}
    )
    services.payment_refund(
        payment=Payment.objects.get(pk=payment.pk), actor=staff, amount=Decimal("1.00")
    )
    assert in_transaction == [True, True, True]


@pytest.mark.postgres_only
def test_every_path_that_changes_a_payment_locks_its_order_first(fake):
    """One lock order (the order, then the payment) everywhere: a webhook and a staff refund
    of the same order, taking the two rows the other way round, could deadlock."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from catalog.tests.factories import BookFactory
    from payments.tests.factories import paid_payment
    from payments.tests.fake_stripe import dispute

    payment = paid_payment(fake=fake, lines={BookFactory(): 1}, ship=False)
    staff = StaffFactory(is_superuser=True)
    intent = {"id": payment.stripe_payment_intent_id, "status": "succeeded"}
    paths = {
        "intent": lambda: services.payment_intent_apply(intent=intent),
        "refund webhook": lambda: services.refund_apply(
            refund={"id": "re_dashboard", "payment_intent": intent["id"], "amount": 100}
        ),
        "dispute": lambda: services.dispute_apply(
            dispute=fake.add(dispute(dispute_id="dp_x", intent_id=intent["id"], amount=100))
        ),
        "staff refund": lambda: services.payment_refund(
            payment=Payment.objects.get(pk=payment.pk), actor=staff, amount=Decimal("1.00")
        ),
    }
    for name, change in paths.items():
        Order.objects.filter(pk=payment.order_id).update(disputed=False)
        with CaptureQueriesContext(connection) as queries:
            change()
        locked_tables = [
            q["sql"].split(' FROM "', 1)[1].split('"', 1)[0]
            for q in queries
            if q["sql"].endswith("FOR UPDATE")
        ]
        order_and_payment = [t for t in locked_tables if t in ("orders_order", "payments_payment")]
        assert order_and_payment[:1] == ["orders_order"], (name, locked_tables)
