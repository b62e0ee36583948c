"""The cart endpoints: a cart in the quote's shape, whose id is its key; its problems; checkout
from a cart equal to placing the same order; the customer's cart and merging; throttling."""

from decimal import Decimal

import pytest

from accounts.tests.factories import AddressFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.models import IdempotencyKey
from core.testing import ProblemCheckingAPIClient
from orders.models import MAX_LINE_QUANTITY, Cart, CartLine, DiscountCode, Order
from orders.tests.factories import DiscountCodeFactory, ShippingMethodFactory
from orders.throttles import CartCreationThrottle

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


def add(client, cart_id, book, quantity):
    return client.post(f"/api/carts/{cart_id}/items/", {"book": book.pk, "quantity": quantity})


def test_the_same_book_adds_up_and_is_capped_at_the_line_maximum(api_client):
    book = BookFactory(stock_quantity=500)
    cart_id = new_cart(api_client)["id"]
    add(api_client, cart_id, book, 2)
    body = add(api_client, cart_id, book, 3).json()
    assert [(i["book"], i["quantity"]) for i in body["items"]] == [(book.pk, 5)]

    response = add(api_client, cart_id, book, MAX_LINE_QUANTITY - 4)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "quantity"
    assert CartLine.objects.get(cart_id=cart_id).quantity == 5  # nothing changed


def test_set_and_remove_a_line(api_client):
    book, other = BookFactory(), BookFactory()
    cart_id = new_cart(api_client)["id"]
    add(api_client, cart_id, book, 1)
    add(api_client, cart_id, other, 1)
    body = api_client.patch(f"/api/carts/{cart_id}/items/{book.pk}/", {"quantity": 4}).json()
    assert {i["book"]: i["quantity"] for i in body["items"]} == {book.pk: 4, other.pk: 1}
    response = api_client.delete(f"/api/carts/{cart_id}/items/{other.pk}")
    assert response.status_code == 200
    assert [i["book"] for i in response.json()["items"]] == [book.pk]
    # A book not in the cart: 404; an unknown or unsaleable book to add: 400 naming `book`.
    assert api_client.delete(f"/api/carts/{cart_id}/items/{other.pk}/").status_code == 404
    assert (
        api_client.patch(f"/api/carts/{cart_id}/items/999999/", {"quantity": 1}).status_code == 404
    )
    response = api_client.post(f"/api/carts/{cart_id}/items/", {"book": 999999, "quantity": 1})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "book"
    response = api_client.patch(f"/api/carts/{cart_id}/items/{book.pk}/", {"quantity": 0})
    assert response.status_code == 400
    assert CartLine.objects.get(cart_id=cart_id).quantity == 4


def test_unknown_and_other_customers_carts_answer_the_same_404(api_client):
    owner, stranger = UserFactory(), UserFactory()
    owned = client_for(owner).get("/api/users/me/cart/").json()["id"]
    never = "A" * 32
    answers = []
    for client in (api_client, client_for(stranger)):
        for cart_id in (never, owned):
            for method, path, body in (
                ("get", f"/api/carts/{cart_id}/", None),
                ("patch", f"/api/carts/{cart_id}/", {"discount_code": "X"}),
                ("post", f"/api/carts/{cart_id}/items/", {"book": 1, "quantity": 1}),
                ("delete", f"/api/carts/{cart_id}/items/1/", None),
            ):
                response = getattr(client, method)(path, body)
                answers.append((response.status_code, response.json()))
    assert {(status, body["code"], body["detail"]) for status, body in answers} == {
        (404, "not_found", "Not found.")
    }
    assert client_for(owner).get(f"/api/carts/{owned}/").status_code == 200


