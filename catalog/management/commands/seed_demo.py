from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.roles import STORE_MANAGERS_GROUP
from catalog.models import Book
from orders.models import DiscountCode

DEMO_CATALOGUE = Path(settings.BASE_DIR) / "data" / "goodbooks-10k" / "books.csv"
DEMO_USERS = [
    # email, password, first name, staff, superuser
    ("admin@bookstore.local", "bookstore-admin", "Admin", True, True),
    ("manager@bookstore.local", "bookstore-manager", "Manager", True, False),
    ("reader@bookstore.local", "bookstore-reader", "Reader", False, False),
]


class Command(BaseCommand):
    help = (
        "Load the demo shop: the 10,000-book goodbooks catalogue, a superuser, a store manager, "
        "a customer and a WELCOME10 discount code. Safe to run again."
    )

    def handle(self, *args, **options):
        self._users()
        DiscountCode.objects.get_or_create(
            code="WELCOME10", defaults={"kind": "percent", "value": Decimal("10")}
        )
        if Book.objects.exists():
            self.stdout.write("Catalogue already loaded.")
        else:
            call_command("import_books", DEMO_CATALOGUE, stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    @transaction.atomic
    def _users(self):
        managers = Group.objects.filter(name=STORE_MANAGERS_GROUP).first()
        for email, password, first_name, is_staff, is_superuser in DEMO_USERS:
            if User.objects.filter(email=email).exists():
                continue
            user = User.objects.create_user(
                email,
                password,
                first_name=first_name,
                is_staff=is_staff,
                is_superuser=is_superuser,
            )
            if is_staff and not is_superuser and managers:
                user.groups.add(managers)
            self.stdout.write(f"Created {email}")
