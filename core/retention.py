"""Retention of the shared infrastructure rows: idempotency keys past their lifetime and
outbox emails sent long ago. Run hourly by run_jobs (purge_idempotency_keys, purge_sent_emails).
"""

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from core.batches import delete_in_batches

from .idempotency import LIFETIME
from .models import IdempotencyKey, OutboxEmail


def idempotency_keys_purge(*, now=None, batch_size: int | None = None) -> int:
    """Delete the keys older than their 24-hour lifetime (a replay could no longer use them)."""
    now = now or timezone.now()
    expired = IdempotencyKey.objects.filter(created_at__lt=now - LIFETIME)
    return delete_in_batches(expired, batch_size=batch_size or settings.RETENTION_BATCH_SIZE)


def sent_emails_purge(*, now=None, batch_size: int | None = None) -> int:
    """Delete the emails sent (or dropped unsent) more than EMAIL_RETENTION_DAYS ago. Pending and
    failed ones stay: they are still to send, or for staff to look at."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EMAIL_RETENTION_DAYS)
    old = OutboxEmail.objects.filter(
        Q(status=OutboxEmail.Status.SENT, sent_at__lt=cutoff)
        | Q(status=OutboxEmail.Status.DROPPED, created_at__lt=cutoff)
    )
    return delete_in_batches(old, batch_size=batch_size or settings.RETENTION_BATCH_SIZE)
