from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command

from accounts.models import User
from accounts.roles import store_managers_sync
from catalog.models import Book
from orders.models import DiscountCode

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
    assert DiscountCode.objects.filter(code="WELCOME10").exists()

    call_command("seed_demo", stdout=StringIO())
    assert Book.objects.count() == 10_000
    assert User.objects.count() == 3
