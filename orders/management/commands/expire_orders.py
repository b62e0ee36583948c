from django.core.management.base import BaseCommand

from orders.services import orders_expire_lapsed


class Command(BaseCommand):
    help = (
        "Expire pending orders whose stock hold has lapsed and release their stock. "
        "Run it from a scheduler (every minute or so); several at once are safe."
    )

    def handle(self, *args, **options):
        expired = orders_expire_lapsed()
        self.stdout.write(f"Expired {expired} order(s).")
