"""Addresses, shipping, tax and quotes on orders (API level)."""

from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import AddressFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.testing import assert_problem, field_errors
from orders.models import DiscountCode, Order
from orders.tests.factories import (
    TEST_ADDRESS,
    DiscountCodeFactory,
    ShippingMethodFactory,
    TaxRateFactory,
)

pytestmark = pytest.mark.django_db

BERLIN = {
    "full_name": "Bea Leser",
    "line1": "Unter den Linden 1",
    "city": "Berlin",
    "postal_code": "10117",
    "country": "DE",
}


@pytest.fixture
def methods():
    return {
        "standard": ShippingMethodFactory(
            code="standard", name="Standard", price=Decimal("4.99"), min_days=3, max_days=6
        ),
        "express": ShippingMethodFactory(
            code="express", name="Express", price=Decimal("14.99"), min_days=1, max_days=2
        ),
        "free": ShippingMethodFactory(
            code="free-standard", price=Decimal("4.99"), free_over=Decimal("50.00")
        ),
        "us-only": ShippingMethodFactory(
            code="usps-ground", price=Decimal("3.00"), countries=["US"]
        ),
        "eu-only": ShippingMethodFactory(
            code="eu-post", price=Decimal("6.00"), countries=["DE", "FR", "AT"]
        ),
        "retired": ShippingMethodFactory(code="retired", is_active=False),
    }


def order_body(book, quantity=1, **extra):
    return {"items": [{"book": book.pk, "quantity": quantity}], **extra}


# --- Shipping methods -------------------------------------------------------------------


def test_shipping_methods_for_a_country(api_client, methods):
    def codes(country):
        response = api_client.get("/api/shipping-methods/", {"country": country})
        assert response.status_code == 200, response.json()
        return [method["code"] for method in response.json()]

    assert set(codes("US")) == {"standard", "express", "free-standard", "usps-ground"}
    assert set(codes("DE")) == {"standard", "express", "free-standard", "eu-post"}
    assert set(codes("AT")) == {"standard", "express", "free-standard", "eu-post"}
    assert set(codes("JP")) == {"standard", "express", "free-standard"}
    listed = api_client.get("/api/shipping-methods/?country=de").json()
    [standard] = [method for method in listed if method["code"] == "standard"]
    assert standard == {
        "code": "standard",
        "name": "Standard",
        "price": "4.99",
        "free_over": None,
        "min_days": 3,
        "max_days": 6,
        "countries": [],
    }


@pytest.mark.parametrize("country", ["XX", "USA", "1", ""])
def test_shipping_methods_for_an_unknown_country_is_400(api_client, methods, country):
    response = api_client.get("/api/shipping-methods/", {"country": country})
    if country == "":
        assert response.status_code == 200  # no filter: every active method
        assert len(response.json()) == 5
    else:
        body = assert_problem(response, 400, "validation_error")
        assert field_errors(body) == {"country"}


def test_a_method_that_does_not_serve_the_country_is_400_naming_the_field(user_client, methods):
    book = BookFactory(stock_quantity=3)
    for code in ("eu-post", "retired", "nope"):
        body = assert_problem(
            user_client.post(
                "/api/orders/",
                order_body(book, shipping_address=TEST_ADDRESS, shipping_method=code),
            ),
            400,
            "validation_error",
        )
        assert field_errors(body) == {"shipping_method"}
    assert not Order.objects.exists()
    book.refresh_from_db()
    assert book.reserved_quantity == 0


def test_placing_needs_an_address_and_a_method(user_client, methods):
    book = BookFactory()
    body = assert_problem(user_client.post("/api/orders/", order_body(book)), 400)
    assert field_errors(body) == {"shipping_address", "shipping_method"}


def test_order_keeps_the_method_name_and_the_price_charged(user_client, methods):
    book = BookFactory(price=Decimal("20.00"), stock_quantity=5)
    body = user_client.post(
        "/api/orders/", order_body(book, shipping_address=TEST_ADDRESS, shipping_method="express")
    ).json()
    assert (body["shipping_method"], body["shipping_method_name"]) == ("express", "Express")
    assert (body["shipping_amount"], body["total"]) == ("14.99", "34.99")
    methods["express"].price = Decimal("99.00")
    methods["express"].name = "Renamed"
    methods["express"].save()
    again = user_client.get(f"/api/orders/{body['id']}/").json()
    assert (again["shipping_method_name"], again["shipping_amount"]) == ("Express", "14.99")


