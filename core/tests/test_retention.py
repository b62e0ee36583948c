"""Retention: expired idempotency keys and long-sent emails go, in batches; the rest stays."""

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core.models import IdempotencyKey, OutboxEmail
from core.retention import idempotency_keys_purge, sent_emails_purge

pytestmark = pytest.mark.django_db


def key(user, number, *, hours_ago):
    return IdempotencyKey.objects.create(
        user=user,
        scope="orders.create",
        key=f"k-{number}",
        request_hash="0" * 64,
        created_at=timezone.now() - timedelta(hours=hours_ago),
    )


def email(number, *, status, sent_days_ago=None):
    sent_at = None if sent_days_ago is None else timezone.now() - timedelta(days=sent_days_ago)
    return OutboxEmail.objects.create(
        kind="order_paid",
        dedupe_key=f"e-{number}",
        to="reader@example.com",
        subject="Receipt",
        text_body="...",
        html_body="...",
        status=status,
        sent_at=sent_at,
    )


def test_expired_idempotency_keys_are_deleted_in_batches_and_live_ones_kept():
    user = UserFactory()
    expired = [key(user, n, hours_ago=25 + n) for n in range(7)]
    live = [key(user, 100 + n, hours_ago=23) for n in range(3)]

    assert idempotency_keys_purge(batch_size=3) == 7  # three batches: 3 + 3 + 1

    remaining = set(IdempotencyKey.objects.values_list("pk", flat=True))
    assert remaining == {k.pk for k in live}
    assert not remaining & {k.pk for k in expired}
    assert idempotency_keys_purge(batch_size=3) == 0  # nothing left to do


@override_settings(EMAIL_RETENTION_DAYS=90)
def test_only_emails_sent_before_the_retention_period_are_deleted():
    old_sent = [email(n, status=OutboxEmail.Status.SENT, sent_days_ago=91) for n in range(5)]
    recent_sent = email(10, status=OutboxEmail.Status.SENT, sent_days_ago=89)
    pending = email(11, status=OutboxEmail.Status.PENDING)
    gave_up = email(12, status=OutboxEmail.Status.FAILED)

    assert sent_emails_purge(batch_size=2) == 5

    assert set(OutboxEmail.objects.values_list("pk", flat=True)) == {
        recent_sent.pk,
        pending.pk,
        gave_up.pk,
    }
    assert not OutboxEmail.objects.filter(pk__in=[e.pk for e in old_sent]).exists()


@override_settings(EMAIL_RETENTION_DAYS=7, RETENTION_BATCH_SIZE=1)
def test_the_retention_period_and_batch_size_come_from_settings():
    email(1, status=OutboxEmail.Status.SENT, sent_days_ago=8)
    email(2, status=OutboxEmail.Status.SENT, sent_days_ago=8)
    kept = email(3, status=OutboxEmail.Status.SENT, sent_days_ago=6)
    assert sent_emails_purge() == 2
    assert list(OutboxEmail.objects.values_list("pk", flat=True)) == [kept.pk]
