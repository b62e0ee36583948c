"""Real threads against PostgreSQL: no overselling, no deadlocks, one winner per race."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.services import PaymentOutcome
from orders.tests.factories import DiscountCodeFactory, with_shipping
from orders.tests.helpers import assert_stock_invariant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres_only]


def run_together(functions):
    """Start every function at the same moment on its own thread (and DB connection)."""
    barrier = threading.Barrier(len(functions))

    def call(function):
        barrier.wait()
        try:
            return function()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(functions)) as pool:
        return list(pool.map(call, functions))


def buyer(user, payload, **headers):
    payload = with_shipping(payload)

    def buy():
        client = ProblemCheckingAPIClient()
        client.force_authenticate(user)
        response = client.post("/api/orders/", payload, format="json", **headers)
        return response.status_code, response.json()

    return buy


@pytest.mark.parametrize("round_number", range(5))
def test_fifty_buyers_ten_copies_no_oversell(round_number):
    book = BookFactory(stock_quantity=10)
    users = UserFactory.create_batch(50)
    payload = {"items": [{"book": book.pk, "quantity": 1}]}
    results = run_together([buyer(user, payload) for user in users])
    statuses = sorted(status for status, _ in results)
    assert statuses.count(201) == 10
    assert statuses.count(409) == 40
    assert all(body["code"] == "insufficient_stock" for status, body in results if status == 409)
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (10, 10)
    assert Order.objects.count() == 10
    assert_stock_invariant()


def test_opposite_line_order_does_not_deadlock():
    a, b = BookFactory(stock_quantity=100), BookFactory(stock_quantity=100)
    users = UserFactory.create_batch(20)
    forward = {"items": [{"book": a.pk, "quantity": 1}, {"book": b.pk, "quantity": 1}]}
    backward = {"items": [{"book": b.pk, "quantity": 1}, {"book": a.pk, "quantity": 1}]}
    results = run_together(
        [buyer(user, forward if i % 2 else backward) for i, user in enumerate(users)]
    )
    assert [status for status, _ in results] == [201] * 20
    assert_stock_invariant()


def test_last_use_of_a_discount_code_goes_to_exactly_one_order():
    DiscountCodeFactory(code="LAST", max_redemptions=5, times_redeemed=4)
    users = UserFactory.create_batch(10)
    payload = {"items": [{"book": BookFactory(stock_quantity=50).pk, "quantity": 1}]}
    results = run_together([buyer(u, {**payload, "discount_code": "LAST"}) for u in users])
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [400] * 9
    assert Order.objects.filter(discount_code__code="LAST").count() == 1
    assert_stock_invariant()


@pytest.mark.parametrize("round_number", range(10))
def test_expiry_racing_payment_has_one_winner(round_number):
    book = BookFactory(stock_quantity=3)
    order = services.order_place(user=UserFactory(), items=[{"book": book.pk, "quantity": 2}])
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))

    expired_count, (outcome, _) = run_together(
        [services.orders_expire_lapsed, lambda: services.order_mark_paid(order_id=order.pk)]
    )
    order.refresh_from_db()
    book.refresh_from_db()
    if order.status == OrderStatus.PAID:
        assert outcome is PaymentOutcome.PAID and expired_count == 0
        assert (book.stock_quantity, book.reserved_quantity) == (1, 0)
    else:
        assert order.status == OrderStatus.EXPIRED
        assert outcome is PaymentOutcome.NOT_PAYABLE and expired_count == 1
        assert (book.stock_quantity, book.reserved_quantity) == (3, 0)
    assert_stock_invariant()


def test_two_expiry_jobs_at_once_handle_each_order_once():
    book = BookFactory(stock_quantity=100)
    orders = [
        services.order_place(user=UserFactory(), items=[{"book": book.pk, "quantity": 1}])
        for _ in range(30)
    ]
    Order.objects.update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    counts = run_together([services.orders_expire_lapsed, services.orders_expire_lapsed])
    assert sum(counts) == 30
    assert Order.objects.filter(status=OrderStatus.EXPIRED).count() == 30
    for order in orders:
        assert OrderEvent.objects.filter(order=order, to_status="expired").count() == 1
    assert Book.objects.get(pk=book.pk).reserved_quantity == 0
    assert_stock_invariant()


def test_racing_duplicates_with_one_idempotency_key_create_one_order():
    user = UserFactory()
    payload = {"items": [{"book": BookFactory(stock_quantity=10).pk, "quantity": 1}]}
    results = run_together([buyer(user, payload, HTTP_IDEMPOTENCY_KEY="same") for _ in range(5)])
    assert [status for status, _ in results] == [201] * 5
    assert len({body["id"] for _, body in results}) == 1
    assert Order.objects.count() == 1
    assert_stock_invariant()
