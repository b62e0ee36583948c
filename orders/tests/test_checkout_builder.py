"""The one checkout builder: a quote lists every problem, placing raises the first of them, and
the two agree on each problem's code, status, detail, field errors and extra members."""

from decimal import Decimal

import pytest
from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.tests.factories import AddressFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError, problem_body
from orders import checkout, services
from orders.models import DiscountCode, Order
from orders.tests.factories import (
    TEST_ADDRESS,
    DiscountCodeFactory,
    ShippingMethodFactory,
    TaxRateFactory,
)

# What would stop an order, in the order the builder looks for it (placing raises the first).
PROBLEM_ORDER = [
    "email_not_verified",
    "hold_limit_exceeded",
    "validation_error",  # a shipping method that does not deliver there
    "invalid_discount_code",
    "price_changed",
    "order_below_minimum",
    "insufficient_stock",
]


def document(problem: ApplicationError) -> dict:
    """A problem as the API renders it: in a quote's `problems`, or as placing's error body."""
    return problem_body(
        code=problem.code, detail=problem.detail, errors=problem.errors, extra=problem.extra
    )


def arrange(kinds, *, settings_override):
    """A customer, a book and an order body carrying exactly the problems named in `kinds`
    ("hold_per_book" and "hold_in_all" are the two ways to exceed the hold caps)."""
    ShippingMethodFactory(code="free-post", price=Decimal("0"))
    ShippingMethodFactory(code="eu-post", price=Decimal("6.00"), countries=["DE"])
    DiscountCodeFactory(code="OLD", is_active=False)
    user = UserFactory(email_verified="email_not_verified" not in kinds)
    settings_override.update(REQUIRE_VERIFIED_EMAIL_TO_ORDER=True)
    if "hold_per_book" in kinds:
        settings_override.update(MAX_HELD_COPIES_PER_BOOK=1)
    if "hold_in_all" in kinds:
        settings_override.update(MAX_HELD_COPIES_TOTAL=1)
    price = Decimal("0.10") if "order_below_minimum" in kinds else Decimal("20.00")
    book = BookFactory(price=price, stock_quantity=0 if "insufficient_stock" in kinds else 5)
    item = {"book": book.pk, "quantity": 2}
    if "price_changed" in kinds:
        item["unit_price"] = price + 1
    body = {
        "items": [item],
        "shipping_address": dict(TEST_ADDRESS),
        "shipping_method": "eu-post" if "validation_error" in kinds else "free-post",
    }
    if "invalid_discount_code" in kinds:
        body["discount_code"] = "old"
    return user, book, body


def expected_codes(kinds):
    codes = {("hold_limit_exceeded" if kind.startswith("hold_") else kind) for kind in kinds}
    return [code for code in PROBLEM_ORDER if code in codes]


def place_and_quote(kinds):
    """(the quote's problems as documents, placing's error as a document or the order)."""
    overrides = {}
    user, book, body = arrange(kinds, settings_override=overrides)
    with override_settings(**overrides):
        quote = services.order_quote(user=user, **body)
        try:
            placed = services.order_place(user=user, require_shipping=True, **body)
        except ApplicationError as refusal:
            placed = refusal
    book.refresh_from_db()
    return [document(problem) for problem in quote.problems], placed, book


KINDS = [
    "email_not_verified",
    "validation_error",
    "invalid_discount_code",
    "price_changed",
    "order_below_minimum",
    "insufficient_stock",
]


@pytest.mark.django_db
@pytest.mark.parametrize("kind", [*KINDS, "hold_per_book", "hold_in_all"])
def test_each_problem_is_listed_by_a_quote_and_raised_by_placing_alike(kind):
    problems, placed, book = place_and_quote({kind})
    assert [problem["code"] for problem in problems] == expected_codes({kind})
    assert isinstance(placed, ApplicationError), placed
    assert document(placed) == problems[0]
    assert not Order.objects.exists()
    assert (book.reserved_quantity, DiscountCode.objects.get(code="OLD").times_redeemed) == (0, 0)


class EveryMixOfProblems(TestCase):
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(
        kinds=st.sets(st.sampled_from(KINDS)),
        hold=st.sampled_from([None, "hold_per_book", "hold_in_all"]),
    )
    def test_placing_raises_the_first_problem_the_quote_lists(self, kinds, hold):
        cache.clear()
        kinds = kinds | ({hold} if hold else set())
        problems, placed, book = place_and_quote(kinds)
        assert [problem["code"] for problem in problems] == expected_codes(kinds)
        if not problems:
            assert isinstance(placed, Order)
            assert book.reserved_quantity == 2
            return
        assert isinstance(placed, ApplicationError), placed
        assert document(placed) == problems[0]
        assert not Order.objects.exists()
        assert book.reserved_quantity == 0


