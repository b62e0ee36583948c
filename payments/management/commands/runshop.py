import os
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from payments import localstripe_server


class Command(BaseCommand):
    help = (
        "Development: run the local Stripe server, register our webhook with it, and serve the "
        "shop with runserver. Stops the Stripe server when the shop stops."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        # runserver's auto-reloader runs this command again in a child process (RUN_MAIN set):
        # only the parent starts the Stripe server.
        if os.environ.get("RUN_MAIN") or not settings.STRIPE_API_BASE:
            call_command("runserver", addrport)
            return
        port = urlsplit(settings.STRIPE_API_BASE).port or 8420
        data_dir = Path(settings.BASE_DIR) / "var" / "localstripe"
        with localstripe_server.running(port=port, data_dir=data_dir, quiet=False):
            call_command("stripe_setup", stdout=self.stdout)
            call_command("runserver", addrport)