def test_free_over_applies_to_the_subtotal_after_discount(user_client, methods):
    DiscountCodeFactory(code="TENOFF", kind="fixed", value=Decimal("10.00"))
    book = BookFactory(price=Decimal("25.00"), stock_quantity=10)
    free = {"shipping_address": TEST_ADDRESS, "shipping_method": "free-standard"}
    two = user_client.post("/api/orders/", order_body(book, 2, **free)).json()
    assert (two["subtotal"], two["shipping_amount"], two["total"]) == ("50.00", "0.00", "50.00")
    discounted = user_client.post(
        "/api/orders/", order_body(book, 2, discount_code="TENOFF", **free)
    ).json()
    assert (discounted["discount_amount"], discounted["shipping_amount"]) == ("10.00", "4.99")
    assert discounted["total"] == "44.99"


# --- Addresses on orders ------------------------------------------------------------------


def test_snapshot_of_a_saved_address_survives_edits_and_deletion(user_client, methods):
    address = AddressFactory(user=user_client.user, full_name="Ada Reader", line1="1 Old Road")
    book = BookFactory(stock_quantity=3)
    placed = user_client.post(
        "/api/orders/", order_body(book, shipping_address=address.pk, shipping_method="standard")
    )
    assert placed.status_code == 201, placed.json()
    order_id = placed.json()["id"]
    expected = {
        "full_name": "Ada Reader",
        "company": "",
        "line1": "1 Old Road",
        "line2": "",
        "city": "Albany",
        "region": "NY",
        "postal_code": "12207",
        "country": "US",
        "phone": "",
    }
    assert placed.json()["shipping_address"] == expected
    assert placed.json()["billing_address"] == expected  # defaults to the shipping address

    changed = user_client.patch(
        f"/api/users/me/addresses/{address.pk}/", {"line1": "2 New Road", "city": "Buffalo"}
    )
    assert changed.status_code == 200
    assert user_client.get(f"/api/orders/{order_id}/").json()["shipping_address"] == expected
    assert user_client.delete(f"/api/users/me/addresses/{address.pk}/").status_code == 204
    assert user_client.get(f"/api/orders/{order_id}/").json()["shipping_address"] == expected
    assert Order.objects.get(pk=order_id).shipping_address == expected


def test_inline_address_and_a_separate_billing_address(user_client, methods):
    book = BookFactory(stock_quantity=3)
    billing = AddressFactory(user=user_client.user, full_name="Accounts Dept", region="CA")
    body = user_client.post(
        "/api/orders/",
        order_body(
            book,
            shipping_address={**BERLIN, "company": "Leser GmbH"},
            billing_address=billing.pk,
            shipping_method="eu-post",
        ),
    ).json()
    assert body["shipping_address"]["company"] == "Leser GmbH"
    assert body["shipping_address"]["country"] == "DE"
    assert body["billing_address"]["full_name"] == "Accounts Dept"
    assert body["billing_address"]["region"] == "CA"


def test_someone_elses_address_id_is_refused_like_a_missing_one(user_client, methods):
    theirs = AddressFactory(user=UserFactory())
    book = BookFactory(stock_quantity=3)
    for field in ("shipping_address", "billing_address"):
        extra = {"shipping_address": TEST_ADDRESS, field: theirs.pk}
        body = assert_problem(
            user_client.post("/api/orders/", order_body(book, shipping_method="standard", **extra)),
            400,
            "validation_error",
        )
        assert field_errors(body) == {field}
        assert str(theirs.pk) in body["detail"] and theirs.line1 not in str(body)
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("address", "field"),
    [
        ({**TEST_ADDRESS, "region": ""}, "shipping_address.region"),
        ({**TEST_ADDRESS, "postal_code": ""}, "shipping_address.postal_code"),
        ({**TEST_ADDRESS, "postal_code": "1220"}, "shipping_address.postal_code"),
        ({**BERLIN, "postal_code": "1011"}, "shipping_address.postal_code"),
        ({**TEST_ADDRESS, "country": "ZZ"}, "shipping_address.country"),
        ({**TEST_ADDRESS, "line1": None}, "shipping_address.line1"),
        ("1 Library Way", "shipping_address"),
        (True, "shipping_address"),
        (-5, "shipping_address"),
        ([TEST_ADDRESS], "shipping_address"),
    ],
)
def test_bad_inline_addresses_are_400_naming_the_field(user_client, methods, address, field):
    book = BookFactory(stock_quantity=3)
    body = assert_problem(
        user_client.post(
            "/api/orders/",
            order_body(book, shipping_address=address, shipping_method="standard"),
        ),
        400,
        "validation_error",
    )
    assert field in field_errors(body)


