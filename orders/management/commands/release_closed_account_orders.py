from django.core.management.base import BaseCommand

from orders.services import orders_closed_accounts_release


class Command(BaseCommand):
    help = (
        "Remove the shipping address and email address kept for delivering the paid orders of "
        "closed accounts, once those orders are shipped, refunded or delivered (run_jobs)."
    )

    def handle(self, *args, **options):
        released = orders_closed_accounts_release()
        self.stdout.write(f"Anonymised {released} order(s) of closed accounts.")
