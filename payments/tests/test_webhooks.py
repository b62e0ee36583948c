"""Signed webhook events posted to dj-stripe's endpoint; Stripe's API answered by a fake."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from djstripe.models import Customer, Event, WebhookEventTrigger

from catalog.tests.factories import BookFactory
from core.money import to_minor_units
from core.testing import assert_problem
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, Refund, StripeCustomer
from payments.tests.factories import payment_for_new_order
from payments.tests.fake_stripe import payment_intent

pytestmark = pytest.mark.django_db


def intent_for(payment, **overrides):
    fields = {
        "intent_id": payment.stripe_payment_intent_id,
        "amount": to_minor_units(payment.amount, payment.currency),
        "currency": payment.currency,
        "order_id": payment.order_id,
        "status": "succeeded",
    }
    fields.update(overrides)
    return payment_intent(**fields)


def succeed(fake, payment, **overrides):
    """Make the fake Stripe say the intent succeeded, and return it for the event."""
    return fake.add(intent_for(payment, **overrides))


def declined(fake, payment):
    return fake.add(
        intent_for(
            payment,
            status="requires_payment_method",
            last_payment_error={
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "insufficient_funds",
                "message": "Your card has insufficient funds.",
            },
        )
    )


def stock(book):
    book.refresh_from_db()
    return book.stock_quantity, book.reserved_quantity


def test_success_marks_the_order_paid_and_commits_stock(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book, quantity=2)
    response = post_event("payment_intent.succeeded", succeed(fake, payment))
    assert response.status_code == 200, response.content
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert payment.status == "succeeded"
    assert payment.order.status == "paid"
    assert stock(book) == (3, 0)
    assert Event.objects.filter(type="payment_intent.succeeded").count() == 1
    event = payment.order.events.last()
    assert (event.to_status, event.actor_label) == ("paid", "stripe")


def test_a_signed_body_claiming_success_changes_nothing_when_stripe_says_unpaid(fake, post_event):
    """Only Stripe's own copy of the PaymentIntent counts, not what the event body says."""
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    assert fake.objects[payment.stripe_payment_intent_id]["status"] == "requires_payment_method"
    response = post_event("payment_intent.succeeded", intent_for(payment, status="succeeded"))
    assert response.status_code == 200
    payment.refresh_from_db()
    assert payment.status == "requires_payment"
    assert Order.objects.get(pk=payment.order_id).status == "pending"
    assert stock(book) == (5, 1)
    assert fake.calls_to("GET", f"/v1/payment_intents/{payment.stripe_payment_intent_id}")


def test_a_refund_event_stripe_does_not_know_records_nothing(fake, post_event):
    payment = payment_for_new_order(fake=fake)
    post_event("payment_intent.succeeded", succeed(fake, payment))
    invented = {
        "id": "re_invented",
        "object": "refund",
        "amount": to_minor_units(payment.amount, payment.currency),
        "payment_intent": payment.stripe_payment_intent_id,
        "status": "succeeded",
    }
    response = post_event("refund.created", invented)
    assert_problem(response, 502, "payment_provider_error")  # Stripe does not know it
    payment.refresh_from_db()
    assert (payment.status, payment.refunds.count()) == ("succeeded", 0)
    assert Order.objects.get(pk=payment.order_id).status == "paid"


def test_failure_records_the_decline_and_keeps_the_hold(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book, quantity=2)
    assert post_event("payment_intent.payment_failed", declined(fake, payment)).status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.last_error_code) == ("failed", "insufficient_funds")
    assert payment.order.status == "pending"
    assert stock(book) == (5, 2)


