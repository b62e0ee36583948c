"""Retention of dj-stripe's webhook request log (WebhookEventTrigger: each request's body,
outcome and traceback). The events themselves, and our payments, stay. Run hourly by run_jobs
(purge_webhook_triggers)."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from core.batches import delete_in_batches


def webhook_triggers_purge(*, now=None, batch_size: int | None = None) -> int:
    """Delete the webhook requests received more than WEBHOOK_RETENTION_DAYS ago."""
    now = now or timezone.now()
    old = WebhookEventTrigger.objects.filter(
        created__lt=now - timedelta(days=settings.WEBHOOK_RETENTION_DAYS)
    )
    return delete_in_batches(old, batch_size=batch_size or settings.RETENTION_BATCH_SIZE)
