"""Reads of payments, and of dj-stripe's webhook log, that need more than a one-liner."""

from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Q, QuerySet, Sum, TextField, Value, Window
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce
from djstripe.models import Event, WebhookEventTrigger

from accounts.models import User
from core.permissions import staff_may
from orders.models import Order

from .models import (
    CAPTURED_STATUSES,
    REFUNDABLE_STATUSES,
    UNDONE_REFUND_STATUSES,
    Dispute,
    DisputeOutcome,
    Payment,
    PaymentStatus,
    Refund,
)


def payment_list(*, user: User) -> QuerySet[Payment]:
    """The payments `user` may see (with the permission to view payments: all), with what the
    payment serializer reads."""
    payments = Payment.objects.select_related("order").prefetch_related("refunds", "disputes")
    if staff_may(user, "payments.view_payment"):
        return payments
    return payments.filter(order__user=user)


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


def order_refunded_outside_returns(order_id: int) -> Decimal:
    """What went back to the customer for the order other than through returns: staff refunds,
    refunds made in Stripe's dashboard, and what lost disputes took back (orders.refunds). Not
    the shop's own automatic refunds: those return a second payment for an order already paid
    (or money for one it cannot fill), never the money the order was paid with."""
    refunds = Refund.objects.filter(
        payment__order_id=order_id, order_return__isnull=True, automatic=False
    ).exclude(status__in=UNDONE_REFUND_STATUSES)
    refunded = refunds.aggregate(amount=Sum("amount"))["amount"] or Decimal("0")
    lost = Payment.objects.filter(order_id=order_id).aggregate(amount=Sum("amount_lost"))["amount"]
    return refunded + (lost or Decimal("0"))


def payments_failed_recent(*, limit: int = 10) -> list[Payment]:
    """The latest failed payments, newest first, with their order and customer."""
    return list(
        Payment.objects.filter(status=PaymentStatus.FAILED)
        .select_related("order__user")
        .order_by("-updated_at", "-pk")[:limit]
    )


def disputes_open(*, limit: int = 10) -> tuple[int, list[Dispute]]:
    """Disputes not closed yet: (how many, the first `limit` by evidence deadline, soonest
    first, with their order and customer). One query."""
    rows = list(
        Dispute.objects.filter(outcome=DisputeOutcome.OPEN)
        .select_related("payment__order__user")
        .annotate(open_count=Window(Count("pk")))
        .order_by(F("evidence_due_by").asc(nulls_last=True), "pk")[:limit]
    )
    soonest: list[Dispute] = list(rows)
    return (int(rows[0].open_count) if rows else 0), soonest


def webhook_failures(*, since: datetime) -> tuple[int, int]:
    """Webhook requests received since `since`: (all, failed). Failed: the signature did not
    verify, or applying the event raised (dj-stripe keeps the exception)."""
    figures = WebhookEventTrigger.objects.filter(created__gte=since).aggregate(
        received=Count("pk"), failed=Count("pk", filter=Q(valid=False) | ~Q(exception=""))
    )
    return figures["received"], figures["failed"]


def payment_failures_by_code() -> dict[str, int]:
    """Failed payment attempts since the shop opened, by Stripe's decline code (or error code):
    from Stripe's payment_intent.payment_failed events, which are kept (only the webhook request
    log is purged). One query."""
    code = Coalesce(
        KT("data__object__last_payment_error__decline_code"),
        KT("data__object__last_payment_error__code"),
        Value("unknown"),
        output_field=TextField(),
    )
    rows = (
        Event.objects.filter(type="payment_intent.payment_failed")
        .annotate(code=code)
        .values_list("code")
        .annotate(count=Count("pk"))
        .order_by()
    )
    return dict(rows)
