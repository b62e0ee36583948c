from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from payments.services import payments_reconcile


class Command(BaseCommand):
    help = (
        "Ask Stripe for the state of payments still open after a few minutes (confirmed ones "
        "after a minute) and apply it "
        "(recovers webhooks that never arrived). Run it from a scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=settings.PAYMENT_RECONCILE_AFTER_MINUTES,
            help="only payments started at least this many minutes ago",
        )
        parser.add_argument(
            "--processing-seconds",
            type=int,
            default=settings.PAYMENT_RECONCILE_PROCESSING_SECONDS,
            help="and payments confirmed (processing) at least this many seconds ago",
        )

    def handle(self, *args, minutes, processing_seconds, **options):
        now = timezone.now()
        result = payments_reconcile(
            older_than=now - timedelta(minutes=minutes),
            processing_since_before=now - timedelta(seconds=processing_seconds),
        )
        self.stdout.write(f"Checked {result.checked} open payment(s) with Stripe.")
        if result.failed:
            ids = ", ".join(str(payment_id) for payment_id in result.failed)
            raise CommandError(
                f"{len(result.failed)} payment(s) could not be checked (see the log): {ids}"
            )
