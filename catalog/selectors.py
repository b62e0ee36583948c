"""Reads of the catalogue that need more than a one-liner."""

import functools
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar, cast

import orjson
from django.db import connection
from django.db.models import F, Field, JSONField, Q, QuerySet
from django.db.models.expressions import RawSQL

from core import prepared

from . import caching
from .models import Author, Book, Genre
from .serializers import rows_may_be_json

SEARCH_MAX_LENGTH = 200
# Fewer copies available than this: time to restock (the admin's filter and the dashboard).
LOW_STOCK = 5

NamedModel = TypeVar("NamedModel", Author, Genre)
Converter = Callable[[Any, Any, Any], Any]


def book_list(*, include_archived: bool) -> QuerySet[Book]:
    """Books as the API shows them; customers see only those on sale."""
    books = Book.objects.for_display()
    return books if include_archived else books.active()


# What a customer's page of books shows, read as rows rather than models: the most read pages
# of the shop (the book list, and a search) read these (BookSerializer.rows_representation writes
# them out), since building twenty models, and compiling the ORM query that reads them, took
# about as long as the rest of a signed-in request together.
BOOK_ROW_COLUMNS = (
    "id",
    "title",
    "subtitle",
    "author_list",
    "genre_list",
    "isbn13",
    "price",
    "description",
    "publication_year",
    "language",
    "page_count",
    "cover_image_url",
    "average_rating",
    "ratings_count",
    "stock_quantity",
    "reserved_quantity",
    "created_at",
    "updated_at",
)


def _rows_are_json() -> bool:
    """Whether the customers' pages read each book as its JSON, written by the database: on
    PostgreSQL, for BookSerializer's default output. Turning a row's eighteen columns into
    Python values and those into a dict cost a signed-in page more than PostgreSQL's writing
    the JSON itself (in C, for the page's rows only: it writes after the sort and the limit)."""
    return connection.vendor == "postgresql" and rows_may_be_json()


