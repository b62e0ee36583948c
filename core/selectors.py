"""Reads of the shared infrastructure (the email outbox) that need more than a one-liner."""

from datetime import datetime

from django.db.models import Count, Min, Q

from .models import OutboxEmail


def outbox_backlog() -> tuple[int, datetime | None, int]:
    """Emails still to send (pending), when the oldest of them was queued, and how many the
    outbox gave up on (staff may resend those). One query."""
    pending = Q(status=OutboxEmail.Status.PENDING)
    figures = OutboxEmail.objects.aggregate(
        pending=Count("pk", filter=pending),
        oldest=Min("created_at", filter=pending),
        failed=Count("pk", filter=Q(status=OutboxEmail.Status.FAILED)),
    )
    return figures["pending"], figures["oldest"], figures["failed"]
