"""Reads of payments that need more than a one-liner."""

from django.db.models import QuerySet

from accounts.models import User
from orders.models import Order

from .models import CAPTURED_STATUSES, REFUNDABLE_STATUSES, Payment


def payment_list(*, user: User) -> QuerySet[Payment]:
    """The payments `user` may see (staff: all), with what the payment serializer reads."""
    payments = Payment.objects.select_related("order").prefetch_related("refunds")
    return payments if user.is_staff else payments.filter(order__user=user)


def order_captured_payment(*, order: Order) -> Payment | None:
    """The order's payment whose money arrived (and may have gone back), if any."""
    return order.payments.filter(status__in=CAPTURED_STATUSES).first()


def order_refundable_payment(*, order: Order) -> Payment | None:
    """The order's captured payment that still has money to give back (normally its one
    payment; a second one that arrived for a paid order was refunded automatically). Reads
    `order.payments.all()`, so a prefetch of "payments" serves it."""
    return next(
        (payment for payment in order.payments.all() if payment.status in REFUNDABLE_STATUSES),
        None,
    )
