from django.conf import settings
from django.core.management.base import BaseCommand

from core.retention import sent_emails_purge


class Command(BaseCommand):
    help = (
        "Delete outbox emails sent more than EMAIL_RETENTION_DAYS ago, in small batches (run_jobs)."
    )

    def handle(self, *args, **options):
        deleted = sent_emails_purge()
        self.stdout.write(
            f"Deleted {deleted} email(s) sent over {settings.EMAIL_RETENTION_DAYS} days ago."
        )