def test_the_same_event_twice_has_one_effect(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    intent = succeed(fake, payment)
    for _ in range(2):
        assert post_event("payment_intent.succeeded", intent, event_id="evt_dup").status_code == 200
    assert payment.order.events.filter(to_status="paid").count() == 1
    assert stock(book) == (4, 0)


def test_two_success_events_for_one_payment_have_one_effect(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    intent = succeed(fake, payment)
    post_event("payment_intent.succeeded", intent)
    post_event("payment_intent.succeeded", intent)
    assert payment.order.events.filter(to_status="paid").count() == 1
    assert stock(book) == (4, 0)


def test_success_then_an_older_failure_stays_paid(fake, post_event):
    payment = payment_for_new_order(fake=fake)
    failed_intent = intent_for(
        payment,
        status="requires_payment_method",
        last_payment_error={"code": "card_declined", "message": "Declined."},
    )
    post_event("payment_intent.succeeded", succeed(fake, payment))
    post_event("payment_intent.payment_failed", failed_intent)
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Order.objects.get(pk=payment.order_id).status == "paid"


def test_failure_then_success_ends_paid(fake, post_event):
    payment = payment_for_new_order(fake=fake)
    post_event("payment_intent.payment_failed", declined(fake, payment))
    post_event("payment_intent.succeeded", succeed(fake, payment))
    payment.refresh_from_db()
    assert (payment.status, payment.last_error_code) == ("succeeded", "")
    assert Order.objects.get(pk=payment.order_id).status == "paid"


def test_a_second_successful_payment_for_a_paid_order_is_refunded(fake, post_event):
    first = payment_for_new_order(fake=fake)
    second = Payment.objects.create(
        order=first.order,
        amount=first.amount,
        currency=first.currency,
        stripe_payment_intent_id="pi_second_attempt",
        stripe_client_secret="pi_second_attempt_secret",
    )
    post_event("payment_intent.succeeded", succeed(fake, first))
    post_event("payment_intent.succeeded", succeed(fake, second))
    second.refresh_from_db()
    assert second.status == "refunded"
    assert second.refunds.get().automatic is True
    assert Order.objects.get(pk=first.order_id).status == "paid"


@pytest.mark.parametrize(
    "override",
    [{"amount": 1}, {"currency": "eur"}, {"order_id": 999999}],
    ids=["amount", "currency", "order id"],
)
def test_a_mismatch_is_recorded_and_the_order_is_not_paid(fake, post_event, override, caplog):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    assert (
        post_event("payment_intent.succeeded", succeed(fake, payment, **override)).status_code
        == 200
    )
    payment.refresh_from_db()
    assert payment.last_error_code == "mismatch"
    assert payment.status == "requires_payment"
    assert Order.objects.get(pk=payment.order_id).status == "pending"
    assert stock(book) == (5, 1)
    assert any(
        r.levelname == "ERROR" and "does not match" in r.getMessage() for r in caplog.records
    )


def test_success_for_an_expired_order_is_refunded_automatically(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    Order.objects.filter(pk=payment.order_id).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    order_services.orders_expire_lapsed()
    assert post_event("payment_intent.succeeded", succeed(fake, payment)).status_code == 200
    payment.refresh_from_db()
    refund = Refund.objects.get(payment=payment)
    assert (refund.automatic, refund.amount, payment.status) == (True, payment.amount, "refunded")
    refund_calls = fake.calls_to("POST", "/v1/refunds")
    assert len(refund_calls) == 1
    assert refund_calls[0][2]["amount"] == str(to_minor_units(payment.amount, payment.currency))
    assert Order.objects.get(pk=payment.order_id).status == "expired"
    assert stock(book) == (5, 0)


def test_refund_events_from_the_dashboard_are_recorded(fake, post_event):
    book = BookFactory(stock_quantity=5)
    payment = payment_for_new_order(fake=fake, book=book)
    post_event("payment_intent.succeeded", succeed(fake, payment))
    amount = to_minor_units(payment.amount, payment.currency)
    refund = {
        "id": "re_dashboard",
        "object": "refund",
        "amount": amount,
        "currency": payment.currency,
        "charge": "ch_1",
        "payment_intent": payment.stripe_payment_intent_id,
        "status": "succeeded",
        "created": int(time.time()),
    }
    charge = {
        "id": "ch_1",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount,
        "amount_captured": amount,
        "currency": payment.currency,
        "status": "succeeded",
        "paid": True,
        "refunded": True,
        "captured": True,
        "created": int(time.time()),
        "livemode": False,
        "payment_intent": None,
        "customer": None,
        "refunds": {"object": "list", "data": [refund], "has_more": False, "url": "/v1/refunds"},
    }
    fake.add(charge)
    fake.add(refund)
    assert post_event("refund.created", refund).status_code == 200
    assert post_event("charge.refunded", charge).status_code == 200
    payment.refresh_from_db()
    assert payment.status == "refunded"
    assert payment.refunds.count() == 1
    assert Order.objects.get(pk=payment.order_id).status == "refunded"
    assert stock(book) == (5, 0)


# --- Signatures ------------------------------------------------------------------------------


def assert_nothing_happened(payment):
    payment.refresh_from_db()
    assert payment.status == "requires_payment"
    assert Order.objects.get(pk=payment.order_id).status == "pending"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"secret": "whsec_forged"},
        {"timestamp": int(time.time()) - 6 * 60},
    ],
    ids=["wrong secret", "stale timestamp"],
)
def test_bad_signatures_are_400_and_change_nothing(fake, post_event, kwargs):
    payment = payment_for_new_order(fake=fake)
    response = post_event("payment_intent.succeeded", succeed(fake, payment), **kwargs)
    assert_problem(response, 400, "validation_error")
    assert_nothing_happened(payment)


