"""Who may do what: every API route from the schema, as anonymous, customer A (the owner),
customer B (another customer), staff without permissions (`is_staff` alone: enters the admin,
may do nothing there nor through the API), a store manager (the "Store managers" group of
`accounts/roles.py`) and a superuser. The expected table lives here, so a new route without an
entry fails `test_every_route_has_an_entry`.

OK means the caller got past authentication and permission checks (a 2xx, or a business answer
such as 400 validation or 409 conflict); 401/403/404 are the refusals.
"""

from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from drf_spectacular.generators import SchemaGenerator
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from accounts.roles import STORE_MANAGERS_GROUP, store_managers_sync
from accounts.tests.factories import (
    DEFAULT_PASSWORD,
    AddressFactory,
    StaffFactory,
    UserFactory,
)
from catalog import services as catalog_services
from catalog.models import StockAlert
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from core.testing import ProblemCheckingAPIClient
from orders import carts as cart_services
from orders import services as order_services
from orders.tests.factories import (
    TEST_ADDRESS,
    ShippingMethodFactory,
    shipped_order,
    with_shipping,
)
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db

OK = "ok"
ROLES = ("anonymous", "customer_a", "customer_b", "bare_staff", "manager", "superuser")
PRIVILEGED = ("manager", "superuser")


def public():
    return dict.fromkeys(ROLES, OK)


def staff_only(anonymous=401):
    """Needs a model permission: managers and superusers have it, staff without it do not."""
    return {
        "anonymous": anonymous,
        "customer_a": 403,
        "customer_b": 403,
        "bare_staff": 403,
        **dict.fromkeys(PRIVILEGED, OK),
    }


def users_only():
    return {"anonymous": 401, **dict.fromkeys(ROLES[1:], OK)}


def owner_or_staff():
    """The owner, or whoever may view (or change) every order; bare staff see only their own."""
    return {
        "anonymous": 401,
        "customer_a": OK,
        "customer_b": 404,
        "bare_staff": 404,
        **dict.fromkeys(PRIVILEGED, OK),
    }


def owner_only():
    return {"anonymous": 401, "customer_a": OK, **dict.fromkeys(ROLES[2:], 404)}


def cart_holder():
    """Customer A's own cart: its id is public to nobody else, so everyone else (also without
    signing in, which an anonymous cart allows) gets not_found."""
    return {"anonymous": 404, "customer_a": OK, **dict.fromkeys(ROLES[2:], 404)}


def owner_or_staff_action_for_staff():
    """Staff-only actions on a customer's object: others are refused before the object is
    looked up."""
    return staff_only()


