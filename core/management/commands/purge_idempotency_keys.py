from django.core.management.base import BaseCommand

from core.retention import idempotency_keys_purge


class Command(BaseCommand):
    help = "Delete idempotency keys past their 24-hour lifetime, in small batches (run_jobs)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {idempotency_keys_purge()} expired idempotency key(s).")
