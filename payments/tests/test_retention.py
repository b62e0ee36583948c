"""Retention of dj-stripe's webhook request log."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from djstripe.models import WebhookEventTrigger

from payments.retention import webhook_triggers_purge

pytestmark = pytest.mark.django_db


def trigger(*, days_ago):
    row = WebhookEventTrigger.objects.create(
        remote_ip="127.0.0.1", headers={}, body="{}", valid=True, processed=True
    )
    # `created` is auto_now_add: backdate it with an update.
    WebhookEventTrigger.objects.filter(pk=row.pk).update(
        created=timezone.now() - timedelta(days=days_ago)
    )
    return row


@override_settings(WEBHOOK_RETENTION_DAYS=30)
def test_webhook_requests_older_than_the_retention_period_are_deleted_in_batches():
    old = [trigger(days_ago=31 + n) for n in range(5)]
    recent = [trigger(days_ago=29), trigger(days_ago=0)]

    assert webhook_triggers_purge(batch_size=2) == 5

    remaining = set(WebhookEventTrigger.objects.values_list("pk", flat=True))
    assert remaining == {t.pk for t in recent}
    assert not remaining & {t.pk for t in old}


@override_settings(WEBHOOK_RETENTION_DAYS=3)
def test_the_period_comes_from_settings():
    trigger(days_ago=4)
    kept = trigger(days_ago=2)
    assert webhook_triggers_purge() == 1
    assert list(WebhookEventTrigger.objects.values_list("pk", flat=True)) == [kept.pk]