def _book_json_sql() -> str:
    """A catalog_book row as PostgreSQL writes BookSerializer.rows_representation's JSON of
    it (a test holds the two equal): text built piece by piece, which PostgreSQL does faster
    than with json_build_object and in the serializer's key order and compact form."""
    table = Book._meta.db_table

    def column(name: str) -> str:
        return f'"{table}"."{name}"'

    def text(name: str) -> str:
        return f"COALESCE(to_json({column(name)})::text, 'null')"

    def number(name: str) -> str:  # also JSON columns: their text is JSON already
        return f"COALESCE({column(name)}::text, 'null')"

    def decimal(name: str) -> str:
        # A string, as DRF writes decimals; a numeric's text has nothing to escape.
        return f"""COALESCE('"' || {column(name)}::text || '"', 'null')"""

    def timestamp(name: str) -> str:
        # As Python's isoformat() writes a UTC time, with "Z": no fraction when it is zero.
        written = f"""to_char({column(name)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
        return f"""'"' || replace({written}, '.000000', '') || 'Z"'"""

    available = f"GREATEST({column('stock_quantity')} - {column('reserved_quantity')}, 0)"
    members = {
        "id": number("id"),
        "title": text("title"),
        "subtitle": text("subtitle"),
        "authors": number("author_list"),
        "genres": number("genre_list"),
        "isbn13": text("isbn13"),
        "price": decimal("price"),
        "description": text("description"),
        "publication_year": number("publication_year"),
        "language": text("language"),
        "page_count": number("page_count"),
        "cover_image_url": text("cover_image_url"),
        "average_rating": decimal("average_rating"),
        "ratings_count": number("ratings_count"),
        "available_quantity": f"{available}::text",
        "in_stock": f"({available} > 0)::text",
        "created_at": timestamp("created_at"),
        "updated_at": timestamp("updated_at"),
    }
    pieces = [
        f"""'{"{" if i == 0 else ","}"{key}":' || {sql}"""
        for i, (key, sql) in enumerate(members.items())
    ]
    return "(" + " || ".join(pieces) + " || '}')"


@functools.cache
def _book_rows_sql(vendor: str, *, ordered: bool, as_json: bool) -> tuple[str, tuple[Any, ...]]:
    """SQL reading the active books' display columns, or (`as_json`) each book's JSON (newest
    first, Book's ordering, when `ordered`), compiled by the ORM once per process and database
    kind rather than on every request."""
    books: QuerySet[Book, Any]
    if as_json:
        # Constant SQL: the columns' names only.
        written = RawSQL(_book_json_sql(), ())  # nosec B611
        books = Book.objects.active().annotate(book_json=written).values_list("book_json")
    else:
        books = Book.objects.active().values_list(*BOOK_ROW_COLUMNS)
    query = (books if ordered else books.order_by()).query
    sql, params = query.get_compiler(connection=connection).as_sql()
    return sql, tuple(params)


@functools.cache
def _book_row_converters(vendor: str) -> list[tuple[int, list[Converter], Any]]:
    """Per column, what the ORM does to a value the database driver returns (SQLite's decimals
    and datetimes): (position, converters, column), as SQLCompiler.get_converters finds them.
    JSON columns are the exception: their text is kept, as an orjson.Fragment, which the API's
    renderer writes out as it is rather than parsing it and encoding it again."""
    converters: list[tuple[int, list[Converter], Any]] = []
    for position, name in enumerate(BOOK_ROW_COLUMNS):
        field = cast("Field[Any, Any]", Book._meta.get_field(name))  # columns, not relations
        column = field.cached_col
        if isinstance(field, JSONField):
            converters.append((position, [_json_fragment], column))
            continue
        found = connection.ops.get_db_converters(column) + field.get_db_converters(connection)
        if found:
            converters.append((position, found, column))
    return converters


def _json_fragment(value: str | None, expression: Any, connection: Any) -> orjson.Fragment | None:
    return None if value is None else orjson.Fragment(value)


def book_rows(sql: str, params: Sequence[Any], *, as_json: bool) -> list[tuple[Any, ...]]:
    """Run `sql`, built on book_active_sql(), whose first columns are BOOK_ROW_COLUMNS or (as
    book_active_sql said: `as_json`) the book's JSON; any columns after them are left as they
    come. The book columns' values are converted as the ORM would (but see
    _book_row_converters), the JSON text to an orjson.Fragment, which the API's renderer
    writes out as it is."""
    fetched = prepared.fetch_all(sql, params)
    if as_json:
        return [(orjson.Fragment(book_json), *rest) for book_json, *rest in fetched]
    converters = _book_row_converters(connection.vendor)
    rows = []
    for fetched_row in fetched:
        row = list(fetched_row)
        for position, functions, column in converters:
            value = row[position]
            for convert in functions:
                value = convert(value, column, connection)
            row[position] = value
        rows.append(tuple(row))
    return rows


def book_active_sql() -> tuple[str, tuple[Any, ...], bool]:
    """`SELECT <BOOK_ROW_COLUMNS, or the book's JSON> FROM catalog_book WHERE <active>`, its
    parameters and which of the two it selects (`as_json`, for book_rows), for queries that add
    their own conditions and order (catalog.search)."""
    as_json = _rows_are_json()
    return *_book_rows_sql(connection.vendor, ordered=False, as_json=as_json), as_json


def book_page_rows(*, offset: int, limit: int) -> list[tuple[Any, ...]]:
    """A customer's page of the book list, rows as book_rows reads them: active books, newest
    first."""
    as_json = _rows_are_json()
    sql, params = _book_rows_sql(connection.vendor, ordered=True, as_json=as_json)
    return book_rows(f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset], as_json=as_json)


def book_active_count() -> int:
    return Book.objects.active().count()


def book_customer_page(
    *, search_text: str, offset: int, limit: int, count_key: Hashable
) -> tuple[int, list[tuple[Any, ...]]] | None:
    """How many books a customer's plain list or search finds, and a page of them as rows of
    BOOK_ROW_COLUMNS; None where the general path must answer (see search.book_search_page).
    The count is shared between readers for a moment (catalog.caching) under `count_key`,
    which names the reader's view of the catalogue and the filters."""
    if not search_text:
        count = caching.shared_count(count_key, book_active_count)
        return count, book_page_rows(offset=offset, limit=limit) if offset < count else []
    from .search import book_search_page  # search reads its rows through this module

    read_at = time.time()
    known_count = caching.fresh_count(count_key)
    found = book_search_page(text=search_text, offset=offset, limit=limit, known_count=known_count)
    if found is not None and found[0] != known_count:
        caching.remember_count(count_key, found[0], read_at=read_at)
    return found


def _named_list(model: type[NamedModel], search: str) -> QuerySet[NamedModel]:
    named = model.objects.order_by("name", "pk")
    search = search[:SEARCH_MAX_LENGTH].strip()
    if search:
        named = named.filter(Q(name__icontains=search) | Q(slug=search))
    return named


def author_list(*, search: str = "") -> QuerySet[Author]:
    """Authors by name; `search` matches part of the name, or the whole slug."""
    return _named_list(Author, search)


def genre_list(*, search: str = "") -> QuerySet[Genre]:
    """Genres by name; `search` matches part of the name, or the whole slug."""
    return _named_list(Genre, search)


def books_low_stock(*, threshold: int = LOW_STOCK, limit: int = 10) -> tuple[int, list[Book]]:
    """How many active books have fewer than `threshold` copies available, and the `limit` with
    the fewest (annotated with `available`)."""
    low = (
        Book.objects.active()
        .annotate(available=F("stock_quantity") - F("reserved_quantity"))
        .filter(available__lt=threshold)
    )
    shown: list[Book] = list(
        low.order_by("available", "title", "pk").only(
            "pk", "title", "isbn13", "stock_quantity", "reserved_quantity"
        )[:limit]
    )
    return low.count(), shown
