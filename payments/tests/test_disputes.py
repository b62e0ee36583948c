"""Stripe disputes, applied from Stripe's own copy of the dispute when its webhooks arrive."""

import uuid
from decimal import Decimal

import pytest

from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders.models import Order
from payments.models import Dispute
from payments.tests.factories import paid_payment
from payments.tests.fake_stripe import dispute

pytestmark = pytest.mark.django_db


def disputed(fake, payment, **fields):
    return fake.add(
        dispute(
            dispute_id=fields.pop("dispute_id", f"dp_{uuid.uuid4().hex[:12]}"),
            intent_id=payment.stripe_payment_intent_id,
            amount=int(payment.amount * 100),
            **fields,
        )
    )


@pytest.fixture
def unshipped(fake):
    return paid_payment(fake=fake, lines={BookFactory(price=Decimal("20.00")): 1}, ship=False)


def test_a_new_dispute_holds_the_order_and_tells_the_staff(fake, post_event, unshipped, staff_user):
    stripe_copy = disputed(fake, unshipped)
    assert post_event("charge.dispute.created", stripe_copy).status_code == 200
    assert post_event("charge.dispute.created", stripe_copy).status_code == 200  # again
    order = Order.objects.get(pk=unshipped.order_id)
    assert order.disputed
    assert list(order.events.exclude(kind="").values_list("kind", flat=True)) == ["dispute_opened"]
    record = Dispute.objects.get()
    assert (record.reason, record.amount, record.evidence_due_by is not None) == (
        "fraudulent",
        Decimal("20.00"),
        True,
    )
    email = OutboxEmail.objects.get(kind="staff_dispute_opened")
    assert "Evidence due by" in email.text_body
    assert f"https://dashboard.stripe.com/test/disputes/{record.stripe_dispute_id}" in (
        email.text_body
    )

    staff = ProblemCheckingAPIClient()
    staff.force_authenticate(staff_user)
    assert staff.get(f"/api/orders/{order.pk}/").json()["disputed"] is True
    assert_problem(staff.post(f"/api/orders/{order.pk}/ship/", {}), 409, "order_disputed")
    cleared = staff.post(f"/api/orders/{order.pk}/clear-dispute/", {"note": "Customer called"})
    assert cleared.json()["disputed"] is False
    assert staff.post(f"/api/orders/{order.pk}/ship/", {}).json()["status"] == "shipped"
    assert_problem(staff.post(f"/api/orders/{order.pk}/clear-dispute/", {}), 409)


def test_only_stripes_own_copy_counts(fake, post_event, unshipped):
    """An event about a dispute Stripe does not know changes nothing (and is retried)."""
    body = dispute(dispute_id="dp_unknown", intent_id=unshipped.stripe_payment_intent_id, amount=1)
    response = post_event("charge.dispute.created", body)
    assert response.status_code >= 400
    assert not Dispute.objects.exists()
    assert not Order.objects.get(pk=unshipped.order_id).disputed


def test_a_lost_dispute_shows_the_amount_lost_and_leaves_stock_alone(fake, post_event, unshipped):
    stripe_copy = disputed(fake, unshipped)
    post_event("charge.dispute.created", stripe_copy)
    stripe_copy["status"] = "under_review"
    post_event("charge.dispute.updated", stripe_copy)
    book = unshipped.order.items.get().book
    book.refresh_from_db()
    stock = (book.stock_quantity, book.reserved_quantity)
    stripe_copy["status"] = "lost"
    post_event("charge.dispute.closed", stripe_copy)
    post_event("charge.dispute.closed", stripe_copy)
    unshipped.refresh_from_db()
    assert unshipped.amount_lost == Decimal("20.00")
    assert Dispute.objects.get().outcome == "lost"
    order = Order.objects.get(pk=unshipped.order_id)
    assert order.disputed  # staff decide whether the books still go out
    kinds = list(order.events.exclude(kind="").values_list("kind", flat=True))
    assert kinds == ["dispute_opened", "dispute_updated", "dispute_lost"]
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == stock


def test_a_won_dispute_lifts_the_hold_even_when_its_events_come_late(fake, post_event, unshipped):
    stripe_copy = disputed(fake, unshipped, status="won")
    # Only the closing event arrives: the dispute is recorded and closed at once.
    post_event("charge.dispute.closed", stripe_copy)
    post_event("charge.dispute.created", stripe_copy)
    order = Order.objects.get(pk=unshipped.order_id)
    assert not order.disputed
    assert Dispute.objects.get().outcome == "won"
    unshipped.refresh_from_db()
    assert unshipped.amount_lost == 0
    kinds = list(order.events.exclude(kind="").values_list("kind", flat=True))
    assert kinds == ["dispute_opened", "dispute_won"]


def test_a_dispute_of_a_payment_not_ours_is_ignored(fake, post_event):
    stripe_copy = fake.add(dispute(dispute_id="dp_other", intent_id="pi_elsewhere", amount=500))
    assert post_event("charge.dispute.created", stripe_copy).status_code == 200
    assert not Dispute.objects.exists()


def test_a_second_dispute_is_told_and_holds_until_both_are_over(
    fake, post_event, unshipped, staff_user
):
    first, second = disputed(fake, unshipped), disputed(fake, unshipped)
    post_event("charge.dispute.created", first)
    post_event("charge.dispute.created", second)
    order = Order.objects.get(pk=unshipped.order_id)
    opened = order.events.filter(kind="dispute_opened")
    assert opened.count() == 2  # each with its own deadline for evidence
    assert OutboxEmail.objects.filter(kind="staff_dispute_opened").count() == 2
    first["status"] = "won"
    post_event("charge.dispute.closed", first)
    assert Order.objects.get(pk=order.pk).disputed  # the second one is not over
    second["status"] = "won"
    post_event("charge.dispute.closed", second)
    assert not Order.objects.get(pk=order.pk).disputed