EXPECTED = {
    ("GET", "/api/health/"): public(),
    ("POST", "/api/users/register/"): public(),
    ("POST", "/api/users/login/"): public(),
    ("POST", "/api/users/token/refresh/"): public(),
    ("POST", "/api/users/logout/"): users_only(),
    ("GET", "/api/users/me/"): users_only(),
    ("PATCH", "/api/users/me/"): users_only(),
    ("POST", "/api/users/me/password/"): users_only(),
    ("DELETE", "/api/users/me/"): users_only(),
    ("GET", "/api/users/me/export/"): users_only(),
    ("POST", "/api/users/password-reset/"): public(),
    ("POST", "/api/users/password-reset/confirm/"): public(),
    ("POST", "/api/users/verify-email/"): public(),
    ("POST", "/api/users/verify-email/resend/"): users_only(),
    ("GET", "/api/books/"): public(),
    ("GET", "/api/books/{id}/"): public(),
    ("GET", "/api/books/suggest/"): public(),
    ("POST", "/api/books/"): staff_only(),
    ("PUT", "/api/books/{id}/"): staff_only(),
    ("PATCH", "/api/books/{id}/"): staff_only(),
    ("DELETE", "/api/books/{id}/"): staff_only(),
    ("GET", "/api/authors/"): public(),
    ("GET", "/api/authors/{id}/"): public(),
    ("POST", "/api/authors/"): staff_only(),
    ("PUT", "/api/authors/{id}/"): staff_only(),
    ("PATCH", "/api/authors/{id}/"): staff_only(),
    ("DELETE", "/api/authors/{id}/"): staff_only(),
    ("GET", "/api/genres/"): public(),
    ("GET", "/api/genres/{id}/"): public(),
    ("POST", "/api/genres/"): staff_only(),
    ("PUT", "/api/genres/{id}/"): staff_only(),
    ("PATCH", "/api/genres/{id}/"): staff_only(),
    ("DELETE", "/api/genres/{id}/"): staff_only(),
    ("GET", "/api/orders/"): users_only(),
    ("POST", "/api/orders/"): users_only(),
    ("GET", "/api/orders/{id}/"): owner_or_staff(),
    ("POST", "/api/orders/{id}/cancel/"): owner_or_staff(),
    ("POST", "/api/orders/{id}/ship/"): owner_or_staff_action_for_staff(),
    ("POST", "/api/orders/{id}/deliver/"): owner_or_staff_action_for_staff(),
    ("POST", "/api/orders/quote/"): users_only(),
    ("GET", "/api/shipping-methods/"): public(),
    ("POST", "/api/carts/"): public(),
    ("GET", "/api/carts/{cart_id}/"): cart_holder(),
    ("PATCH", "/api/carts/{cart_id}/"): cart_holder(),
    ("POST", "/api/carts/{cart_id}/items/"): cart_holder(),
    ("PATCH", "/api/carts/{cart_id}/items/{book_id}/"): cart_holder(),
    ("DELETE", "/api/carts/{cart_id}/items/{book_id}/"): cart_holder(),
    ("POST", "/api/carts/{cart_id}/checkout/"): owner_only(),
    ("GET", "/api/users/me/cart/"): users_only(),
    ("POST", "/api/users/me/cart/merge/"): users_only(),  # an anonymous cart: any holder
    ("GET", "/api/users/me/addresses/"): users_only(),
    ("POST", "/api/users/me/addresses/"): users_only(),
    # A's address: the book is scoped to its owner, so staff get 404 through the API too.
    ("GET", "/api/users/me/addresses/{id}/"): owner_only(),
    ("PATCH", "/api/users/me/addresses/{id}/"): owner_only(),
    ("DELETE", "/api/users/me/addresses/{id}/"): owner_only(),
    ("GET", "/api/payments/"): users_only(),
    ("POST", "/api/payments/"): {
        "anonymous": 401,
        "customer_a": OK,
        # A's order; staff pay only their own orders
        **dict.fromkeys(ROLES[2:], 404),
    },
    ("GET", "/api/payments/{id}/"): owner_or_staff(),
    ("POST", "/api/payments/{id}/confirm/"): owner_only(),
    ("POST", "/api/payments/{id}/refund/"): owner_or_staff_action_for_staff(),
    # Only the order's owner asks for a return (staff who see the order get 404 too).
    ("POST", "/api/orders/{id}/returns/"): owner_only(),
    ("POST", "/api/orders/{id}/returns/quote/"): owner_only(),
    ("POST", "/api/orders/{id}/clear-dispute/"): owner_or_staff_action_for_staff(),
    ("GET", "/api/returns/"): users_only(),
    ("GET", "/api/returns/{id}/"): owner_or_staff(),
    ("POST", "/api/returns/{id}/approve/"): owner_or_staff_action_for_staff(),
    ("POST", "/api/returns/{id}/reject/"): owner_or_staff_action_for_staff(),
    ("POST", "/api/returns/{id}/receive/"): owner_or_staff_action_for_staff(),
    ("POST", "/api/returns/{id}/refund/"): owner_or_staff_action_for_staff(),
    ("GET", "/api/books/{book_id}/reviews/"): public(),
    # A bought the book (and reviewed it: a second review is a 400, past the checks).
    ("POST", "/api/books/{book_id}/reviews/"): {
        "anonymous": 401,
        "customer_a": OK,
        **dict.fromkeys(ROLES[2:], 403),  # not_a_buyer
    },
    ("GET", "/api/books/{book_id}/reviews/mine/"): owner_only(),
    ("PUT", "/api/books/{book_id}/reviews/mine/"): owner_only(),
    ("DELETE", "/api/books/{book_id}/reviews/mine/"): owner_only(),
    ("POST", "/api/reviews/{review_id}/hide/"): staff_only(),
    ("POST", "/api/reviews/{review_id}/restore/"): staff_only(),
    ("GET", "/api/users/me/wishlist/"): users_only(),
    ("PUT", "/api/users/me/wishlist/{book_id}/"): users_only(),
    ("DELETE", "/api/users/me/wishlist/{book_id}/"): owner_only(),  # on A's wishlist only
    ("POST", "/api/books/{book_id}/notify-me/"): users_only(),  # in stock: 409, past the checks
    ("DELETE", "/api/books/{book_id}/notify-me/"): owner_only(),  # A waits for it
    ("GET", "/api/users/me/alerts/"): users_only(),
}


