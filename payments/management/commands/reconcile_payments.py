from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone

from payments.services import payments_reconcile


class Command(BaseCommand):
    help = (
        "Ask Stripe for the state of payments still open after a few minutes and apply it "
        "(recovers webhooks that never arrived). Run it from a scheduler."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--minutes",
            type=int,
            default=settings.PAYMENT_RECONCILE_AFTER_MINUTES,
            help="only payments started at least this many minutes ago",
        )

    def handle(self, *args, minutes, **options):
        checked = payments_reconcile(older_than=timezone.now() - timedelta(minutes=minutes))
        self.stdout.write(f"Checked {checked} open payment(s) with Stripe.")
