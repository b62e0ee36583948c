"""Which email goes to the customer when a payment fails or money goes back. Each function is
called inside the transaction that recorded it, and queues through the outbox."""

from decimal import Decimal

from orders.models import Order
from orders.notifications import customer_email_queue, pay_link


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
