"""Reads of payments and of dj-stripe's webhook log that need more than a one-liner."""

from datetime import datetime

from django.db.models import Count, Q
from djstripe.models import WebhookEventTrigger

from .models import Payment, PaymentStatus


def payments_failed_recent(*, limit: int = 10) -> list[Payment]:
    """The latest failed payments, newest first, with their order and customer."""
    return list(
        Payment.objects.filter(status=PaymentStatus.FAILED)
        .select_related("order__user")
        .order_by("-updated_at", "-pk")[:limit]
    )


def webhook_failures(*, since: datetime) -> tuple[int, int]:
    """Webhook requests received since `since`: (all, failed). Failed: the signature did not
    verify, or applying the event raised (dj-stripe keeps the exception)."""
    figures = WebhookEventTrigger.objects.filter(created__gte=since).aggregate(
        received=Count("pk"), failed=Count("pk", filter=Q(valid=False) | ~Q(exception=""))
    )
    return figures["received"], figures["failed"]
