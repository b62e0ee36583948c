"""Real threads against PostgreSQL: reviews written at once all count, and a reader subscribing
while copies come back is either refused or emailed, never forgotten."""

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection

from accounts.tests.factories import UserFactory
from catalog import inventory, services
from catalog.models import Book, StockAlert
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from orders import services as order_services

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


def test_reviews_written_at_once_all_count_in_the_figures():
    book = BookFactory(stock_quantity=20, average_rating=Decimal("3.00"), ratings_count=2)
    buyers = UserFactory.create_batch(8)
    for user in buyers:
        order = order_services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
        order_services.order_mark_paid(order_id=order.pk)

    def review(user):
        return lambda: services.review_create(user=user, book_id=book.pk, rating=5)

    run_together([review(user) for user in buyers])
    book.refresh_from_db()
    # (3.00 x 2 + 5 x 8) / 10
    assert (book.combined_average_rating, book.combined_ratings_count) == (Decimal("4.60"), 10)


@pytest.mark.parametrize("round_number", range(3))
def test_a_reader_subscribing_during_a_restock_is_refused_or_emailed(round_number):
    book = BookFactory(title="Wolf Hall", stock_quantity=0)
    readers = UserFactory.create_batch(6, email_verified=True)  # alerts need a confirmed address

    def subscribe(user):
        def call():
            try:
                services.stock_alert_subscribe(user=user, book_id=book.pk)
            except ApplicationError as error:
                return error.code
            return "waiting"

        return call

    results = run_together(
        [
            *(subscribe(user) for user in readers),
            lambda: inventory.stock_restock(lines={book.pk: 3}),
        ]
    )
    answered = results[:-1]
    emailed = [message for message in mail.outbox if "Wolf Hall" in message.subject]
    # Every reader who got an alert was emailed by the restock; the others were told in_stock.
    assert len(emailed) == answered.count("waiting")
    assert answered.count("waiting") + answered.count("in_stock") == len(readers)
    assert not StockAlert.objects.exists()
    assert Book.objects.get(pk=book.pk).stock_quantity == 3
