"""The number of books on sale, kept by PostgreSQL's triggers, stays the count."""

import pytest
from django.db import connection

from catalog import counting
from catalog.models import ActiveBookCount, Book
from catalog.tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def kept():
    return ActiveBookCount.objects.get().books


@pytest.mark.postgres_only
def test_every_change_of_the_books_on_sale_is_kept():
    counting.active_book_count_install(using="default")
    assert kept() == Book.objects.active().count()

    books = BookFactory.create_batch(3)
    Book.objects.bulk_create([Book(title=f"Bulk {n}", price=5) for n in range(4)])
    BookFactory(is_active=False)
    assert kept() == Book.objects.active().count()

    Book.objects.filter(pk=books[0].pk).update(is_active=False)  # archived
    Book.objects.filter(pk=books[1].pk).update(stock_quantity=3)  # a stock change: nothing
    Book.objects.filter(is_active=False).update(is_active=True)  # back on sale
    Book.objects.filter(pk=books[2].pk).delete()
    assert kept() == Book.objects.active().count() == counting.active_book_count()


@pytest.mark.postgres_only
@pytest.mark.django_db(transaction=True)
def test_emptying_the_book_table_keeps_zero():
    counting.active_book_count_install(using="default")
    BookFactory.create_batch(2)
    assert kept() == 2
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {Book._meta.db_table} CASCADE")
    assert kept() == 0


def test_without_a_kept_count_the_books_are_counted():
    ActiveBookCount.objects.all().delete()
    BookFactory.create_batch(2)
    BookFactory(is_active=False)
    assert counting.active_book_count() == 2


def test_the_trigger_function_names_the_models_tables():
    assert f"UPDATE {ActiveBookCount._meta.db_table} SET" in counting.FUNCTION_SQL
    assert all(Book._meta.db_table in sql for sql in counting._trigger_sql(Book._meta.db_table)[1:])
