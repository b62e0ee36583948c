import pytest
from django.conf import settings
from django.core import mail

from payments.models import Payment
from payments.tests.factories import payment_for_new_order
from payments.tests.test_webhooks import declined, succeed

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def subjects():
    return sorted(message.subject for message in mail.outbox)


def test_a_repeated_success_webhook_sends_one_receipt(fake, post_event, committed):
    payment = payment_for_new_order(fake=fake)
    number = payment.order.number
    mail.outbox.clear()
    intent = succeed(fake, payment)
    with committed():
        post_event("payment_intent.succeeded", intent, event_id="evt_once")
    with committed():
        post_event("payment_intent.succeeded", intent, event_id="evt_once")
    with committed():
        post_event("payment_intent.succeeded", intent)  # a second event for the same payment
    assert subjects() == sorted([f"Receipt for order {number}", f"Paid order {number}: 12.50 USD"])
    receipt = next(m for m in mail.outbox if m.to != [settings.STAFF_EMAIL])
    assert payment.stripe_payment_intent_id in receipt.body


def test_a_decline_sends_one_email_with_the_reason_and_a_retry_link(fake, post_event, committed):
    payment = payment_for_new_order(fake=fake)
    mail.outbox.clear()
    with committed():
        post_event("payment_intent.payment_failed", declined(fake, payment))
    with committed():
        post_event("payment_intent.payment_failed", declined(fake, payment))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"Payment for order {payment.order.number} did not go through"
    assert "insufficient funds" in message.body
    assert f"/pay/order/{payment.order.payment_token}/" in message.body


def test_a_refund_sends_an_email(fake, post_event, committed, staff_client):
    payment = payment_for_new_order(fake=fake)
    post_event("payment_intent.succeeded", succeed(fake, payment))
    mail.outbox.clear()
    with committed():
        staff_client.post(f"/api/payments/{payment.pk}/refund/", {"amount": "2.50"})
    assert subjects() == [f"Refund of 2.50 USD for order {payment.order.number}"]
    assert "5 to 10 days" in mail.outbox[0].body
    assert Payment.objects.get(pk=payment.pk).status == "partially_refunded"


def _closed_email_for(payment, committed, *, expire):
    from datetime import timedelta

    from django.utils import timezone

    from orders import services as order_services
    from orders.models import Order

    mail.outbox.clear()
    with committed():
        if expire:
            Order.objects.filter(pk=payment.order_id).update(
                hold_expires_at=timezone.now() - timedelta(minutes=1)
            )
            order_services.orders_expire_lapsed()
        else:
            order_services.order_cancel(order=payment.order, actor=payment.order.user)
    (message,) = mail.outbox
    return message


def test_closing_with_a_card_payment_in_flight_does_not_say_nothing_was_charged(fake, committed):
    # Expiry only: cancelling an order whose payment is processing is refused (409).
    payment = payment_for_new_order(fake=fake)
    Payment.objects.filter(pk=payment.pk).update(status="processing")
    message = _closed_email_for(payment, committed, expire=True)
    html = message.alternatives[0][0]
    for text in (message.body, html):
        assert "Nothing was charged" not in text
        assert "we refund the whole amount automatically" in text


def test_closing_with_no_payment_in_flight_says_nothing_was_charged(fake, committed):
    payment = payment_for_new_order(fake=fake)
    message = _closed_email_for(payment, committed, expire=True)
    assert "Nothing was charged" in message.body


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("expired", "arrived after the order had expired"),
        ("cancelled", "arrived after the order had been cancelled"),
        ("paid", "already been paid, so this second payment went straight back"),
    ],
)
def test_an_automatic_refund_email_says_what_happened(fake, status, says):
    from decimal import Decimal

    from django.template.loader import render_to_string

    payment = payment_for_new_order(fake=fake)
    order = payment.order
    order.status = status
    context = {"order": order, "amount": Decimal("12.50"), "currency": "USD", "automatic": True}
    for suffix in ("txt", "html"):
        rendered = " ".join(render_to_string(f"emails/refund_issued.{suffix}", context).split())
        assert says in rendered
        assert "Nothing was charged" not in rendered
