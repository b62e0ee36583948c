"""The customers' pages read books as rows of the public fields' table, through queries compiled
once whose varying values are given on each run."""

from decimal import Decimal

import orjson
import pytest
from django.db.models import BooleanField, Value
from django.db.models.expressions import RawSQL

from catalog import rows
from catalog.fields import BOOK_PUBLIC_FIELDS, BOOK_PUBLIC_KEYS
from catalog.models import Book
from catalog.serializers import BookSerializer
from catalog.tests.factories import BookFactory

pytestmark = pytest.mark.django_db


def test_the_rows_the_serializer_and_the_table_name_the_same_fields_in_the_same_order():
    assert BookSerializer.Meta.fields == list(BOOK_PUBLIC_KEYS)
    compiled = rows.compile_rows(rows.public_rows(Book.objects.all()))
    # One column per public field, then LIMIT and OFFSET.
    assert compiled.sql.count(" AS ") == len(BOOK_PUBLIC_FIELDS)
    assert compiled.sql.endswith(" LIMIT %s OFFSET %s")


def test_a_query_compiled_once_runs_with_the_values_of_each_call():
    BookFactory(title="Dune", price=Decimal("9.50"))
    BookFactory(title="Emma", price=Decimal("4.00"))
    slot = rows.Slot()
    # Constant SQL, its one value a parameter.
    titled = RawSQL('"catalog_book"."title" = %s', [slot], output_field=BooleanField())  # nosec B611
    query = rows.compile_rows(rows.public_rows(Book.objects.filter(titled)), [slot])

    for title, price in (("Dune", Decimal("9.50")), ("Emma", Decimal("4.00"))):
        (row,) = rows.fetch(query, [title], limit=10, offset=0)
        book = dict(zip(BOOK_PUBLIC_KEYS, row, strict=True))
        assert (book["title"], book["price"]) == (title, price)
        assert isinstance(book["authors"], orjson.Fragment)  # the stored JSON text, kept
        assert book["in_stock"] is True
    assert rows.fetch(query, ["Dune"], limit=10, offset=1) == []


def test_extra_columns_come_after_the_public_fields():
    BookFactory(stock_quantity=0)
    query = rows.compile_rows(rows.public_rows(Book.objects.all(), marker=Value(7)))
    (row,) = rows.fetch(query, [], limit=1, offset=0)
    assert len(row) == len(BOOK_PUBLIC_FIELDS) + 1 and row[-1] == 7
    book = dict(zip(BOOK_PUBLIC_KEYS, row, strict=False))
    assert (book["available_quantity"], book["in_stock"]) == (0, False)