# --- Through the API ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["validation_error", "insufficient_stock", "hold_per_book"])
def test_the_api_answers_placing_with_the_quotes_problem_document(user_client, settings, kind):
    overrides = {}
    _, _, body = arrange({kind}, settings_override=overrides)
    for name, value in overrides.items():
        setattr(settings, name, value)
    user_client.user.email_verified = True
    user_client.user.save()
    quote = user_client.post("/api/orders/quote/", body)
    assert quote.status_code == 200, quote.json()
    [problem] = quote.json()["problems"]
    placed = user_client.post("/api/orders/", body)
    assert placed.status_code == problem["status"]
    assert placed["Content-Type"].startswith("application/problem+json")
    assert placed.json() == problem
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_quote_and_placing_list_short_books_alike_whatever_their_order(user_client):
    ShippingMethodFactory(code="free-post", price=Decimal("0"))
    first = BookFactory(title="First", stock_quantity=1)
    second = BookFactory(title="Second", stock_quantity=3, reserved_quantity=2)
    body = {
        "items": [{"book": second.pk, "quantity": 2}, {"book": first.pk, "quantity": 5}],
        "shipping_address": TEST_ADDRESS,
        "shipping_method": "free-post",
    }
    [problem] = user_client.post("/api/orders/quote/", body).json()["problems"]
    assert problem["books"] == [
        {"book": first.pk, "title": "First", "requested": 5, "available": 1},
        {"book": second.pk, "title": "Second", "requested": 2, "available": 1},
    ]
    assert problem["detail"] == "Not enough copies of: First (1 available); Second (1 available)."
    placed = user_client.post("/api/orders/", body)
    assert placed.status_code == 409
    assert placed.json() == problem


# --- A price changed since the customer saw it (a cart's line) ------------------------------


@pytest.mark.django_db
def test_a_price_changed_since_the_line_was_added_is_a_problem_with_old_and_new_price():
    user = UserFactory()
    kept = BookFactory(title="Kept", price=Decimal("12.50"))
    raised = BookFactory(title="Raised", price=Decimal("15.00"))
    priced = checkout.checkout_build(
        user=user,
        items=[
            {"book": raised.pk, "quantity": 2, "unit_price": Decimal("14.00")},
            {"book": kept.pk, "quantity": 1, "unit_price": Decimal("12.5")},  # the same amount
        ],
    )
    [problem] = priced.problems
    assert (problem.code, problem.status) == ("price_changed", 409)
    assert problem.extra == {
        "books": [
            {"book": raised.pk, "title": "Raised", "old_price": "14.00", "new_price": "15.00"}
        ]
    }
    assert problem.detail == "The price changed since you added: Raised (14.00 is now 15.00)."
    assert priced.totals.subtotal == Decimal("42.50")  # today's prices


@pytest.mark.django_db
def test_items_without_a_seen_price_are_priced_as_they_are():
    user = UserFactory()
    book = BookFactory(price=Decimal("9.99"))
    priced = checkout.checkout_build(user=user, items=[{"book": book.pk, "quantity": 3}])
    assert priced.problems == []
    assert (priced.lines, priced.totals.total) == ({book.pk: 3}, Decimal("29.97"))


# --- Query budgets ----------------------------------------------------------------------------


@pytest.fixture
def full_order(settings):
    """An order with everything placing looks up: a verified customer's saved address, a
    shipping method, a tax rate, a code limited per customer, three books."""
    settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER = True
    ShippingMethodFactory(code="standard", price=Decimal("4.99"))
    TaxRateFactory(country="US", region="NY")
    DiscountCodeFactory(code="TEN", value=Decimal("10"), max_per_user=3)
    user = UserFactory(email_verified=True)
    books = BookFactory.create_batch(3, stock_quantity=5)
    body = {
        "items": [{"book": book.pk, "quantity": 1} for book in books],
        "discount_code": "TEN",
        "shipping_address": AddressFactory(user=user).pk,
        "shipping_method": "standard",
    }
    return user, body


@pytest.mark.django_db
def test_placing_costs_no_more_queries_than_before_the_builder(
    full_order, django_assert_num_queries, content_types_read
):
    # 16 statements and 3 savepoints (each taken and released): the books; the customer's
    # lock; held copies; the address; the methods; the code (locked); its uses by the
    # customer; the tax rate; counting the use; order, items, event; locking and holding the
    # books; the items for the email; the email.
    user, body = full_order
    with django_assert_num_queries(22):
        services.order_place(user=user, require_shipping=True, **body)


@pytest.mark.django_db
def test_a_quote_reads_what_placing_reads_and_writes_nothing(full_order, django_assert_num_queries):
    user, body = full_order
    # The books, held copies, the address, the methods, the code, its uses, the tax rate.
    with django_assert_num_queries(7):
        services.order_quote(user=user, **body)
