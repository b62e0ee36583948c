"""The cart endpoints: a cart in the quote's shape, whose id is its key; its problems; checkout
from a cart equal to placing the same order; the customer's cart and merging; throttling."""

from decimal import Decimal

import pytest
from django.test import override_settings

from accounts.tests.factories import AddressFactory, UserFactory
from bookstore.testing import ProblemCheckingAPIClient
from catalog.tests.factories import BookFactory
from orders.models import MAX_LINE_QUANTITY, Cart, CartLine, DiscountCode, Order
from orders.tests.factories import DiscountCodeFactory, ShippingMethodFactory

pytestmark = pytest.mark.django_db


def client_for(user=None):
    client = ProblemCheckingAPIClient()
    if user is not None:
        client.force_authenticate(user)
        client.user = user
    return client


def new_cart(client):
    response = client.post("/api/carts/")
    assert response.status_code == 201, response.json()
    return response.json()


def test_anonymous_cart_is_created_and_read_by_its_id(api_client):
    book = BookFactory(price=Decimal("12.50"), stock_quantity=5)
    cart = new_cart(api_client)
    assert len(cart["id"]) >= 32
    assert cart["items"] == [] and cart["total"] == "0.00" and cart["problems"] == []

    response = api_client.post(f"/api/carts/{cart['id']}/items/", {"book": book.pk, "quantity": 2})
    assert response.status_code == 200, response.json()
    body = api_client.get(f"/api/carts/{cart['id']}/").json()
    assert body["items"] == [
        {
            "book": book.pk,
            "title": book.title,
            "unit_price": "12.50",
            "quantity": 2,
            "line_total": "25.00",
        }
    ]
    assert body["subtotal"] == "25.00" and body["total"] == "25.00"
    assert body["problems"] == []
