"""The book serializers build their JSON directly, for speed: it must stay exactly what
ModelSerializer's field-by-field walk gives."""

import json
import zoneinfo
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer

from catalog import selectors
from catalog.models import Book
from catalog.serializers import BookSerializer, StaffBookSerializer
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from core.renderers import FastJSONRenderer

pytestmark = pytest.mark.django_db


def generic(serializer_class, book):
    """What ModelSerializer renders for `book`, field object by field object."""
    return serializers.ModelSerializer.to_representation(serializer_class(), book)


@pytest.fixture
def books():
    full = BookFactory(
        title="Dune",
        subtitle="Book one",
        authors=[AuthorFactory(name="Frank Herbert"), AuthorFactory(name="Someone Else")],
        genres=[GenreFactory(name="Science Fiction"), GenreFactory(name="Classics")],
        isbn13="9780441172719",
        price=Decimal("9.99"),
        description="Spice.",
        page_count=604,
        cover_image_url="https://images.example.com/dune.jpg",
        average_rating=Decimal("4.25"),
        ratings_count=1234,
        stock_quantity=3,
    )
    Book.objects.filter(pk=full.pk).update(reserved_quantity=3)  # sold out
    sparse = BookFactory(
        title="Untitled",
        isbn13=None,
        publication_year=None,
        language="",
        page_count=None,
        average_rating=None,
        ratings_count=None,
        is_active=False,
    )
    return list(Book.objects.for_display().filter(pk__in=[full.pk, sparse.pk]).order_by("pk"))


@pytest.mark.parametrize("serializer_class", [BookSerializer, StaffBookSerializer])
def test_direct_representation_is_modelserializers(books, serializer_class):
    for book in books:
        fast = serializer_class(book).data
        assert list(fast.items()) == list(generic(serializer_class, book).items())
        assert list(fast) == serializer_class.Meta.fields


@pytest.mark.parametrize("serializer_class", [BookSerializer, StaffBookSerializer])
def test_list_representation_is_modelserializers(books, serializer_class):
    fast = serializer_class(books, many=True).data
    assert [list(book.items()) for book in fast] == [
        list(generic(serializer_class, book).items()) for book in books
    ]


def test_values_off_the_fast_path_render_as_drf_renders_them(books):
    book = books[0]
    # An unsaved book's values, as code sets them: a whole-number price, a naive timestamp.
    book.price = Decimal("10")
    book.combined_average_rating = Decimal("4.5")
    with override_settings(USE_TZ=False):
        book.created_at = datetime(2024, 5, 1, 12, 30)
        book.updated_at = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
        data = BookSerializer(book).data
        assert data == generic(BookSerializer, book)
    assert data["price"] == "10.00"
    assert data["average_rating"] == "4.50"


def test_timestamps_in_the_current_timezone_as_drf_writes_them(books):
    book = books[0]
    book.created_at = datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    assert BookSerializer(book).data["created_at"] == "2024-01-15T09:00:00Z"
    with timezone.override(zoneinfo.ZoneInfo("Europe/Paris")):
        data = BookSerializer(book).data
        assert data == generic(BookSerializer, book)
    assert data["created_at"] == "2024-01-15T10:00:00+01:00"


def test_decimal_settings_are_honoured(books):
    with override_settings(REST_FRAMEWORK={"COERCE_DECIMAL_TO_STRING": False}):
        from rest_framework.settings import api_settings

        api_settings.reload()
        try:
            book = books[0]
            assert BookSerializer(book).data["price"] == generic(BookSerializer, book)["price"]
        finally:
            api_settings.reload()


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris"])
def test_rows_render_as_the_books_do(books, zone):
    """The customers' list and search pages read rows, not models (catalog.rows): their
    JSON must be the books' JSON, key order and all. The `authors` and `genres` of a row are the
    stored JSON text, which the API's renderer writes out as it is."""
    BookFactory(
        title="Bare", isbn13=None, publication_year=None, page_count=None, average_rating=None
    )
    active = list(Book.objects.for_display().filter(is_active=True))  # newest first
    assert len(active) == 2
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        from_rows, from_books = _page_from_rows_and_from_books(active)
    assert [book["id"] for book in from_rows] == [book.pk for book in active]
    assert from_rows[0]["created_at"].endswith("Z" if zone == "UTC" else ":00")
    assert [list(book.items()) for book in from_rows] == [list(book.items()) for book in from_books]


def _page_from_rows_and_from_books(active):
    """The list page's JSON as the customers' hot path reads and writes it, and as the
    serializer writes the same books (given newest first), both parsed."""
    rows = selectors.book_page_rows(offset=0, limit=len(active) + 1)
    from_rows = json.loads(FastJSONRenderer().render(BookSerializer.rows_representation(rows)))
    books_data = BookSerializer(active, many=True).data
    return from_rows, json.loads(JSONRenderer().render(books_data))


@pytest.mark.parametrize(
    "output",
    [{"COERCE_DECIMAL_TO_STRING": False}, {"DATETIME_FORMAT": "%Y-%m-%d %H:%M"}],
    ids=["decimals as numbers", "another time format"],
)
def test_rows_render_as_the_books_do_with_other_output_settings(books, output):
    """With decimals as numbers or another time format, the rows' JSON is still the books'."""
    from rest_framework.settings import api_settings

    with override_settings(REST_FRAMEWORK=output):
        api_settings.reload()
        try:
            rows = selectors.book_page_rows(offset=0, limit=10)
            assert [type(value) for value in rows[0][:2]] == [int, str]
            active = list(Book.objects.for_display().filter(is_active=True))
            from_rows, from_books = _page_from_rows_and_from_books(active)
        finally:
            api_settings.reload()
    assert from_rows == from_books
