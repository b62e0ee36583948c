from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Address, User
from accounts.roles import STORE_MANAGERS_GROUP
from catalog import services
from catalog.genre_tags import genres_by_source_id
from catalog.models import Book
from orders.models import DiscountCode, ShippingMethod, TaxRate

DEMO_SHIPPING_METHODS = [
    # code, name, price, free over, min days, max days, countries (empty = all)
    # One standard method that becomes free from 50: a small cart is not offered two 4.99
    # options, one of them slower.
    ("standard", "Standard (free from 50.00)", "4.99", "50.00", 3, 6, ""),
    ("express", "Express", "14.99", None, 1, 2, ""),
]
DEMO_TAX_RATES = [
    # country, region, name, percent, shipping taxed
    ("US", "NY", "NY sales tax", "8.875", True),
    ("DE", "", "MwSt", "19", True),
    ("GB", "", "VAT", "20", True),
]
DEMO_CUSTOMER_ADDRESS = {
    "full_name": "Demo Reader",
    "line1": "350 Fifth Avenue",
    "city": "New York",
    "region": "NY",
    "postal_code": "10118",
    "country": "US",
    "is_default_shipping": True,
}
DEMO_DATA = Path(settings.BASE_DIR) / "data" / "goodbooks-10k"
DEMO_CATALOGUE = DEMO_DATA / "books.csv"
DEMO_TAGS = DEMO_DATA / "tags.csv"
DEMO_BOOK_TAGS = DEMO_DATA / "book_tags_partial.csv"
DEMO_USERS = [
    # email, password, first name, staff, superuser
    ("admin@bookstore.local", "bookstore-admin", "Admin", True, True),
    ("manager@bookstore.local", "bookstore-manager", "Manager", True, False),
    ("reader@bookstore.local", "bookstore-reader", "Reader", False, False),
]


class Command(BaseCommand):
    help = (
        "Load the demo shop: the 10,000-book goodbooks catalogue with genres from the data set's "
        "reader shelves (catalog/genre_tags.py), a superuser, a store manager, a customer with "
        "an address, a WELCOME10 discount code, shipping methods and tax rates. "
        "Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-catalogue", action="store_true", help="Skip importing the demo catalogue."
        )

    def handle(self, *args, **options):
        self._users()
        DiscountCode.objects.get_or_create(
            code="WELCOME10", defaults={"kind": "percent", "value": Decimal("10")}
        )
        self._checkout()
        if Book.objects.exists():
            self.stdout.write("Catalogue already loaded.")
        elif not options["no_catalogue"]:
            call_command("import_books", DEMO_CATALOGUE, stdout=self.stdout, stderr=self.stderr)
        if not options["no_catalogue"]:
            self._genres()
        self.stdout.write(self.style.SUCCESS("Demo data ready."))

    @transaction.atomic
    def _users(self):
        managers = Group.objects.filter(name=STORE_MANAGERS_GROUP).first()
        # The demo's addresses take no mail, so no link could confirm them: the shop's own
        # accounts count as confirmed (alerts, and ordering where that is required, need it),
        # also in a database seeded before.
        User.objects.filter(email__in=[row[0] for row in DEMO_USERS]).update(email_verified=True)
        for email, password, first_name, is_staff, is_superuser in DEMO_USERS:
            if User.objects.filter(email=email).exists():
                continue
            user = User.objects.create_user(
                email,
                password,
                first_name=first_name,
                is_staff=is_staff,
                is_superuser=is_superuser,
                email_verified=True,
            )
            if is_staff and not is_superuser and managers:
                user.groups.add(managers)
            self.stdout.write(f"Created {email}")

    def _genres(self):
        """Genres for the books readers shelved under one (genre_tags.py says how); books
        that already have genres keep theirs."""
        filled = services.book_genres_fill(
            genres_by_source_id=genres_by_source_id(
                books_csv=DEMO_CATALOGUE, tags_csv=DEMO_TAGS, book_tags_csv=DEMO_BOOK_TAGS
            )
        )
        if filled:
            self.stdout.write(f"Genres given to {filled} books from readers' shelves.")

    @transaction.atomic
    def _checkout(self):
        for code, name, price, free_over, min_days, max_days, countries in DEMO_SHIPPING_METHODS:
            ShippingMethod.objects.get_or_create(
                code=code,
                defaults={
                    "name": name,
                    "price": Decimal(price),
                    "free_over": Decimal(free_over) if free_over else None,
                    "min_days": min_days,
                    "max_days": max_days,
                    "countries": countries,
                },
            )
        for country, region, name, percent, shipping_taxed in DEMO_TAX_RATES:
            TaxRate.objects.get_or_create(
                country=country,
                region=region,
                defaults={
                    "name": name,
                    "percent": Decimal(percent),
                    "shipping_taxed": shipping_taxed,
                },
            )
        reader = User.objects.get(email="reader@bookstore.local")
        if not Address.objects.filter(user=reader).exists():
            Address.objects.create(user=reader, **DEMO_CUSTOMER_ADDRESS)