def test_address_only_from_the_carts_owners_book(api_client):
    owner = UserFactory()
    owners_address = AddressFactory(user=owner)
    someone_elses = AddressFactory()
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    client = client_for(owner)
    cart_id = client.get("/api/users/me/cart/").json()["id"]
    response = client.patch(f"/api/carts/{cart_id}/", {"shipping_address": someone_elses.pk})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "shipping_address"
    # An anonymous cart has no address book at all: the same answer for any id.
    anonymous_id = new_cart(api_client)["id"]
    response = api_client.patch(
        f"/api/carts/{anonymous_id}/", {"shipping_address": owners_address.pk}
    )
    assert response.status_code == 400
    assert Cart.objects.get(pk=anonymous_id).shipping_address_id is None

    body = client.patch(
        f"/api/carts/{cart_id}/",
        {"shipping_address": owners_address.pk, "shipping_method": "post"},
    ).json()
    assert body["shipping_address"]["line1"] == owners_address.line1
    assert body["shipping_method"] == "post"
    assert [option["code"] for option in body["shipping_options"]] == ["post"]
    # Any subset: the code alone leaves the address and method as they were.
    body = client.patch(f"/api/carts/{cart_id}/", {"discount_code": "nope"}).json()
    assert body["shipping_method"] == "post" and body["discount_code"] == "nope"


def test_problems_price_changed_stock_bad_code_and_below_minimum(api_client):
    book = BookFactory(price=Decimal("10.00"), stock_quantity=3)
    cheap = BookFactory(price=Decimal("0.10"), stock_quantity=10)
    DiscountCodeFactory(code="OLD", is_active=False)
    cart_id = new_cart(api_client)["id"]
    add(api_client, cart_id, book, 2)
    assert api_client.get(f"/api/carts/{cart_id}/").json()["problems"] == []

    book.price = Decimal("11.00")
    book.stock_quantity = 1
    book.save()
    api_client.patch(f"/api/carts/{cart_id}/", {"discount_code": "old"})
    body = api_client.get(f"/api/carts/{cart_id}/").json()
    codes = [problem["code"] for problem in body["problems"]]
    assert codes == ["invalid_discount_code", "price_changed", "insufficient_stock"]
    changed = body["problems"][1]["books"]
    assert changed == [
        {"book": book.pk, "title": book.title, "old_price": "10.00", "new_price": "11.00"}
    ]
    assert body["items"][0]["unit_price"] == "11.00"  # priced at today's price
    assert body["discount_amount"] == "0.00"

    # Setting the line again is looking at today's price: that problem goes.
    api_client.patch(f"/api/carts/{cart_id}/items/{book.pk}/", {"quantity": 1})
    api_client.patch(f"/api/carts/{cart_id}/", {"discount_code": None})
    assert api_client.get(f"/api/carts/{cart_id}/").json()["problems"] == []

    small = new_cart(api_client)["id"]
    body = add(api_client, small, cheap, 1).json()
    assert [problem["code"] for problem in body["problems"]] == ["order_below_minimum"]


def test_a_book_taken_off_sale_is_a_problem_not_an_error(api_client):
    book, gone = BookFactory(), BookFactory()
    cart_id = new_cart(api_client)["id"]
    add(api_client, cart_id, book, 1)
    add(api_client, cart_id, gone, 1)
    gone.is_active = False
    gone.save()
    body = api_client.get(f"/api/carts/{cart_id}/").json()
    assert [item["book"] for item in body["items"]] == [book.pk]
    assert body["problems"][0]["errors"][0]["field"] == "items.1.book"


def test_carts_hold_no_stock(api_client):
    book = BookFactory(stock_quantity=2)
    add(api_client, new_cart(api_client)["id"], book, 2)
    book.refresh_from_db()
    assert book.reserved_quantity == 0 and book.stock_quantity == 2


# --- checkout ---------------------------------------------------------------------------------

VOLATILE = {"id", "number", "payment_url", "hold_expires_at", "created_at", "updated_at"}


def comparable(order_body):
    body = {key: value for key, value in order_body.items() if key not in VOLATILE}
    body["events"] = [
        {k: v for k, v in event.items() if k != "created_at"} for event in body["events"]
    ]
    return body


