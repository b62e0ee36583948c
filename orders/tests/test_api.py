from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.models import IdempotencyKey
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors
from orders import services
from orders.models import Order
from orders.tests.factories import DiscountCodeFactory, with_shipping

pytestmark = pytest.mark.django_db


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def place(client, books, **extra):
    payload = with_shipping({"items": [{"book": b.pk, "quantity": 1} for b in books], **extra})
    return client.post("/api/orders/", with_shipping(payload), format="json")


def test_place_order_returns_the_pending_order(user_client):
    book = BookFactory(price=Decimal("8.00"), stock_quantity=3)
    response = user_client.post(
        "/api/orders/",
        with_shipping(
            {
                "items": [{"book": book.pk, "quantity": 2, "unit_price": "0.01"}],
                "total": "0.01",
                "status": "paid",
                "user": 999,
            }
        ),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["number"].startswith("BK-")
    assert (body["subtotal"], body["discount_amount"], body["total"]) == ("16.00", "0.00", "16.00")
    assert body["items"] == [
        {
            "book": book.pk,
            "title": book.title,
            "unit_price": "8.00",
            "quantity": 2,
            "line_total": "16.00",
        }
    ]
    assert body["user"] == user_client.user.email
    assert body["events"][0]["to_status"] == "pending"
    assert body["hold_expires_at"]
    assert Order.objects.get().user == user_client.user
    book.refresh_from_db()
    assert book.reserved_quantity == 2


def test_insufficient_stock_names_each_short_book(user_client):
    short = BookFactory(stock_quantity=1, title="Rare")
    body = assert_problem(
        user_client.post(
            "/api/orders/", with_shipping({"items": [{"book": short.pk, "quantity": 2}]})
        ),
        409,
        "insufficient_stock",
    )
    assert body["books"] == [{"book": short.pk, "title": "Rare", "requested": 2, "available": 1}]
    assert not Order.objects.exists()


def test_discount_code_applies_and_bad_code_is_400(user_client):
    DiscountCodeFactory(code="HALF", value=Decimal("50"))
    book = BookFactory(price=Decimal("10.00"))
    body = place(user_client, [book], discount_code="half").json()
    assert (body["discount_code"], body["total"]) == ("HALF", "5.00")
    bad = assert_problem(
        place(user_client, [book], discount_code="NOPE"), 400, "invalid_discount_code"
    )
    assert field_errors(bad) == {"discount_code"}


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"items": [{"book": 1, "quantity": 0}]}, {"items.0.quantity"}),
        ({"items": [{"book": 1, "quantity": -1}]}, {"items.0.quantity"}),
        ({"items": [{"book": 1, "quantity": 10**9}]}, {"items.0.quantity"}),
        ({"items": [{"book": 1, "quantity": "two"}]}, {"items.0.quantity"}),
        ({"items": [{"book": 1}]}, {"items.0.quantity"}),
        ({"items": [{"book": "x", "quantity": 1}]}, {"items.0.book"}),
        ({"items": [{"book": 10**30, "quantity": 1}]}, {"items.0.book"}),
        ({"items": []}, {"items"}),
        ({"items": "all of them"}, {"items"}),
        ({"items": [{"book": 1, "quantity": 1}] * 1000}, {"items"}),
        ({}, {"items"}),
        ({"items": [{"book": 1, "quantity": 1}], "discount_code": "x" * 1000}, {"discount_code"}),
    ],
)
def test_bad_order_input_is_400_with_field_errors(user_client, payload, fields):
    BookFactory(pk=1)
    body = assert_problem(
        user_client.post("/api/orders/", with_shipping(payload)), 400, "validation_error"
    )
    assert fields <= field_errors(body)
    assert not Order.objects.exists()
    assert Book.objects.get(pk=1).reserved_quantity == 0


def test_unknown_and_archived_books_are_400(user_client):
    archived = BookFactory(is_active=False)
    body = assert_problem(
        user_client.post(
            "/api/orders/",
            with_shipping({"items": [{"book": archived.pk, "quantity": 1}]}),
        ),
        400,
        "validation_error",
    )
    assert field_errors(body) == {"items.0.book"}
    body = assert_problem(
        user_client.post(
            "/api/orders/", with_shipping({"items": [{"book": 424242, "quantity": 1}]})
        ),
        400,
    )
    assert field_errors(body) == {"items.0.book"}


def test_missing_body_and_anonymous(api_client, user_client):
    assert_problem(user_client.post("/api/orders/"), 400, "validation_error")
    assert_problem(
        api_client.post("/api/orders/", with_shipping({"items": []})), 401, "not_authenticated"
    )
    assert_problem(api_client.get("/api/orders/"), 401, "not_authenticated")


