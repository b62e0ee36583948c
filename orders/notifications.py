"""Which email goes to whom when an order changes. Each function is called inside the
transaction that made the change, and queues through the outbox."""

from django.conf import settings
from django.urls import reverse

from .outbox import email_queue


def _context(order, **extra):
    return {
        "order": order,
        "items": list(order.items.all()),
        "customer_name": order.user.first_name or order.user.email,
        "currency": order.currency.upper(),
        **extra,
    }


def _pay_link(order):
    return settings.SITE_URL + reverse("pay-order", args=[order.payment_token])


def order_placed(*, order, event):
    email_queue(
        kind="order_placed",
        to=order.user.email,
        dedupe_key=f"order-event-{event.pk}",
        order=order,
        order_event=event,
        context=_context(order, pay_link=_pay_link(order)),
    )


def order_paid(*, order, event, reference):
    context = _context(order, reference=reference)
    email_queue(
        kind="order_paid",
        to=order.user.email,
        dedupe_key=f"order-event-{event.pk}",
        order=order,
        order_event=event,
        context=context,
    )
    email_queue(
        kind="staff_order_paid",
        to=settings.STAFF_EMAIL,
        dedupe_key=f"staff-order-event-{event.pk}",
        order=order,
        order_event=event,
        context=context,
    )


def order_shipped(*, order, event):
    email_queue(
        kind="order_shipped",
        to=order.user.email,
        dedupe_key=f"order-event-{event.pk}",
        order=order,
        order_event=event,
        context=_context(order),
    )


def order_closed(*, order, event):
    """Cancelled or expired while pending: nothing was charged, the books went back."""
    email_queue(
        kind="order_closed",
        to=order.user.email,
        dedupe_key=f"order-event-{event.pk}",
        order=order,
        order_event=event,
        context=_context(order, expired=event.to_status == "expired"),
    )


def payment_failed(*, order, attempt_key, reason):
    email_queue(
        kind="payment_failed",
        to=order.user.email,
        dedupe_key=f"payment-failed-{attempt_key}",
        order=order,
        context=_context(order, reason=reason, pay_link=_pay_link(order)),
    )


def refund_issued(*, order, refund_key, amount, automatic):
    email_queue(
        kind="refund_issued",
        to=order.user.email,
        dedupe_key=f"refund-{refund_key}",
        order=order,
        context=_context(order, amount=amount, automatic=automatic),
    )