def test_checkout_equals_placing_the_same_order():
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    DiscountCodeFactory(code="TEN", value=Decimal("10"))
    one, two = BookFactory(price=Decimal("12.50")), BookFactory(price=Decimal("7.25"))
    placed = {}
    for how in ("cart", "order"):
        user = UserFactory(email=f"{how}@example.com")
        address = AddressFactory(user=user, full_name="Ada Reader", line1="1 Library Way")
        client = client_for(user)
        if how == "cart":
            cart_id = client.get("/api/users/me/cart/").json()["id"]
            add(client, cart_id, one, 2)
            add(client, cart_id, two, 1)
            client.patch(
                f"/api/carts/{cart_id}/",
                {"discount_code": "TEN", "shipping_address": address.pk, "shipping_method": "post"},
            )
            response = client.post(f"/api/carts/{cart_id}/checkout/")
            assert Cart.objects.get(pk=cart_id).lines.count() == 0
        else:
            response = client.post(
                "/api/orders/",
                {
                    "items": [{"book": one.pk, "quantity": 2}, {"book": two.pk, "quantity": 1}],
                    "discount_code": "TEN",
                    "shipping_address": address.pk,
                    "shipping_method": "post",
                },
            )
        assert response.status_code == 201, response.json()
        body = comparable(response.json())
        body["user"] = body["user"].split("@")[1]
        body["events"] = [{**e, "actor": e["actor"].split("@")[1]} for e in body["events"]]
        placed[how] = body
    assert placed["cart"] == placed["order"]
    assert placed["cart"]["total"] == "33.52"  # 32.25 - 3.23 + 4.50 (no tax rate)
    assert DiscountCode.objects.get(code="TEN").times_redeemed == 2
    one.refresh_from_db()
    assert one.reserved_quantity == 4


def test_a_problem_refuses_checkout_and_changes_nothing():
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    user = UserFactory()
    address = AddressFactory(user=user)
    book = BookFactory(price=Decimal("10.00"), stock_quantity=5)
    client = client_for(user)
    cart_id = client.get("/api/users/me/cart/").json()["id"]
    add(client, cart_id, book, 2)
    client.patch(
        f"/api/carts/{cart_id}/", {"shipping_address": address.pk, "shipping_method": "post"}
    )
    book.price = Decimal("9.00")
    book.save()
    response = client.post(f"/api/carts/{cart_id}/checkout/")
    assert response.status_code == 409
    assert response.json()["code"] == "price_changed"
    assert response.json()["books"][0]["old_price"] == "10.00"
    assert Order.objects.count() == 0
    assert CartLine.objects.get(cart_id=cart_id).quantity == 2
    book.refresh_from_db()
    assert book.reserved_quantity == 0


