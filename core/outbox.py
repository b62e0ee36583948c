"""Customer and staff emails through an outbox: queued in the transaction that caused them,
sent after it commits, retried with backoff when the mail server fails, never blocking or
failing the request or webhook that caused them.

`email_queue` renders the message now (a snapshot of the order as it was) and stores it. In
development and tests the outbox is flushed right after commit (EMAIL_OUTBOX_FLUSH_ON_COMMIT);
in production `manage.py send_emails` sends what is due, from the scheduler.
"""

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from .models import OutboxEmail

if TYPE_CHECKING:
    from orders.models import Order, OrderEvent

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def _backoff(attempts: int) -> timedelta:
    return timedelta(minutes=min(2**attempts, 24 * 60))


def email_queue(
    *,
    kind: str,
    to: str,
    dedupe_key: str,
    context: dict[str, Any],
    order: "Order | None" = None,
    order_event: "OrderEvent | None" = None,
) -> OutboxEmail | None:
    """Queue the `kind` email (templates emails/<kind>.txt and .html) unless one with this
    `dedupe_key` exists. Returns the queued message, or None for a duplicate."""
    context = {"shop_name": settings.SHOP_NAME, "site_url": settings.SITE_URL, **context}
    subject = " ".join(render_to_string(f"emails/{kind}.subject.txt", context).split())
    try:
        with transaction.atomic():
            message = OutboxEmail.objects.create(
                kind=kind,
                dedupe_key=dedupe_key,
                order=order,
                order_event=order_event,
                to=to,
                subject=subject[:255],
                text_body=render_to_string(f"emails/{kind}.txt", context),
                html_body=render_to_string(f"emails/{kind}.html", context),
            )
    except IntegrityError:
        return None
    if settings.EMAIL_OUTBOX_FLUSH_ON_COMMIT:
        transaction.on_commit(lambda: email_send(message_id=message.pk))
    return message


def email_send(*, message_id: int) -> bool:
    """Send one queued message now. A failure is recorded and retried later; never raised."""
    with transaction.atomic():
        message = (
            OutboxEmail.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxEmail.Status.PENDING)
            .first()
        )
        if message is None:
            return False
        email = EmailMultiAlternatives(
            subject=message.subject,
            body=message.text_body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.to],
        )
        email.attach_alternative(message.html_body, "text/html")
        message.attempts += 1
        try:
            email.send()
        except Exception as exc:  # any transport error: keep the message and try again later
            logger.warning("Email %s to %s failed: %s", message.pk, message.to, exc)
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.status = OutboxEmail.Status.FAILED
            message.next_attempt_at = timezone.now() + _backoff(message.attempts)
        else:
            message.status = OutboxEmail.Status.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
        message.save()
        return message.status == OutboxEmail.Status.SENT


def emails_send_due(*, limit: int = 500) -> tuple[int, int]:
    """Send every pending message whose time has come. Safe in several processes at once.
    Returns (sent, failed)."""
    due = OutboxEmail.objects.filter(
        status=OutboxEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at", "id")
    sent = failed = 0
    for message_id in list(due.values_list("pk", flat=True)[:limit]):
        if email_send(message_id=message_id):
            sent += 1
        else:
            failed += 1
    return sent, failed


@transaction.atomic
def email_resend(*, message: OutboxEmail) -> None:
    """Staff: send this message again (also one that was sent or gave up)."""
    OutboxEmail.objects.filter(pk=message.pk).update(
        status=OutboxEmail.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
    )
    transaction.on_commit(lambda: email_send(message_id=message.pk))