def test_tampered_body_and_missing_header_are_400(fake, client, webhook_endpoint):
    from payments.tests.conftest import signed_event

    payment = payment_for_new_order(fake=fake)
    body, signature = signed_event("payment_intent.succeeded", succeed(fake, payment))
    tampered = body.replace('"livemode": false', '"livemode": true')
    response = client.post(
        webhook_endpoint, tampered, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
    )
    assert_problem(response, 400)
    response = client.post(webhook_endpoint, body, content_type="application/json")
    assert_problem(response, 400)
    forged = f"t={int(time.time())},v1={'0' * 64}"
    response = client.post(
        webhook_endpoint, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=forged
    )
    assert_problem(response, 400)
    assert_nothing_happened(payment)


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
def test_the_djstripe_secret_header_is_never_honoured(fake, post_event, settings, debug):
    """dj-stripe takes X-Djstripe-Webhook-Secret as the secret when DEBUG is on: a demo shop
    would let anyone who can reach it sign their own events."""
    settings.DEBUG = debug
    payment = payment_for_new_order(fake=fake)
    response = post_event(
        "payment_intent.succeeded",
        succeed(fake, payment),
        secret="whsec_attacker",
        headers={"HTTP_X_DJSTRIPE_WEBHOOK_SECRET": "whsec_attacker"},
    )
    assert_problem(response, 400)
    assert_nothing_happened(payment)
    assert not WebhookEventTrigger.objects.exists()
    # Stripe's own signature still counts, whatever such a header says.
    response = post_event(
        "payment_intent.succeeded",
        succeed(fake, payment),
        headers={"HTTP_X_DJSTRIPE_WEBHOOK_SECRET": "whsec_attacker"},
    )
    assert response.status_code == 200, response.content
    assert Order.objects.get(pk=payment.order_id).status == "paid"
    assert "X-Djstripe-Webhook-Secret" not in WebhookEventTrigger.objects.get().headers


def test_unknown_endpoint_is_404(client, webhook_endpoint):
    response = client.post(
        "/stripe/webhook/00000000-0000-0000-0000-000000000000/",
        "{}",
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE="t=1,v1=0",
    )
    assert_problem(response, 404, "not_found")


def _customer_deleted(customer_id):
    return {"id": customer_id, "object": "customer", "deleted": True}


def test_an_already_deleted_customer_is_applied_as_done(fake, post_event, user):
    """A closed account's Stripe Customer is deleted before Stripe tells us: Stripe cannot show
    it any more, and the event is still applied (it used to fail with 502 on every delivery)."""
    Customer.sync_from_stripe_data(
        {"id": "cus_closed1", "object": "customer", "livemode": False, "created": 1700000000}
    )
    answered = post_event("customer.deleted", _customer_deleted("cus_closed1"))
    assert answered.status_code == 200, answered.content
    trigger = WebhookEventTrigger.objects.get()
    assert (trigger.processed, trigger.exception) == (True, "")
    assert Event.objects.filter(type="customer.deleted").exists()
    assert Customer.objects.get(id="cus_closed1").date_purged is not None
    assert not fake.calls_to("GET", "/v1/customers")
    assert not fake.calls_to("DELETE", "/v1/customers")


def test_a_customer_deleted_at_stripe_is_forgotten(fake, post_event, user):
    StripeCustomer.objects.create(user=user, stripe_id="cus_dashboard1")
    answered = post_event("customer.deleted", _customer_deleted("cus_dashboard1"))
    assert answered.status_code == 200, answered.content
    # The next payment makes a new Stripe Customer instead of naming the deleted one.
    assert not StripeCustomer.objects.filter(user=user).exists()