def test_checkout_needs_a_signed_in_customer_and_claims_an_anonymous_cart(api_client):
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    book = BookFactory(price=Decimal("10.00"))
    cart_id = new_cart(api_client)["id"]
    add(api_client, cart_id, book, 1)
    assert api_client.post(f"/api/carts/{cart_id}/checkout/").status_code == 401

    user = UserFactory()
    address = AddressFactory(user=user)
    client = client_for(user)
    # An anonymous cart has no address: the checkout says where, as an order would.
    response = client.post(f"/api/carts/{cart_id}/checkout/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "shipping_address"
    response = client.post(
        f"/api/carts/{cart_id}/checkout/",
        {"shipping_address": address.pk, "shipping_method": "post"},
    )
    assert response.status_code == 201, response.json()
    order = Order.objects.get()
    assert order.user == user and order.total == Decimal("14.50")
    assert not CartLine.objects.filter(cart_id=cart_id).exists()


def test_someone_elses_cart_cannot_be_checked_out():
    owner, stranger = UserFactory(), UserFactory()
    book = BookFactory()
    owner_client = client_for(owner)
    cart_id = owner_client.get("/api/users/me/cart/").json()["id"]
    add(owner_client, cart_id, book, 1)
    response = client_for(stranger).post(f"/api/carts/{cart_id}/checkout/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert CartLine.objects.filter(cart_id=cart_id).count() == 1


def test_checkout_honours_idempotency_key():
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    user = UserFactory()
    address = AddressFactory(user=user)
    book = BookFactory()
    client = client_for(user)
    cart_id = client.get("/api/users/me/cart/").json()["id"]
    add(client, cart_id, book, 1)
    client.patch(
        f"/api/carts/{cart_id}/", {"shipping_address": address.pk, "shipping_method": "post"}
    )
    first = client.post(f"/api/carts/{cart_id}/checkout/", HTTP_IDEMPOTENCY_KEY="k1")
    second = client.post(f"/api/carts/{cart_id}/checkout/", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    # Without the key the emptied cart refuses: nothing to order.
    response = client.post(f"/api/carts/{cart_id}/checkout/")
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "items"
    # The same key on another cart is another checkout; the cart id is not stored.
    other = new_cart(client)["id"]
    add(client, other, book, 1)
    response = client.post(
        f"/api/carts/{other}/checkout/",
        {"shipping_address": address.pk, "shipping_method": "post"},
        HTTP_IDEMPOTENCY_KEY="k1",
    )
    assert response.status_code == 201 and Order.objects.count() == 2
    assert not IdempotencyKey.objects.filter(scope__contains=cart_id).exists()


def test_the_same_key_on_a_cart_changed_since_its_checkout_is_reused_not_replayed():
    """A customer's cart keeps its id: a key used for one checkout, used again after the cart
    was filled anew, must not answer with the old order while the new books stay unordered."""
    ShippingMethodFactory(code="post", price=Decimal("4.50"))
    user = UserFactory()
    address = AddressFactory(user=user)
    first_book, second_book = BookFactory(), BookFactory()
    client = client_for(user)
    cart_id = client.get("/api/users/me/cart/").json()["id"]
    delivery = {"shipping_address": address.pk, "shipping_method": "post"}
    add(client, cart_id, first_book, 1)
    first = client.post(f"/api/carts/{cart_id}/checkout/", delivery, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 201
    add(client, cart_id, second_book, 1)
    again = client.post(f"/api/carts/{cart_id}/checkout/", delivery, HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 422 and again.json()["code"] == "idempotency_key_reused"
    assert Order.objects.count() == 1
    assert CartLine.objects.filter(cart_id=cart_id, book=second_book).exists()
    fresh = client.post(f"/api/carts/{cart_id}/checkout/", delivery, HTTP_IDEMPOTENCY_KEY="k2")
    assert fresh.status_code == 201 and Order.objects.count() == 2


def test_a_cart_deleted_while_in_use_is_not_found(monkeypatch):
    """Merged away or purged between being found and being locked: 404, not a server error."""
    from orders import carts

    user = UserFactory()
    client = client_for(user)
    cart_id = new_cart(client)["id"]
    book = BookFactory()
    found = carts.cart_get

    def found_then_gone(**kwargs):
        cart = found(**kwargs)
        Cart.objects.filter(pk=cart.pk).delete()
        return cart

    monkeypatch.setattr(carts, "cart_get", found_then_gone)
    response = add(client, cart_id, book, 1)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


# --- the customer's cart and merging ----------------------------------------------------------


def test_my_cart_is_one_cart_made_on_first_use():
    user = UserFactory()
    client = client_for(user)
    first = client.get("/api/users/me/cart/").json()["id"]
    assert client.get("/api/users/me/cart").json()["id"] == first
    assert Cart.objects.get().owner == user


def test_my_cart_needs_signing_in(api_client):
    assert api_client.get("/api/users/me/cart/").status_code == 401
    assert api_client.post("/api/users/me/cart/merge/", {"cart": "x"}).status_code == 401


def test_merge_adds_up_capped_by_availability_and_line_maximum(api_client):
    user = UserFactory()
    client = client_for(user)
    scarce = BookFactory(stock_quantity=4)
    plenty = BookFactory(stock_quantity=1000)
    only_anonymous = BookFactory(stock_quantity=10)
    mine = client.get("/api/users/me/cart/").json()["id"]
    add(client, mine, scarce, 3)
    add(client, mine, plenty, 60)
    anonymous = new_cart(api_client)["id"]
    add(api_client, anonymous, scarce, 3)
    add(api_client, anonymous, plenty, 60)
    add(api_client, anonymous, only_anonymous, 2)

    response = client.post("/api/users/me/cart/merge/", {"cart": anonymous})
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == mine
    assert {i["book"]: i["quantity"] for i in response.json()["items"]} == {
        scarce.pk: 4,
        plenty.pk: MAX_LINE_QUANTITY,
        only_anonymous.pk: 2,
    }
    assert not Cart.objects.filter(pk=anonymous).exists()
    assert api_client.get(f"/api/carts/{anonymous}/").status_code == 404


def test_merge_past_the_cart_line_limit_is_refused_whole(api_client, monkeypatch):
    from orders import carts

    monkeypatch.setattr(carts, "MAX_CART_LINES", 3)
    user = UserFactory()
    client = client_for(user)
    mine = client.get("/api/users/me/cart/").json()["id"]
    books = [BookFactory(stock_quantity=5) for _ in range(4)]
    for book in books[:2]:
        add(client, mine, book, 1)
    anonymous = new_cart(api_client)["id"]
    for book in books[1:]:
        add(api_client, anonymous, book, 1)
    response = client.post("/api/users/me/cart/merge/", {"cart": anonymous})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "cart"
    assert CartLine.objects.filter(cart_id=mine).count() == 2  # nothing changed
    assert CartLine.objects.filter(cart_id=anonymous).count() == 3  # nor lost


def test_merge_refuses_someone_elses_cart_and_unknown_ids():
    user, other = UserFactory(), UserFactory()
    others_cart = client_for(other).get("/api/users/me/cart/").json()["id"]
    client = client_for(user)
    for cart_id in (others_cart, "B" * 32):
        response = client.post("/api/users/me/cart/merge/", {"cart": cart_id})
        assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Cart.objects.filter(pk=others_cart).exists()


# --- abuse ------------------------------------------------------------------------------------


def test_cart_creation_is_throttled_per_client(api_client, monkeypatch):
    monkeypatch.setattr(
        CartCreationThrottle,
        "THROTTLE_RATES",
        {**CartCreationThrottle.THROTTLE_RATES, "carts": "2/hour"},
    )
    assert api_client.post("/api/carts/").status_code == 201
    assert api_client.post("/api/carts/").status_code == 201
    response = api_client.post("/api/carts/")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert Cart.objects.count() == 2
    # Another client (a signed-in customer here) has its own allowance.
    assert client_for(UserFactory()).post("/api/carts/").status_code == 201


def test_guessing_codes_on_a_cart_shares_the_discount_budget(api_client, throttle_rates):
    """A cart's reply shows whether its code works, so a code set on a cart counts with quotes
    and orders (`DiscountAttemptThrottle`); reading the cart and changing nothing else do not."""
    throttle_rates(discount="2/hour")
    cart = api_client.post("/api/carts/").json()["id"]
    for guess in ("GUESS1", "GUESS2"):
        assert api_client.patch(f"/api/carts/{cart}/", {"discount_code": guess}).status_code == 200
    refused = api_client.patch(f"/api/carts/{cart}/", {"discount_code": "GUESS3"})
    assert refused.status_code == 429 and refused.json()["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert Cart.objects.get(pk=cart).discount_code == "GUESS2"  # refused before any change
    assert api_client.get(f"/api/carts/{cart}/").status_code == 200
    assert api_client.patch(f"/api/carts/{cart}/", {"shipping_method": ""}).status_code != 429


def test_reading_and_changing_carts_is_throttled_per_client_before_the_cart_is_looked_up(
    api_client, throttle_rates
):
    """Every read or change prices the cart, and anyone may send them."""
    throttle_rates(cart_use="3/min")
    book = BookFactory()
    cart = api_client.post("/api/carts/").json()["id"]
    assert api_client.get(f"/api/carts/{cart}/").status_code == 200
    body = {"book": book.pk, "quantity": 1}
    assert api_client.post(f"/api/carts/{cart}/items/", body).status_code == 200
    assert api_client.patch(f"/api/carts/{cart}/", {"shipping_method": ""}).status_code == 200
    for path in (f"/api/carts/{cart}/", "/api/carts/not-a-cart/"):  # known or not: one answer
        refused = api_client.get(path)
        assert refused.status_code == 429 and refused.json()["code"] == "throttled"
        assert int(refused["Retry-After"]) > 0
    refused = api_client.post(f"/api/carts/{cart}/items/", body)
    assert refused.status_code == 429
    assert CartLine.objects.get(cart_id=cart).quantity == 1  # refused before any change
    # Another client has its own allowance.
    assert client_for(UserFactory()).get("/api/users/me/cart/").status_code == 200
