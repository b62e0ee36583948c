from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import User
from accounts.roles import store_managers_sync
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient
from orders.models import DiscountCode, ShippingMethod, TaxRate

pytestmark = pytest.mark.django_db


def test_seed_demo_loads_the_shop_once():
    store_managers_sync(apps)  # the migration does this in a real database
    call_command("seed_demo", stdout=StringIO())
    assert Book.objects.count() == 10_000
    admin = User.objects.get(email="admin@bookstore.local")
    manager = User.objects.get(email="manager@bookstore.local")
    reader = User.objects.get(email="reader@bookstore.local")
    assert admin.is_superuser and admin.check_password("bookstore-admin")
    assert manager.is_staff and not manager.is_superuser
    assert manager.has_perm("catalog.change_book") and not manager.has_perm("accounts.change_user")
    assert not reader.is_staff
    assert admin.email_verified and manager.email_verified and reader.email_verified
    assert DiscountCode.objects.filter(code="WELCOME10").exists()

    assert set(ShippingMethod.objects.values_list("code", flat=True)) == {"standard", "express"}
    # Genres only where readers' shelves name one (2,712 books have shelf data).
    assert Book.objects.filter(genres__isnull=False).distinct().count() == 2712
    assert Book.objects.filter(stock_quantity=0).count() == 50
    assert set(TaxRate.objects.values_list("country", "region")) == {
        ("US", "NY"),
        ("DE", ""),
        ("GB", ""),
    }
    [address] = reader.addresses.all()
    assert (address.country.code, address.region, address.is_default_shipping) == ("US", "NY", True)
    manager.groups.get()  # a store manager may manage shipping methods and tax rates
    assert manager.has_perm("orders.change_shippingmethod")
    assert manager.has_perm("orders.add_taxrate")

    call_command("seed_demo", stdout=StringIO())
    assert Book.objects.count() == 10_000
    assert User.objects.count() == 3
    assert (ShippingMethod.objects.count(), TaxRate.objects.count()) == (2, 3)
    assert reader.addresses.count() == 1


def test_demo_customer_can_quote_and_place_with_shipping_and_tax():
    store_managers_sync(apps)
    call_command("seed_demo", "--no-catalogue", stdout=StringIO())
    reader = User.objects.get(email="reader@bookstore.local")
    book = BookFactory(price=Decimal("10.00"), stock_quantity=5)
    client = ProblemCheckingAPIClient()
    client.force_authenticate(reader)
    body = {
        "items": [{"book": book.pk, "quantity": 2}],
        "shipping_address": reader.addresses.get().pk,
        "shipping_method": "standard",
    }
    quote = client.post("/api/orders/quote/", body).json()
    options = {option["code"]: option["price"] for option in quote["shipping_options"]}
    # One standard option below 50, not a second, slower one at the same price.
    assert options == {"standard": "4.99", "express": "14.99"}
    # 20.00 + 4.99 + 8.875% NY tax of 24.99 (2.2178... -> 2.22)
    assert (quote["tax_amount"], quote["total"]) == ("2.22", "27.21")
    placed = client.post("/api/orders/", body).json()
    assert (placed["tax_amount"], placed["total"], placed["status"]) == ("2.22", "27.21", "pending")

    body["items"] = [{"book": book.pk, "quantity": 5}]  # 50.00: standard is now free
    quote = client.post("/api/orders/quote/", body).json()
    options = {option["code"]: option["price"] for option in quote["shipping_options"]}
    assert options == {"standard": "0.00", "express": "14.99"}