# --- Tax ------------------------------------------------------------------------------------


@pytest.fixture
def rates():
    return {
        "us-ny": TaxRateFactory(country="US", region="NY", percent=Decimal("8.875")),
        "us": TaxRateFactory(country="US", region="", percent=Decimal("5")),
        "de": TaxRateFactory(country="DE", percent=Decimal("19"), name="MwSt"),
        "gb": TaxRateFactory(country="GB", percent=Decimal("20"), shipping_taxed=False),
    }


def place(client, book, address, method="standard", quantity=1, **extra):
    response = client.post(
        "/api/orders/",
        order_body(book, quantity, shipping_address=address, shipping_method=method, **extra),
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_tax_exclusive_by_region_then_country(user_client, methods, rates):
    book = BookFactory(price=Decimal("10.00"), stock_quantity=50)
    # NY: 8.875% of (10.00 + 4.99) = 1.3303... -> 1.33
    ny = place(user_client, book, TEST_ADDRESS)
    assert (ny["tax_rate"], ny["tax_amount"], ny["total"]) == ("8.875", "1.33", "16.32")
    assert ny["tax_rate_name"] == "Tax US-NY 8.875%"
    # New Jersey has no rate of its own: the US rate. 5% of 14.99 = 0.7495 -> 0.75 (half up)
    nj = place(user_client, book, {**TEST_ADDRESS, "region": "NJ", "postal_code": "07030"})
    assert (nj["tax_rate"], nj["tax_amount"], nj["total"]) == ("5.000", "0.75", "15.74")
    # GB: shipping not taxed, 20% of 10.00
    london = {
        "full_name": "L",
        "line1": "1 Strand",
        "city": "London",
        "postal_code": "WC2N 5HR",
        "country": "GB",
    }
    gb = place(user_client, book, london)
    assert (gb["tax_amount"], gb["total"]) == ("2.00", "16.99")
    # No rate for Japan: no tax, documented
    tokyo = {
        "full_name": "T",
        "line1": "1-1 Chiyoda",
        "city": "Chiyoda-ku",
        "region": "Tokyo",
        "postal_code": "100-0001",
        "country": "JP",
    }
    jp = place(user_client, book, tokyo)
    assert (jp["tax_rate"], jp["tax_amount"], jp["total"]) == (None, "0.00", "14.99")
    order = Order.objects.get(pk=ny["id"])
    assert (order.tax_rate_percent, order.prices_include_tax) == (Decimal("8.875"), False)


def test_tax_inclusive_prices_are_gross(user_client, methods, rates, settings):
    settings.PRICES_INCLUDE_TAX = True
    book = BookFactory(price=Decimal("11.90"), stock_quantity=5)
    # Gross 11.90 + 4.99 = 16.89; the 19% VAT included is 16.89 * 19 / 119 = 2.6967 -> 2.70
    de = place(user_client, book, BERLIN)
    assert (de["subtotal"], de["shipping_amount"], de["total"]) == ("11.90", "4.99", "16.89")
    assert (de["tax_amount"], de["prices_include_tax"]) == ("2.70", True)
    assert de["tax_rate_name"] == "MwSt DE 19%"


def test_tax_rate_changes_never_change_a_placed_order(user_client, methods, rates):
    book = BookFactory(price=Decimal("10.00"), stock_quantity=5)
    placed = place(user_client, book, BERLIN)
    rates["de"].percent = Decimal("7")
    rates["de"].save()
    assert user_client.get(f"/api/orders/{placed['id']}/").json()["tax_amount"] == "2.85"


# --- Quote ------------------------------------------------------------------------------------


def test_quote_prices_the_order_without_holding_or_counting(user_client, methods, rates):
    code = DiscountCodeFactory(code="TEN", value=Decimal("10"), max_redemptions=1)
    book = BookFactory(price=Decimal("30.00"), stock_quantity=2)
    body = order_body(
        book, 2, discount_code="ten", shipping_address=TEST_ADDRESS, shipping_method="express"
    )
    response = user_client.post("/api/orders/quote/", body)
    assert response.status_code == 200, response.json()
    quote = response.json()
    assert quote["problems"] == []
    assert quote["items"] == [
        {
            "book": book.pk,
            "title": book.title,
            "unit_price": "30.00",
            "quantity": 2,
            "line_total": "60.00",
        }
    ]
    assert (quote["subtotal"], quote["discount_amount"]) == ("60.00", "6.00")
    assert (quote["shipping_method"], quote["shipping_amount"]) == ("express", "14.99")
    # 8.875% of (54.00 + 14.99) = 6.1228... -> 6.12
    assert (quote["tax_amount"], quote["total"]) == ("6.12", "75.11")
    options = {option["code"]: option["price"] for option in quote["shipping_options"]}
    assert options == {
        "standard": "4.99",
        "express": "14.99",
        "free-standard": "0.00",  # 54.00 after the discount is over 50
        "usps-ground": "3.00",
    }
    book.refresh_from_db()
    assert book.reserved_quantity == 0
    assert DiscountCode.objects.get(pk=code.pk).times_redeemed == 0
    assert not Order.objects.exists()

    placed = user_client.post("/api/orders/", body).json()
    for key in ("subtotal", "discount_amount", "shipping_amount", "tax_amount", "total"):
        assert placed[key] == quote[key], key


def test_quote_lists_problems_in_the_error_format(user_client, methods):
    DiscountCodeFactory(code="OLD", is_active=False)
    book = BookFactory(price=Decimal("10.00"), stock_quantity=1, title="Rare")
    quote = user_client.post(
        "/api/orders/quote/",
        order_body(
            book, 3, discount_code="OLD", shipping_address=TEST_ADDRESS, shipping_method="eu-post"
        ),
    ).json()
    problems = {problem["code"]: problem for problem in quote["problems"]}
    assert set(problems) == {"validation_error", "invalid_discount_code", "insufficient_stock"}
    assert problems["validation_error"]["errors"][0]["field"] == "shipping_method"
    assert problems["invalid_discount_code"]["status"] == 400
    assert problems["insufficient_stock"]["books"] == [
        {"book": book.pk, "title": "Rare", "requested": 3, "available": 1}
    ]
    assert all(p["type"] == "about:blank" and p["title"] and p["detail"] for p in problems.values())
    assert (quote["discount_amount"], quote["shipping_method"], quote["total"]) == (
        "0.00",
        None,
        "30.00",
    )


def test_quote_reports_what_placing_would_refuse_for_this_customer(user_client, methods, settings):
    settings.MAX_HELD_COPIES_PER_BOOK = 2
    settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER = True
    user_client.user.email_verified = False
    user_client.user.save()
    book = BookFactory(price=Decimal("10.00"), stock_quantity=10)
    quote = user_client.post("/api/orders/quote/", order_body(book, 3)).json()
    assert {problem["code"] for problem in quote["problems"]} == {
        "email_not_verified",
        "hold_limit_exceeded",
    }


def test_quote_without_address_prices_the_cart_alone(user_client, methods):
    book = BookFactory(price=Decimal("9.99"))
    quote = user_client.post("/api/orders/quote/", order_body(book, 2)).json()
    assert (quote["subtotal"], quote["shipping_amount"], quote["tax_amount"]) == (
        "19.98",
        "0.00",
        "0.00",
    )
    assert quote["shipping_options"] == [] and quote["problems"] == []


def test_quote_bad_input_is_400_like_placing(user_client, api_client):
    assert_problem(user_client.post("/api/orders/quote/", {"items": []}), 400, "validation_error")
    body = assert_problem(
        user_client.post("/api/orders/quote/", {"items": [{"book": 999999, "quantity": 1}]}), 400
    )
    assert field_errors(body) == {"items.0.book"}
    assert_problem(api_client.post("/api/orders/quote/", {"items": []}), 401)


# --- Payment link, shipping and staff filters -------------------------------------------------


def test_pending_order_carries_its_payment_url(user_client, methods, settings):
    book = BookFactory(stock_quantity=3)
    placed = place(user_client, book, TEST_ADDRESS)
    order = Order.objects.get(pk=placed["id"])
    assert placed["payment_url"] == f"{settings.SITE_URL}/pay/order/{order.payment_token}/"
    user_client.post(f"/api/orders/{order.pk}/cancel/")
    assert user_client.get(f"/api/orders/{order.pk}/").json()["payment_url"] is None


def test_staff_ship_with_carrier_and_tracking_and_the_email_says_where(
    user_client, staff_client, methods, django_capture_on_commit_callbacks
):
    book = BookFactory(stock_quantity=3)
    placed = place(user_client, book, {**TEST_ADDRESS, "line2": "Apt 7"})
    Order.objects.filter(pk=placed["id"]).update(status="paid")
    mail.outbox.clear()
    assert_problem(user_client.post(f"/api/orders/{placed['id']}/ship/", {"carrier": "ups"}), 403)
    bad = staff_client.post(
        f"/api/orders/{placed['id']}/ship/", {"carrier": "ups", "tracking_number": "<script>"}
    )
    assert field_errors(assert_problem(bad, 400, "validation_error")) == {"tracking_number"}
    assert Order.objects.get(pk=placed["id"]).status == "paid"

    with django_capture_on_commit_callbacks(execute=True):
        shipped = staff_client.post(
            f"/api/orders/{placed['id']}/ship/",
            {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"},
        )
    assert shipped.status_code == 200, shipped.json()
    body = shipped.json()
    assert (body["status"], body["carrier"], body["tracking_number"]) == (
        "shipped",
        "UPS",
        "1Z999AA10123456784",
    )
    assert body["tracking_url"] == "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert body["shipped_at"]
    [email] = mail.outbox
    text = email.body
    html = email.alternatives[0][0]
    for part in (text, html):
        assert "1 Library Way" in part and "Apt 7" in part and "Albany" in part
        assert "United States" in part
        assert "1Z999AA10123456784" in part
        assert "https://www.ups.com/track?tracknum=1Z999AA10123456784" in part


def test_unknown_carrier_ships_without_a_link(
    user_client, staff_client, methods, django_capture_on_commit_callbacks
):
    placed = place(user_client, BookFactory(stock_quantity=3), TEST_ADDRESS)
    Order.objects.filter(pk=placed["id"]).update(status="paid")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        body = staff_client.post(
            f"/api/orders/{placed['id']}/ship/",
            {"carrier": "Bike courier", "tracking_number": "42"},
        ).json()
    assert (body["status"], body["tracking_url"]) == ("shipped", "")
    assert "Bike courier" in mail.outbox[0].body and "Track it" not in mail.outbox[0].body


def test_staff_filter_orders_by_country_and_method(user_client, staff_client, methods):
    book = BookFactory(stock_quantity=50)
    us_standard = place(user_client, book, TEST_ADDRESS, "standard")["id"]
    us_express = place(user_client, book, TEST_ADDRESS, "express")["id"]
    de_standard = place(user_client, book, BERLIN, "standard")["id"]

    def ids(**query):
        response = staff_client.get("/api/orders/", query)
        assert response.status_code == 200, response.json()
        return {order["id"] for order in response.json()["results"]}

    assert ids(country="US") == {us_standard, us_express}
    assert ids(country="DE") == {de_standard}
    assert ids(shipping_method="standard") == {us_standard, de_standard}
    assert ids(country="US", shipping_method="express") == {us_express}
    assert_problem(staff_client.get("/api/orders/", {"country": "XX"}), 400)


# --- Query budgets ---------------------------------------------------------------------------


def test_placing_with_address_tax_and_discount_costs_the_same_queries_for_1_and_20_items(
    user_client, methods, rates, content_types_read
):
    DiscountCodeFactory(code="TEN", value=Decimal("10"))
    address = AddressFactory(user=user_client.user)

    def count_queries(n):
        books = BookFactory.create_batch(n, stock_quantity=5)
        body = {
            "items": [{"book": b.pk, "quantity": 1} for b in books],
            "discount_code": "TEN",
            "shipping_address": address.pk,
            "shipping_method": "standard",
        }
        with CaptureQueriesContext(connection) as ctx:
            response = user_client.post("/api/orders/", body)
        assert response.status_code == 201, response.json()
        return len(ctx.captured_queries)

    assert count_queries(1) == count_queries(20)


def test_quote_queries_do_not_grow_with_items(user_client, methods, rates):
    def count_queries(n):
        books = BookFactory.create_batch(n, stock_quantity=5)
        body = {
            "items": [{"book": b.pk, "quantity": 1} for b in books],
            "shipping_address": TEST_ADDRESS,
            "shipping_method": "standard",
        }
        with CaptureQueriesContext(connection) as ctx:
            assert user_client.post("/api/orders/quote/", body).status_code == 200
        return len(ctx.captured_queries)

    assert count_queries(1) == count_queries(20)


def test_order_list_with_addresses_stays_flat(user_client, methods, django_assert_max_num_queries):
    for _ in range(12):
        place(user_client, BookFactory(stock_quantity=2), TEST_ADDRESS)
    with django_assert_max_num_queries(5):
        response = user_client.get("/api/orders/", {"page_size": 12})
    assert response.status_code == 200
    assert len(response.json()["results"]) == 12
    assert all(
        order["shipping_address"]["city"] == "Albany" for order in response.json()["results"]
    )
