"""The back office for shipping: the ship page with carrier and tracking number, the address on
the order page, the packing slip, list filters, and managing methods and rates."""

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from orders import services
from orders.models import Order, OrderStatus, ShippingMethod
from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
BERLIN = {
    "full_name": "Bea Leser",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}


@pytest.fixture
def methods():
    return [
        ShippingMethodFactory(code="standard", name="Standard", price=Decimal("4.99")),
        ShippingMethodFactory(code="express", name="Express", price=Decimal("14.99")),
    ]


def paid_order(address=TEST_ADDRESS, method="standard", title="The Hobbit"):
    book = BookFactory(stock_quantity=5, title=title, isbn13=None)
    order = services.order_place(
        user=UserFactory(),
        items=[{"book": book.pk, "quantity": 2}],
        shipping_address=address,
        shipping_method=method,
    )
    services.order_mark_paid(order_id=order.pk)
    return Order.objects.get(pk=order.pk)


def test_ship_page_asks_for_carrier_and_tracking(
    manager_client, methods, django_capture_on_commit_callbacks
):
    order = paid_order({**TEST_ADDRESS, "line2": "Apt 7"})
    page = manager_client.get(f"{ORDERS}{order.pk}/confirm/action_order_ship/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="carrier"' in html and 'name="tracking_number"' in html

    data = {
        "action": "action_order_ship",
        "_selected_action": [order.pk],
        "confirmed": "yes",
        "carrier": "dhl",
        "tracking_number": "<bad>",
    }
    refused = manager_client.post(ORDERS, data)
    assert refused.status_code == 200 and "errorlist" in refused.content.decode()
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = manager_client.post(ORDERS, {**data, "tracking_number": "JD014600006281"})
    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.status, order.carrier, order.tracking_number) == (
        "shipped",
        "dhl",
        "JD014600006281",
    )
    assert order.tracking_url.endswith("tracking-id=JD014600006281")
    [email] = mail.outbox
    assert "Apt 7" in email.body and order.tracking_url in email.body


def test_order_page_shows_the_addresses_shipping_and_tax(manager_client, methods):
    TaxRateFactory(country="US", region="NY", percent=Decimal("8.875"))
    order = paid_order({**TEST_ADDRESS, "company": "Reader & Sons"}, method="express", title="Dune")
    html = manager_client.get(f"{ORDERS}{order.pk}/change/").content.decode()
    assert "Reader &amp; Sons" in html and "1 Library Way" in html and "United States" in html
    assert "Express" in html
    assert "Tax US-NY 8.875%" in html
    assert str(order.tax_amount) in html
    assert f"{ORDERS}{order.pk}/packing-slip/" in html


def test_packing_slip_lists_address_and_lines_and_prints(manager_client, methods):
    order = paid_order({**TEST_ADDRESS, "full_name": "Ada <Reader>"}, title="Emma")
    page = manager_client.get(f"{ORDERS}{order.pk}/packing-slip/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ada &lt;Reader&gt;" in html  # escaped
    assert "1 Library Way" in html and "Albany, NY 12207" in html
    assert "Emma" in html and order.number in html
    assert "@media print" in html


def test_packing_slip_needs_order_view_permission(methods):
    order = paid_order()
    client = Client()
    client.force_login(UserFactory(is_staff=True))  # staff without any permission
    assert client.get(f"{ORDERS}{order.pk}/packing-slip/").status_code in (403, 302)
    client.force_login(UserFactory())
    assert client.get(f"{ORDERS}{order.pk}/packing-slip/").status_code == 302  # to the login


def test_order_list_filters_by_country_and_shipping_method(manager_client, methods):
    us = paid_order(TEST_ADDRESS, "standard")
    de = paid_order(BERLIN, "express")
    by_country = manager_client.get(ORDERS, {"shipping_country": "DE"}).content.decode()
    assert de.number in by_country and us.number not in by_country
    by_method = manager_client.get(ORDERS, {"shipping_method_code": "standard"}).content.decode()
    assert us.number in by_method and de.number not in by_method


def test_managers_maintain_shipping_methods_and_tax_rates(manager_client):
    created = manager_client.post(
        "/admin/orders/shippingmethod/add/",
        {
            "code": "courier",
            "name": "Courier",
            "countries": ["GB", "IE"],
            "price": "9.00",
            "free_over": "",
            "min_days": "1",
            "max_days": "1",
            "is_active": "on",
            "position": "0",
        },
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    method = ShippingMethod.objects.get(code="courier")
    assert method.serves("GB") and not method.serves("US")
    rate = manager_client.post(
        "/admin/orders/taxrate/add/",
        {"country": "US", "region": "ny", "name": "", "percent": "8.875", "shipping_taxed": "on"},
    )
    assert rate.status_code == 302
    assert manager_client.get("/admin/orders/taxrate/").content.decode().count("US-NY") >= 1
