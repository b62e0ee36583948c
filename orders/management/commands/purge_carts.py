from django.core.management.base import BaseCommand

from orders.carts import anonymous_carts_purge


class Command(BaseCommand):
    help = "Delete anonymous carts unchanged for CART_TTL_DAYS, in small batches (run_jobs)."

    def handle(self, *args, **options):
        self.stdout.write(f"Deleted {anonymous_carts_purge()} abandoned anonymous cart(s).")