def test_query_count_does_not_grow_with_items(user_client, content_types_read):
    with_shipping()  # the shipping method exists before counting, as in a real shop

    def count_queries(n):
        books = BookFactory.create_batch(n)
        with CaptureQueriesContext(connection) as ctx:
            assert place(user_client, books).status_code == 201
        return len(ctx.captured_queries)

    assert count_queries(1) == count_queries(20)


def test_customers_see_only_their_orders_staff_see_all(staff_client):
    alice, bob = UserFactory(), UserFactory()
    a_order = services.order_place(user=alice, items=[{"book": BookFactory().pk, "quantity": 1}])
    b_order = services.order_place(user=bob, items=[{"book": BookFactory().pk, "quantity": 1}])
    alice_client, bob_client = client_for(alice), client_for(bob)

    assert [o["id"] for o in alice_client.get("/api/orders/").json()["results"]] == [a_order.pk]
    assert_problem(bob_client.get(f"/api/orders/{a_order.pk}/"), 404, "not_found")
    assert_problem(bob_client.post(f"/api/orders/{a_order.pk}/cancel/"), 404, "not_found")
    a_order.refresh_from_db()
    assert a_order.status == "pending"

    all_ids = [o["id"] for o in staff_client.get("/api/orders/").json()["results"]]
    assert all_ids == [b_order.pk, a_order.pk]  # newest first
    by_user = staff_client.get(f"/api/orders/?user={alice.pk}").json()["results"]
    assert [o["id"] for o in by_user] == [a_order.pk]
    services.order_cancel(order=b_order, actor=bob)
    cancelled = staff_client.get("/api/orders/?status=cancelled").json()["results"]
    assert [o["id"] for o in cancelled] == [b_order.pk]
    assert_problem(staff_client.get("/api/orders/?status=lost"), 400, "validation_error")


