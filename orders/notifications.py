"""Which email goes to whom when an order changes. Each function is called inside the
transaction that made the change, and queues through the outbox."""

from django.conf import settings
from django.urls import reverse

from accounts.addresses import address_lines
from core.outbox import SendTimeLink, email_queue

from .models import Order


def _context(order, **extra):
    return {
        "order": order,
        "items": list(order.items.all()),
        "currency": order.currency.upper(),
        "address_lines": address_lines(order.shipping_address),
        **extra,
    }


def _pay_link(order):
    # The pay page's key is a secret: the link is built when the email is sent (core/outbox.py).
    return SendTimeLink("pay_order")


def pay_link_at_send(message) -> str | None:
    order = message.about
    if not isinstance(order, Order):
        return None
    return settings.SITE_URL + reverse("pay-order", args=[order.payment_token])


def customer_email_address(order) -> str:
    """Where the customer's emails about `order` go: their address, or, once they closed the
    account, the one kept for an order still to be shipped (orders_account_closing)."""
    return order.fulfilment_email or order.user.email


def _to_customer(kind, *, order, dedupe_key, **extra):
    email_queue(
        kind=kind,
        to=customer_email_address(order),
        dedupe_key=dedupe_key,
        user=order.user,
        about=order,
        context=_context(order, **extra),
    )


def order_placed(*, order, event):
    _to_customer(
        "order_placed",
        order=order,
        dedupe_key=f"order-event-{event.pk}",
        pay_link=_pay_link(order),
    )


def order_paid(*, order, event, reference):
    _to_customer(
        "order_paid",
        order=order,
        dedupe_key=f"order-event-{event.pk}",
        reference=reference,
    )
    email_queue(
        kind="staff_order_paid",
        to=settings.STAFF_EMAIL,
        dedupe_key=f"staff-order-event-{event.pk}",
        about=order,
        context=_context(order, reference=reference),
    )


def order_shipped(*, order, event):
    _to_customer("order_shipped", order=order, dedupe_key=f"order-event-{event.pk}")


def order_closed(*, order, event):
    """Cancelled or expired while pending: the books went back. Nothing was charged, unless a
    card payment was still being processed: if that one succeeds after all, it is refunded
    automatically (and the refund email says so), so this email must not promise otherwise."""
    # "processing" is payments.PaymentStatus.PROCESSING, read through the reverse relation
    # (orders never imports payments).
    payment_in_flight = order.payments.filter(status="processing").exists()
    _to_customer(
        "order_closed",
        order=order,
        dedupe_key=f"order-event-{event.pk}",
        expired=event.to_status == "expired",
        payment_in_flight=payment_in_flight,
    )


def _return_context(order_return):
    return {
        "order_return": order_return,
        "return_lines": list(order_return.lines.select_related("order_item")),
    }


def return_requested(*, order_return, event):
    order = order_return.order
    _to_customer(
        "return_requested",
        order=order,
        dedupe_key=f"order-event-{event.pk}",
        **_return_context(order_return),
    )
    email_queue(
        kind="staff_return_requested",
        to=settings.STAFF_EMAIL,
        dedupe_key=f"staff-order-event-{event.pk}",
        about=order,
        context=_context(order, **_return_context(order_return)),
    )


def return_approved(*, order_return, event):
    _to_customer(
        "return_approved",
        order=order_return.order,
        dedupe_key=f"order-event-{event.pk}",
        **_return_context(order_return),
    )


def return_rejected(*, order_return, event):
    _to_customer(
        "return_rejected",
        order=order_return.order,
        dedupe_key=f"order-event-{event.pk}",
        **_return_context(order_return),
    )


def return_refunded(*, order_return, event):
    _to_customer(
        "return_refunded",
        order=order_return.order,
        dedupe_key=f"order-event-{event.pk}",
        **_return_context(order_return),
    )


# For the other apps' emails about an order (payments/notifications.py).
customer_email_queue = _to_customer
pay_link = _pay_link