def schema_routes():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
        and path.startswith("/api/")
        and not path.startswith(("/api/schema", "/api/docs"))
    }


def test_every_route_has_an_entry():
    assert schema_routes() == set(EXPECTED)


@pytest.fixture
def world(fake):
    # Everyone has confirmed their address: what needs it (alerts) is then decided by role.
    customer_a, customer_b = UserFactory(email_verified=True), UserFactory(email_verified=True)
    store_managers_sync(apps)
    manager = StaffFactory(email_verified=True)
    manager.groups.add(Group.objects.get(name=STORE_MANAGERS_GROUP))
    book = BookFactory(authors=[AuthorFactory()], genres=[GenreFactory()], stock_quantity=50)
    payment = payment_for_new_order(fake=fake, user=customer_a, book=book)
    address = AddressFactory(user=customer_a)
    order_body = with_shipping({"items": [{"book": book.pk, "quantity": 1}]})
    cart = cart_services.cart_of_customer(user=customer_a)
    cart_services.cart_line_add(cart=cart, book_id=book.pk, quantity=1)
    anonymous_cart = cart_services.cart_create()
    shipped = shipped_order(user=customer_a, lines={book: 1})
    return_body = {"items": [{"book": book.pk, "quantity": 1}], "reason": "Changed my mind"}
    order_return = order_services.return_request(
        user=customer_a, order_id=shipped.pk, **return_body
    )
    bought = order_services.order_place(user=customer_a, items=[{"book": book.pk, "quantity": 1}])
    order_services.order_mark_paid(order_id=bought.pk)
    review = catalog_services.review_create(user=customer_a, book_id=book.pk, rating=4)
    catalog_services.wishlist_add(user=customer_a, book_id=book.pk)
    StockAlert.objects.create(user=customer_a, book=book)  # from before the last restock
    return {
        "users": {
            "customer_a": customer_a,
            "customer_b": customer_b,
            "bare_staff": StaffFactory(email_verified=True),
            "manager": manager,
            "superuser": StaffFactory(is_superuser=True, email_verified=True),
        },
        "ids": {
            "books": book.pk,
            "authors": book.authors.first().pk,
            "genres": book.genres.first().pk,
            "orders": payment.order_id,
            "payments": payment.pk,
            "users": address.pk,  # /api/users/me/addresses/{id}/
            "cart_id": cart.pk,
            "book_id": book.pk,
            "returns": order_return.pk,
            "review_id": review.pk,
        },
        "bodies": {
            "/api/users/register/": {"email": "new@example.com", "password": "Sturdy-Paperback-42"},
            "/api/users/login/": {"email": customer_a.email, "password": DEFAULT_PASSWORD},
            "/api/users/token/refresh/": {"refresh": str(RefreshToken.for_user(customer_a))},
            "/api/users/me/password/": {"current_password": "x", "new_password": "y"},
            "/api/users/password-reset/": {"email": customer_a.email},
            "/api/users/password-reset/confirm/": {
                "uid": "MQ",
                "token": "not-a-token",
                "new_password": "Sturdy-Paperback-42",
            },
            "/api/users/verify-email/": {"uid": "MQ", "token": "not-a-token"},
            "/api/books/": {"title": "T", "authors": ["A"], "price": "1.00"},
            "/api/books/suggest/": {"q": "boo"},
            "/api/authors/": {"name": "Someone"},
            "/api/genres/": {"name": "Something"},
            "/api/orders/": order_body,
            "/api/orders/quote/": order_body,
            "/api/users/me/addresses/": TEST_ADDRESS,
            "/api/users/me/addresses/{id}/": {"line2": "Flat 2"},
            "/api/payments/": {"order": payment.order_id},
            "/api/payments/{id}/confirm/": {"payment_method": "pm_card"},
            "/api/carts/{cart_id}/": {"discount_code": "X"},
            "/api/carts/{cart_id}/items/": {"book": book.pk, "quantity": 1},
            "/api/carts/{cart_id}/items/{book_id}/": {"quantity": 2},
            "/api/users/me/cart/merge/": {"cart": anonymous_cart.pk},
            "/api/orders/{id}/returns/": return_body,
            "/api/orders/{id}/returns/quote/": return_body,
            "/api/books/{book_id}/reviews/": {"rating": 5},
            "/api/books/{book_id}/reviews/mine/": {"rating": 3},
            "/api/reviews/{review_id}/hide/": {"reason": "Spoilers"},
            "/api/reviews/{review_id}/restore/": {"reason": "Edited"},
        },
    }


