from django.conf import settings
from django.core.management.base import BaseCommand

from payments.retention import webhook_triggers_purge


class Command(BaseCommand):
    help = (
        "Delete dj-stripe's webhook request records older than WEBHOOK_RETENTION_DAYS, in small "
        "batches (run_jobs)."
    )

    def handle(self, *args, **options):
        deleted = webhook_triggers_purge()
        self.stdout.write(
            f"Deleted {deleted} webhook request(s) older than "
            f"{settings.WEBHOOK_RETENTION_DAYS} days."
        )
