"""Fuzzing every API operation from our own OpenAPI schema, as a customer and as staff."""

import os
from decimal import Decimal

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.tests.factories import AddressFactory, StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from orders import services as order_services
from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory, TaxRateFactory
from payments.tests import fake_stripe

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
# No server errors, documented status codes, bodies and content types that match the schema.
# (Schemathesis' positive/negative data checks are left out: the schema cannot express business
# rules such as "min_price <= max_price", so a documented 400 for such input is correct.)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def _load_schema():
    from django.core.wsgi import get_wsgi_application

    # The schema endpoint needs no database, so it can be read while tests are collected.
    return schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


schema = _load_schema()


@pytest.fixture
def shop_data(db, monkeypatch):
    # Calls go through the real WSGI handler, whose request signals would close the test's
    # database connection mid-transaction; Django's own test client unhooks them the same way.
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    fake_stripe.install(monkeypatch)
    yield _make_shop_data()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _make_shop_data():
    from django.apps import apps
    from django.contrib.auth.models import Group

    from accounts.roles import STORE_MANAGERS_GROUP, store_managers_sync

    store_managers_sync(apps)
    customer, staff = UserFactory(), StaffFactory()
    staff.groups.add(Group.objects.get(name=STORE_MANAGERS_GROUP))
    book = BookFactory(stock_quantity=1000)
    # Checkout data, so that quotes, orders and address routes get past "not found".
    ShippingMethodFactory(code="standard", price=Decimal("4.99"))
    TaxRateFactory(country="US", region="NY")
    AddressFactory(user=customer)
    order_services.order_place(
        user=customer,
        items=[{"book": book.pk, "quantity": 1}],
        shipping_address=TEST_ADDRESS,
        shipping_method="standard",
    )
    return customer, staff


def bearer(user):
    from rest_framework_simplejwt.tokens import AccessToken

    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_as_a_customer(case, shop_data):
    customer, _ = shop_data
    case.call_and_validate(headers=bearer(customer), checks=CHECKS)


@schema.parametrize()
@FUZZ_SETTINGS
@pytest.mark.django_db
def test_api_as_staff(case, shop_data):
    _, staff = shop_data
    case.call_and_validate(headers=bearer(staff), checks=CHECKS)
