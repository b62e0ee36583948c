from urllib.error import URLError

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from payments.stripe_setup import local_server_register_webhook, stripe_setup


class Command(BaseCommand):
    help = (
        "Prepare dj-stripe to accept webhooks: API key and account rows, and the webhook "
        "endpoint for SITE_URL with STRIPE_WEBHOOK_SECRET. With STRIPE_API_BASE set (the local "
        "Stripe server), also register the webhook URL there. Safe to run on every deploy."
    )

    def handle(self, *args, **options):
        if not settings.STRIPE_SECRET_KEY or not settings.STRIPE_WEBHOOK_SECRET:
            self.stdout.write(
                "Stripe is not configured (STRIPE_SECRET_KEY / STRIPE_WEBHOOK_SECRET)."
            )
            return
        url = stripe_setup()
        self.stdout.write(f"Stripe webhook endpoint: {url}")
        if settings.STRIPE_API_BASE:
            try:
                local_server_register_webhook(url)
            except (URLError, OSError) as error:
                raise CommandError(
                    f"Could not register the webhook with {settings.STRIPE_API_BASE}: {error}"
                ) from error
            self.stdout.write(
                f"Registered it with the local Stripe server {settings.STRIPE_API_BASE}"
            )
        else:
            self.stdout.write(
                "Add this URL as a webhook endpoint in the Stripe dashboard (or forward events to "
                "it with `stripe listen --forward-to`), with the signing secret in "
                "STRIPE_WEBHOOK_SECRET."
            )