@pytest.fixture
def fake(monkeypatch):
    from payments.tests import fake_stripe

    return fake_stripe.install(monkeypatch)


def call(world, role, method, path):
    client = ProblemCheckingAPIClient()
    user = world["users"].get(role)
    if user:
        client.force_authenticate(user)
    resource = path.split("/")[2]
    url = path.replace("{id}", str(world["ids"].get(resource, 0)))
    for name in ("cart_id", "book_id", "review_id"):
        url = url.replace(f"{{{name}}}", str(world["ids"][name]))
    body = dict(world["bodies"].get(path, {}))
    if path == "/api/users/logout/" and user:
        body = {"refresh": str(RefreshToken.for_user(user))}
    if (method, path) == ("DELETE", "/api/users/me/"):
        body = {"password": DEFAULT_PASSWORD}
    return getattr(client, method.lower())(url, body or None, format="json")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", sorted(EXPECTED), ids=lambda r: f"{r[0]} {r[1]}")
def test_access(world, route, role):
    method, path = route
    expected = EXPECTED[route][role]
    response = call(world, role, method, path)
    if expected == OK:
        assert response.status_code not in (401, 403, 404, 405), (
            response.status_code,
            response.content[:300],
        )
        assert response.status_code < 500
    else:
        assert response.status_code == expected, (response.status_code, response.content[:300])


# --- Mass assignment -------------------------------------------------------------------------


def test_register_cannot_make_staff(api_client):
    api_client.post(
        "/api/users/register/",
        {
            "email": "sneaky@example.com",
            "password": "Sturdy-Paperback-42",
            "is_staff": True,
            "is_superuser": True,
            "email_verified": True,
        },
    )
    user = User.objects.get(email="sneaky@example.com")
    assert (user.is_staff, user.is_superuser, user.email_verified) == (False, False, False)


def test_order_fields_the_client_may_not_set(user_client):
    book = BookFactory(stock_quantity=5)
    other = UserFactory()
    ShippingMethodFactory(code="post", price=Decimal("3.00"))
    body = user_client.post(
        "/api/orders/",
        {
            "items": [{"book": book.pk, "quantity": 1, "price": "0.01", "unit_price": "0.01"}],
            "shipping_address": TEST_ADDRESS,
            "shipping_method": "post",
            "status": "paid",
            "total": "0.01",
            "subtotal": "0.01",
            "discount_amount": "99",
            "shipping_amount": "0.00",
            "tax_amount": "0.00",
            "tracking_number": "X",
            "user": other.pk,
            "paid_at": "2020-01-01T00:00:00Z",
        },
    ).json()
    assert (body["status"], body["total"], body["discount_amount"]) == ("pending", "15.50", "0.00")
    assert (body["shipping_amount"], body["tracking_number"]) == ("3.00", "")
    assert body["user"] == user_client.user.email and body["paid_at"] is None


def test_address_owner_cannot_be_set_by_the_client(user_client):
    other = UserFactory()
    created = user_client.post("/api/users/me/addresses/", {**TEST_ADDRESS, "user": other.pk})
    assert created.status_code == 201
    assert not other.addresses.exists()
    assert user_client.user.addresses.count() == 1


def test_payment_fields_the_client_may_not_set(fake, user_client):
    order = order_services.order_place(
        user=user_client.user, items=[{"book": BookFactory().pk, "quantity": 1}]
    )
    body = user_client.post(
        "/api/payments/",
        {"order": order.pk, "amount": "0.01", "status": "succeeded", "currency": "jpy"},
    ).json()
    assert (body["amount"], body["status"], body["currency"]) == (
        "12.50",
        "requires_payment",
        "usd",
    )


def test_staff_cannot_write_reserved_stock_or_timestamps(staff_client):
    book = BookFactory(stock_quantity=10, reserved_quantity=3)
    staff_client.patch(
        f"/api/books/{book.pk}/",
        {"reserved_quantity": 0, "created_at": "2000-01-01T00:00:00Z", "id": 999},
    )
    book.refresh_from_db()
    assert (book.pk, book.reserved_quantity) == (book.pk, 3)
    assert book.created_at.year > 2000