@pytest.mark.parametrize("applied", [True, False], ids=["applied", "failed"])
def test_a_late_webhook_about_a_closed_account_keeps_no_trace_of_the_person(
    fake, post_event, monkeypatch, applied
):
    """dj-stripe keeps the webhook's request body whether the event was applied or failed (for
    debugging): either way, a closed account's loses the person."""
    import json

    from accounts.services import user_close
    from core.errors import ApplicationError
    from payments import gateway, services

    monkeypatch.setattr(gateway, "customer_delete", lambda *, customer_id: None)
    payment = payment_for_new_order(fake=fake)
    customer = payment.order.user
    user_close(user=customer, actor=customer)
    if not applied:

        def unreachable(**kwargs):
            raise ApplicationError("payment_provider_error", "Stripe could not be reached.")

        monkeypatch.setattr(services, "payment_intent_apply", unreachable)
    person = {
        "receipt_email": "ada.lovelace@example.com",
        "shipping": {"name": "Ada Lovelace", "address": {"line1": "12 Analytical Row"}},
    }
    response = post_event("payment_intent.payment_failed", declined_with(fake, payment, person))
    assert response.status_code == (200 if applied else 502)
    trigger = WebhookEventTrigger.objects.get()
    assert trigger.body == ""
    assert (trigger.exception == "") is applied
    stored = json.dumps(list(Event.objects.values("data")), default=str)
    assert "Lovelace" not in stored and "Analytical" not in stored


def declined_with(fake, payment, extra):
    intent = declined(fake, payment)
    intent.update(extra)
    return intent


@pytest.mark.parametrize("stripe_status", ["failed", "canceled"])
def test_a_refund_that_failed_at_the_bank_is_money_kept_and_staff_are_told(
    fake, post_event, staff_user, stripe_status
):
    from decimal import Decimal

    from core.models import OutboxEmail
    from core.testing import ProblemCheckingAPIClient
    from payments import services
    from payments.tests.factories import paid_payment

    payment = paid_payment(fake=fake, lines={BookFactory(price=Decimal("30.00")): 1})
    refund = services.payment_refund(payment=payment, actor=staff_user, amount=Decimal("12.00"))
    stripes = fake.objects[refund.stripe_refund_id]
    stripes.update(status=stripe_status, failure_reason="expired_or_canceled_card")
    answered = post_event("refund.failed", stripes)
    assert answered.status_code == 200, answered.content
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.status) == (Decimal("0.00"), "succeeded")
    assert payment.refundable_amount == payment.amount
    refund.refresh_from_db()
    assert refund.status == stripe_status
    event = payment.order.events.get(kind="refund_failed")
    assert "12.00" in event.note
    email = OutboxEmail.objects.get(kind="staff_refund_failed")
    assert payment.order.number in email.subject and "12.00" in email.subject
    assert "expired_or_canceled_card" in email.text_body
    # Told once, however often Stripe says it again.
    assert post_event("refund.updated", stripes).status_code == 200
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("0.00")
    assert OutboxEmail.objects.filter(kind="staff_refund_failed").count() == 1
    # The customer's timeline does not show it; staff settle it with them.
    customer = payment.order.user
    client = ProblemCheckingAPIClient()
    client.force_authenticate(customer)
    kinds = [
        step.get("kind") for step in client.get(f"/api/orders/{payment.order_id}/").json()["events"]
    ]
    assert "refund_failed" not in kinds


def test_a_failed_refund_stays_failed_whatever_older_copy_comes_after(fake, post_event, staff_user):
    """Webhooks of one refund are applied concurrently: an older "pending" read after the
    "failed" must not count the money as refunded again, nor a second "failed" take it twice."""
    from decimal import Decimal

    from payments import services
    from payments.tests.factories import paid_payment

    payment = paid_payment(fake=fake, lines={BookFactory(price=Decimal("30.00")): 1})
    kept = services.payment_refund(payment=payment, actor=staff_user, amount=Decimal("10.00"))
    lost = services.payment_refund(payment=payment, actor=staff_user, amount=Decimal("12.00"))
    stripes = fake.objects[lost.stripe_refund_id]
    for status in ("failed", "pending", "failed"):
        stripes["status"] = status
        assert post_event("refund.updated", stripes).status_code == 200
    payment.refresh_from_db()
    lost.refresh_from_db()
    assert lost.status == "failed"
    assert payment.amount_refunded == kept.amount == Decimal("10.00")
