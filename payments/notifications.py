"""Which email goes to the customer when a payment fails or money goes back, and to the staff
when a payment is disputed. Each function is called inside the transaction that recorded it,
and queues through the outbox."""

from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings

from core.outbox import email_queue
from orders.models import Order
from orders.notifications import customer_email_queue, pay_link

if TYPE_CHECKING:
    from .models import Dispute, Refund


def payment_failed(*, order: Order, attempt_key: str, reason: str) -> None:
    customer_email_queue(
        "payment_failed",
        order=order,
        dedupe_key=f"payment-failed-{attempt_key}",
        reason=reason,
        pay_link=pay_link(order),
    )


def refund_issued(*, order: Order, refund_key: str, amount: Decimal, automatic: bool) -> None:
    customer_email_queue(
        "refund_issued",
        order=order,
        dedupe_key=f"refund-{refund_key}",
        amount=amount,
        automatic=automatic,
    )


def dispute_opened(*, order: Order, dispute: "Dispute") -> None:
    email_queue(
        kind="staff_dispute_opened",
        to=settings.STAFF_EMAIL,
        dedupe_key=f"dispute-opened-{dispute.stripe_dispute_id}",
        about=order,
        context={"order": order, "dispute": dispute, "currency": dispute.currency.upper()},
    )


def refund_failed(*, order: Order, refund: "Refund", reason: str) -> None:
    email_queue(
        kind="staff_refund_failed",
        to=settings.STAFF_EMAIL,
        dedupe_key=f"refund-failed-{refund.stripe_refund_id}",
        about=order,
        context={
            "order": order,
            "refund": refund,
            "reason": reason,
            "currency": order.currency.upper(),
        },
    )
