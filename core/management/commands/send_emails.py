from django.core.management.base import BaseCommand

from core.outbox import emails_send_due


class Command(BaseCommand):
    help = (
        "Send the outbox emails that are due, retrying failed ones with backoff. Run it from "
        "the scheduler (every minute); several at once are safe."
    )

    def handle(self, *args, **options):
        sent, failed = emails_send_due()
        self.stdout.write(f"Sent {sent} email(s); {failed} failed and will be retried.")