def test_customers_see_neither_the_dispute_nor_its_notes(fake, post_event, unshipped, staff_client):
    stripe_copy = disputed(fake, unshipped, reason="fraudulent")
    post_event("charge.dispute.created", stripe_copy)
    staff_client.post(f"/api/orders/{unshipped.order_id}/clear-dispute/", {"note": "Rang her"})
    customer = ProblemCheckingAPIClient()
    customer.force_authenticate(unshipped.order.user)
    shown = customer.get(f"/api/orders/{unshipped.order_id}/").json()
    exported = customer.get("/api/users/me/export/").json()
    staff_view = staff_client.get(f"/api/orders/{unshipped.order_id}/").json()
    for order in (shown, exported["orders"][0]):
        assert not any("dispute" in (event.get("kind") or "") for event in order["events"])
        assert "Rang her" not in str(order) and stripe_copy["id"] not in str(order)
    staff_kinds = [event["kind"] for event in staff_view["events"] if event["kind"]]
    assert staff_kinds == ["dispute_opened", "dispute_cleared"]


def test_nothing_is_refunded_while_disputed_nor_what_a_lost_dispute_took(
    fake, post_event, unshipped, staff_client
):
    stripe_copy = disputed(fake, unshipped)
    post_event("charge.dispute.created", stripe_copy)
    refused = staff_client.post(f"/api/payments/{unshipped.pk}/refund/")
    assert_problem(refused, 409, "order_disputed")
    assert fake.calls_to("POST", "/v1/refunds") == []
    stripe_copy["status"] = "lost"
    post_event("charge.dispute.closed", stripe_copy)
    unshipped.refresh_from_db()
    assert unshipped.refundable_amount == 0  # the cardholder has it back already
    staff_client.post(f"/api/orders/{unshipped.order_id}/clear-dispute/", {"note": "Lost"})
    nothing_left = staff_client.post(f"/api/payments/{unshipped.pk}/refund/", {"amount": "1.00"})
    assert nothing_left.status_code == 400
    assert fake.calls_to("POST", "/v1/refunds") == []


@pytest.mark.parametrize("status", ["warning_closed", "prevented", "charge_refunded"])
def test_a_dispute_that_ends_without_a_loss_lifts_the_hold(fake, post_event, unshipped, status):
    stripe_copy = disputed(fake, unshipped, status="warning_needs_response")
    post_event("charge.dispute.created", stripe_copy)
    assert Order.objects.get(pk=unshipped.order_id).disputed
    stripe_copy["status"] = status
    post_event("charge.dispute.closed", stripe_copy)
    assert not Order.objects.get(pk=unshipped.order_id).disputed
    assert Dispute.objects.get().outcome == "won"
    unshipped.refresh_from_db()
    assert unshipped.amount_lost == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_dispute_events_delivered_at_once_open_one_dispute(fake, webhook_endpoint, unshipped):
    """Stripe's created and updated events (and a retry) arriving together, on three processes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    from payments.tests.conftest import signed_event

    stripe_copy = disputed(fake, unshipped)
    events = [
        signed_event(kind, stripe_copy)
        for kind in ("charge.dispute.created", "charge.dispute.updated", "charge.dispute.created")
    ]
    barrier = threading.Barrier(len(events))

    def deliver(event):
        barrier.wait()
        try:
            body, signature = event
            return (
                Client()
                .post(
                    webhook_endpoint,
                    body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=signature,
                )
                .status_code
            )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(events)) as pool:
        statuses = list(pool.map(deliver, events))
    assert statuses == [200, 200, 200]
    assert Dispute.objects.count() == 1
    order = Order.objects.get(pk=unshipped.order_id)
    assert list(order.events.exclude(kind="").values_list("kind", flat=True)) == ["dispute_opened"]
    assert OutboxEmail.objects.filter(kind="staff_dispute_opened").count() == 1


def test_refunding_what_a_partly_lost_dispute_left_refunds_the_order(
    fake, post_event, unshipped, staff_client
):
    """Nothing is left with the shop: the order is refunded (its copy back on hand), not left
    paid and shippable."""
    book = unshipped.order.items.get().book
    book.refresh_from_db()
    on_hand = book.stock_quantity
    stripe_copy = disputed(fake, unshipped)
    stripe_copy["amount"] = 600  # 6.00 of the 20.00
    post_event("charge.dispute.created", stripe_copy)
    stripe_copy["status"] = "lost"
    post_event("charge.dispute.closed", stripe_copy)
    staff_client.post(f"/api/orders/{unshipped.order_id}/clear-dispute/", {"note": "Lost"})
    refunded = staff_client.post(f"/api/payments/{unshipped.pk}/refund/")
    assert refunded.status_code == 200, refunded.json()
    unshipped.refresh_from_db()
    assert (unshipped.amount_refunded, unshipped.amount_lost) == (Decimal("14.00"), Decimal("6.00"))
    assert unshipped.status == "refunded"
    assert Order.objects.get(pk=unshipped.order_id).status == "refunded"
    book.refresh_from_db()
    assert book.stock_quantity == on_hand + 1