def test_owner_cancels_pending_order(user_client):
    book = BookFactory(stock_quantity=2)
    order_id = place(user_client, [book]).json()["id"]
    response = user_client.post(f"/api/orders/{order_id}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    book.refresh_from_db()
    assert book.reserved_quantity == 0
    again = user_client.post(f"/api/orders/{order_id}/cancel/")
    assert_problem(again, 409, "invalid_status_transition")


def test_staff_only_fulfilment(user_client, staff_client):
    order_id = place(user_client, [BookFactory()]).json()["id"]
    assert_problem(user_client.post(f"/api/orders/{order_id}/ship/"), 403, "permission_denied")
    assert_problem(user_client.post(f"/api/orders/{order_id}/deliver/"), 403, "permission_denied")
    assert_problem(
        staff_client.post(f"/api/orders/{order_id}/ship/"), 409, "invalid_status_transition"
    )
    services.order_mark_paid(order_id=order_id)
    assert staff_client.post(f"/api/orders/{order_id}/ship/").json()["status"] == "shipped"
    delivered = staff_client.post(f"/api/orders/{order_id}/deliver/").json()
    assert delivered["status"] == "delivered"
    assert [e["to_status"] for e in delivered["events"]] == [
        "pending",
        "paid",
        "shipped",
        "delivered",
    ]
    assert delivered["events"][2]["actor"] == staff_client.user.email


def test_customers_see_that_staff_acted_staff_see_who(user_client, staff_client):
    order_id = place(user_client, [BookFactory()]).json()["id"]
    services.order_mark_paid(order_id=order_id)
    staff_client.post(f"/api/orders/{order_id}/ship/")
    user_client.post(f"/api/orders/{order_id}/cancel/")  # refused (shipped): no event
    staff_email, own_email = staff_client.user.email, user_client.user.email

    def actors(client):
        return [e["actor"] for e in client.get(f"/api/orders/{order_id}/").json()["events"]]

    assert actors(user_client) == [own_email, "stripe", "staff"]
    assert actors(staff_client) == [own_email, "stripe", staff_email]
    listed = user_client.get("/api/orders/").json()["results"][0]["events"]
    assert [e["actor"] for e in listed] == [own_email, "stripe", "staff"]
    assert staff_email not in user_client.get("/api/orders/").content.decode()


def test_pending_order_read_after_its_hold_shows_expired(user_client):
    order_id = place(user_client, [BookFactory()]).json()["id"]
    Order.objects.filter(pk=order_id).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    assert user_client.get(f"/api/orders/{order_id}/").json()["status"] == "expired"


def test_hold_expires_at_is_null_once_the_hold_is_over(user_client, staff_client):
    def hold(order_id):
        return user_client.get(f"/api/orders/{order_id}/").json()["hold_expires_at"]

    paid_id = place(user_client, [BookFactory()]).json()["id"]
    assert hold(paid_id) is not None  # pending: the books are held until then
    services.order_mark_paid(order_id=paid_id)
    assert hold(paid_id) is None
    shipped = staff_client.post(f"/api/orders/{paid_id}/ship/", {"carrier": "ups"}).json()
    assert shipped["hold_expires_at"] is None
    assert user_client.get("/api/orders/").json()["results"][0]["hold_expires_at"] is None

    cancelled_id = place(user_client, [BookFactory()]).json()["id"]
    assert user_client.post(f"/api/orders/{cancelled_id}/cancel/").json()["hold_expires_at"] is None

    lapsed_id = place(user_client, [BookFactory()]).json()["id"]
    Order.objects.filter(pk=lapsed_id).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    assert hold(lapsed_id) is None  # shown as expired: nothing is held any more


def test_list_query_budget(user_client, django_assert_max_num_queries):
    for _ in range(15):
        services.order_place(
            user=user_client.user,
            items=[{"book": b.pk, "quantity": 1} for b in BookFactory.create_batch(3)],
        )
    with django_assert_max_num_queries(5):
        assert len(user_client.get("/api/orders/").json()["results"]) == 15


# --- Idempotency-Key -------------------------------------------------------------------------


def test_same_key_and_body_replays_the_first_response(user_client):
    book = BookFactory(stock_quantity=5)
    payload = {"items": [{"book": book.pk, "quantity": 1}]}
    first = user_client.post("/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="abc-1")
    second = user_client.post("/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="abc-1")
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    book.refresh_from_db()
    assert book.reserved_quantity == 1


def test_same_key_different_body_is_422(user_client):
    a, b = BookFactory(), BookFactory()
    user_client.post(
        "/api/orders/",
        with_shipping({"items": [{"book": a.pk, "quantity": 1}]}),
        HTTP_IDEMPOTENCY_KEY="k",
    )
    response = user_client.post(
        "/api/orders/",
        with_shipping({"items": [{"book": b.pk, "quantity": 1}]}),
        HTTP_IDEMPOTENCY_KEY="k",
    )
    assert_problem(response, 422, "idempotency_key_reused")
    assert Order.objects.count() == 1


def test_keys_are_per_user_and_errors_are_not_kept(user_client):
    book = BookFactory(stock_quantity=1)
    payload = {"items": [{"book": book.pk, "quantity": 2}]}
    assert_problem(
        user_client.post("/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="k"), 409
    )
    assert not IdempotencyKey.objects.exists()
    Book.objects.filter(pk=book.pk).update(stock_quantity=5)
    assert (
        user_client.post(
            "/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="k"
        ).status_code
        == 201
    )
    other = client_for(UserFactory())
    assert (
        other.post("/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="k").status_code
        == 201
    )
    assert Order.objects.count() == 2


def test_expired_key_is_not_replayed(user_client):
    book = BookFactory(stock_quantity=5)
    payload = {"items": [{"book": book.pk, "quantity": 1}]}
    user_client.post("/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="old")
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert (
        user_client.post(
            "/api/orders/", with_shipping(payload), HTTP_IDEMPOTENCY_KEY="old"
        ).status_code
        == 201
    )
    assert Order.objects.count() == 2


def test_overlong_key_is_400(user_client):
    response = place(user_client, [BookFactory()], **{})
    assert response.status_code == 201
    long_key = user_client.post(
        "/api/orders/",
        with_shipping({"items": [{"book": BookFactory().pk, "quantity": 1}]}),
        HTTP_IDEMPOTENCY_KEY="k" * 300,
    )
    assert_problem(long_key, 400, "validation_error")


# --- Limits: lines, holds, throttles ---------------------------------------------------------


def test_a_book_listed_twice_past_the_line_maximum_is_400_naming_the_field(user_client):
    book = BookFactory(stock_quantity=500)
    body = assert_problem(
        user_client.post(
            "/api/orders/",
            with_shipping(
                {"items": [{"book": book.pk, "quantity": 60}, {"book": book.pk, "quantity": 60}]}
            ),
        ),
        400,
        "validation_error",
    )
    assert field_errors(body) == {"items.0.quantity"}
    assert not Order.objects.exists()
    book.refresh_from_db()
    assert book.reserved_quantity == 0


def test_copies_held_per_book_are_capped_across_pending_orders(user_client, settings):
    settings.MAX_HELD_COPIES_PER_BOOK, settings.MAX_HELD_COPIES_TOTAL = 5, 100
    book, other = BookFactory(stock_quantity=250), BookFactory(stock_quantity=250)
    lines = with_shipping({"items": [{"book": book.pk, "quantity": 3}]})
    assert user_client.post("/api/orders/", lines).status_code == 201
    body = assert_problem(user_client.post("/api/orders/", lines), 409, "hold_limit_exceeded")
    assert (body["books"], body["limit"]) == ([book.pk], 5)
    book.refresh_from_db()
    assert (book.reserved_quantity, Order.objects.count()) == (3, 1)
    # Other books, and other customers, are not affected.
    other_lines = with_shipping({"items": [{"book": other.pk, "quantity": 5}]})
    assert user_client.post("/api/orders/", other_lines).status_code == 201
    assert client_for(UserFactory()).post("/api/orders/", lines).status_code == 201
    # A cancelled or lapsed order holds nothing any more.
    Order.objects.filter(user=user_client.user, items__book=book).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert user_client.post("/api/orders/", lines).status_code == 201


def test_copies_held_in_total_are_capped(user_client, settings):
    settings.MAX_HELD_COPIES_PER_BOOK, settings.MAX_HELD_COPIES_TOTAL = 20, 6
    books = BookFactory.create_batch(3, stock_quantity=50)
    first = with_shipping({"items": [{"book": books[0].pk, "quantity": 4}]})
    assert user_client.post("/api/orders/", first).status_code == 201
    second = with_shipping(
        {"items": [{"book": books[1].pk, "quantity": 2}, {"book": books[2].pk, "quantity": 1}]}
    )
    body = assert_problem(user_client.post("/api/orders/", second), 409, "hold_limit_exceeded")
    assert body["limit"] == 6
    assert Order.objects.count() == 1


def test_the_default_caps_stop_one_customer_holding_most_of_a_book(user_client):
    book = BookFactory(stock_quantity=250)
    for _ in range(2):
        user_client.post(
            "/api/orders/", with_shipping({"items": [{"book": book.pk, "quantity": 100}]})
        )
    book.refresh_from_db()
    assert book.reserved_quantity <= 20


def test_placing_orders_is_throttled_per_customer(user_client, throttle_rates):
    throttle_rates(orders="3/hour")
    book = BookFactory(stock_quantity=50)
    statuses = [place(user_client, [book]).status_code for _ in range(4)]
    assert statuses == [201, 201, 201, 429]
    assert Order.objects.count() == 3
    assert place(client_for(UserFactory()), [book]).status_code == 201


def quote(client, books, **extra):
    payload = with_shipping({"items": [{"book": b.pk, "quantity": 1} for b in books], **extra})
    return client.post("/api/orders/quote/", payload, format="json")


def test_guessing_codes_through_the_quote_stops_where_placing_does(user_client, throttle_rates):
    throttle_rates(discount="4/hour")
    DiscountCodeFactory(code="REAL", value=Decimal("10"))
    book = BookFactory(stock_quantity=50)
    answers = [quote(user_client, [book], discount_code=f"GUESS{n}") for n in range(4)]
    assert [answer.status_code for answer in answers] == [200] * 4
    # The fifth guess would have shown the working code's discount: refused before pricing.
    response = quote(user_client, [book], discount_code="REAL")
    body = assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0 and "discount_amount" not in body
    assert_problem(place(user_client, [book], discount_code="REAL"), 429, "throttled")
    # Quoting and ordering without a code are not held back.
    assert quote(user_client, [book]).status_code == 200
    assert place(user_client, [book]).status_code == 201


def test_code_attempts_through_quote_and_placing_count_together(user_client, throttle_rates):
    throttle_rates(discount="4/hour")
    book = BookFactory(stock_quantity=50)
    statuses = []
    for n in range(3):
        statuses.append(quote(user_client, [book], discount_code=f"Q{n}").status_code)
        statuses.append(place(user_client, [book], discount_code=f"P{n}").status_code)
    assert statuses == [200, 400, 200, 400, 429, 429]
    assert Order.objects.count() == 0
    # Per customer: someone else still has their budget.
    assert quote(client_for(UserFactory()), [book], discount_code="Q0").status_code == 200


def test_discount_code_attempts_are_throttled_and_refused_alike(user_client):
    DiscountCodeFactory(code="LATE", valid_until=timezone.now() - timedelta(days=1))
    DiscountCodeFactory(code="SPENT", max_redemptions=1, times_redeemed=1)
    book = BookFactory(stock_quantity=50)
    details = set()
    for code in ["NOPE1", "LATE", "SPENT", "NOPE2", "NOPE3"]:
        body = assert_problem(
            place(user_client, [book], discount_code=code), 400, "invalid_discount_code"
        )
        details.add(body["detail"])
    assert len(details) == 1  # "not valid", "expired" and "used up" cannot be told apart
    statuses = [place(user_client, [book], discount_code="GUESS").status_code for _ in range(10)]
    assert 429 in statuses
    assert statuses.index(429) == 5  # 10 attempts an hour in all
    # Ordering without a code is still possible.
    assert place(user_client, [book]).status_code == 201
