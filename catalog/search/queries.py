"""Searches as queries: a queryset filtered and ranked (the general path), and a customer's
search page read as rows in one query (the hot path, catalog.selectors)."""

import functools
import re
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import BooleanField, F, FloatField, QuerySet, TextField, Value
from django.db.models.expressions import RawSQL

from core import prepared

from .. import isbn, rows
from ..facets import FacetCounts, facet_columns, facets_parts, facets_read, facets_statement
from ..models import Book
from .matching import is_postgres, match_condition, matching, uses_fts5
from .ranking import relevance_expression, relevance_sql
from .text import normalise
from .typos import correction

MAX_QUERY_WORDS = 10


def is_ranked_search(queryset) -> bool:
    """`queryset` is a search sorted by relevance unless told otherwise: the database ranks (or
    sorts) every match before it can return a page."""
    return "relevance" in queryset.query.annotations


def isbn_candidate(text):
    digits = isbn.clean(text)
    if re.fullmatch(r"\d{9}[\dX]|\d{13}", digits):
        return isbn.to_isbn13(digits)
    return None


def book_search(queryset: QuerySet[Book], text: str) -> QuerySet[Book]:
    """Filter `queryset` to books matching `text`, annotated with `relevance` (higher first)."""
    text = " ".join(text.split())
    if not text:
        return queryset
    isbn13 = isbn_candidate(text)
    if isbn13:
        return queryset.filter(isbn13=isbn13).annotate(relevance=Value(1.0, FloatField()))
    words = normalise(text).split()[:MAX_QUERY_WORDS]
    if not words:
        return queryset.none().annotate(relevance=Value(0.0, FloatField()))
    matches = queryset.filter(matching([[word] for word in words], prefix_last=True))
    variants = [words]
    if not matches.exists():
        reading = correction(words)
        if reading is not None:
            corrected, variants = reading
            matches = queryset.filter(matching(corrected, prefix_last=True))
    return matches.annotate(relevance=relevance_expression(variants))


def book_search_page(
    *,
    text: str,
    offset: int,
    limit: int,
    known_count: int | None = None,
    facet_names: Sequence[str] = (),
) -> tuple[int, list[tuple[Any, ...]], dict[str, FacetCounts] | None] | None:
    """How many books match a customer's search, a page of them: rows of the public fields
    (catalog.rows), active books in `book_search`'s order, and the facets `facet_names` of
    every match (catalog.facets; None when none are asked for). One query where book_search
    and a page of it take three: the count, the order and the rows come together, and an empty
    first page shows a typo; one more for the facets, counted over the same matches (as typed
    or corrected) without finding them again through the filters. `known_count`, a count of
    this search shared between readers (catalog.caching), spares the database the counting
    for a page that has books. None where `book_search` must answer (an ISBN, or SQLite
    without FTS5)."""
    text = " ".join(text.split())
    if isbn_candidate(text) or not (is_postgres() or uses_fts5()):
        return None
    words = normalise(text).split()[:MAX_QUERY_WORDS]
    if not words:
        return 0, [], _facets(None, facet_names)
    as_typed = [[word] for word in words]
    if known_count is not None:
        # The count is known: the page alone, which the database need not count around. An
        # empty one says as much as a counted one would: no match as typed on a first page,
        # or a page past the last, which the count below tells.
        _, page, facets = _ranked_page(
            as_typed, [words], offset=offset, limit=limit, counted=False, facet_names=facet_names
        )
    else:
        known_count, page, facets = _ranked_page(
            as_typed, [words], offset=offset, limit=limit, facet_names=facet_names
        )
    if page:
        return known_count, page, facets
    if offset:
        count = _matching_count(as_typed)
        if count:
            # past the last page of the matches as typed
            return count, [], _facets(as_typed, facet_names)
    reading = correction(words)
    if reading is None:
        return 0, [], _facets(None, facet_names)
    corrected, variants = reading
    count, page, facets = _ranked_page(
        corrected, variants, offset=offset, limit=limit, facet_names=facet_names
    )
    if page:
        return count, page, facets
    if offset:
        count = _matching_count(corrected)
    return count, page, _facets(corrected, facet_names)


def _facets(
    alternatives: list[list[str]] | None, names: Sequence[str]
) -> dict[str, FacetCounts] | None:
    """The facets `names` of the active books matching `alternatives` (None: of no book), in
    one statement compiled once per shape of search; None when no facet is asked for."""
    if not names:
        return None
    if alternatives is None:
        return facets_read([], names)
    match_sql, match_params = match_condition(alternatives, prefix_last=True)  # type: ignore[misc]
    found_sql = _found_query(connection.vendor, match_sql, len(match_params), facet_columns(names))
    statement, params = facets_statement(found_sql, match_params, names)
    return facets_read(prepared.fetch_all(statement, params), names)


@functools.lru_cache(maxsize=256)
def _found_query(vendor: str, match_sql: str, match_arity: int, columns: tuple[str, ...]) -> str:
    """The SQL selecting `columns` of the active books matching `match_sql`, whose parameters
    are exactly the match's (given on each run); compiled once per process and shape."""
    slots = [rows.Slot() for _ in range(match_arity)]
    found = _matching_books(match_sql, slots).order_by().values_list(*columns)
    sql, params = found.query.sql_with_params()
    if list(params) != slots:
        raise AssertionError(f"Unexpected parameters in the facets' found books: {params}")
    return sql


def _matching_books(match_sql: str, slots: list[rows.Slot]) -> QuerySet[Book]:
    """The active books matching `match_sql`, its parameters standing as `slots`."""
    # Constant SQL (see match_condition): the words are parameters.
    matches = RawSQL(match_sql, slots, output_field=BooleanField())  # nosec B611
    return Book.objects.active().filter(matches)


def _ranked_page(
    alternatives: list[list[str]],
    variants: list[list[str]],
    *,
    offset: int,
    limit: int,
    counted: bool = True,
    facet_names: Sequence[str] = (),
) -> tuple[int, list[tuple[Any, ...]], dict[str, FacetCounts] | None]:
    """The page's rows; (when `counted`) how many books match, 0 for an empty page; and the
    facets `facet_names` of every match (None when none are asked for, or the page is empty).
    On PostgreSQL the facets come with the page, from the same statement: the matches are
    read once for both (a broad search's matches are thousands of rows spread over as many
    pages of the table, and reading them was most of its cost)."""
    match_sql, match_params = match_condition(alternatives, prefix_last=True)  # type: ignore[misc]
    relevance, relevance_params = relevance_sql(variants)
    with_facets = tuple(facet_names) if is_postgres() else ()
    query = _ranked_page_query(
        connection.vendor,
        match_sql,
        len(match_params),
        relevance,
        len(relevance_params),
        counted,
        with_facets,
    )
    page = rows.fetch(query, [*match_params, *relevance_params], limit=limit, offset=offset)
    facets = None
    if page and with_facets:
        facets = facets_read(orjson.loads(page[0][-1]), with_facets)
        page = [row[:-1] for row in page]
    elif page and facet_names:
        facets = _facets(alternatives, facet_names)
    return (page[0][-1] if page and counted else 0), page, facets


@functools.lru_cache(maxsize=256)
def _ranked_page_query(
    vendor: str,
    match_sql: str,
    match_arity: int,
    relevance: str,
    relevance_arity: int,
    counted: bool,
    facet_names: tuple[str, ...] = (),
) -> rows.RowsQuery:
    """The page query of _ranked_page, composed with the ORM and compiled once per process for
    each shape of search (the SQL of its match condition and ranking; the words are
    parameters, given on each run), not on every page. When `counted`, the number of matches
    is the column after the book's; with `facet_names` (PostgreSQL), the facets of every
    match are the last column, as JSON rows of catalog.facets' parts.

    In two steps, in one statement: the matches are ranked (and counted) as narrow rows, their
    id and rank, and only the page's books are then read whole. Ranking whole rows made the
    database carry every match's public columns through the sort and the count: at a million
    books, more than a broad search's memory for sorting holds. With facets, the matches (with
    the columns the facets count) are found once, as `found`, which both the ranking and the
    facets read."""
    slots = [rows.Slot() for _ in range(match_arity + relevance_arity)]
    # Constant SQL (see relevance_sql): the words are parameters.
    rank = RawSQL(relevance, slots[match_arity:], output_field=FloatField())  # nosec B611
    found = rows.compile_rows(
        _matching_books(match_sql, slots[:match_arity])
        .annotate(book_id=F("pk"), rank=rank)
        .order_by()
        .values_list("book_id", "rank", *facet_columns(facet_names)),
        slots,
    )
    # Read by the ranking alone, `found` is folded into it; read by the facets too, it is
    # found once and kept.
    materialized = " MATERIALIZED" if facet_names else ""
    count_column = ', COUNT(*) OVER () AS "matches_count"' if counted else ""
    # Constant SQL: names, and the page's bounds as placeholders.
    top = (
        f'SELECT "book_id", "rank"{count_column} FROM "found" '  # nosec B608
        f'ORDER BY "rank" DESC, "book_id" DESC{rows.PAGE_BOUNDS}'
    )
    # The page's rows: every book, joined below to the top of the ranking (constant SQL).
    extra: dict[str, Any] = {}
    if counted:
        extra["matches_count"] = RawSQL('"top"."matches_count"', ())  # nosec B611
    if facet_names:
        parts, parts_params = facets_parts(facet_names)
        # Constant SQL: the facets' values are parameters.
        extra["facets"] = RawSQL(  # nosec B611
            "(SELECT CAST(COALESCE(json_agg(json_build_array(facet.number, facet.first, "  # nosec B608
            f"facet.second, facet.count)), '[]') AS TEXT) FROM ({parts}) "
            "AS facet (number, first, second, count))",
            parts_params,
            output_field=TextField(),
        )
    books = rows.compile_rows(rows.public_rows(Book.objects.order_by(), **extra))
    table = Book._meta.db_table
    # compile_rows ends both with LIMIT and OFFSET: the page's bounds go to the ranking.
    sql = (
        f'WITH "found" AS{materialized} ({found.sql.removesuffix(rows.PAGE_BOUNDS)}) '
        + books.sql.removesuffix(rows.PAGE_BOUNDS)
        + f' INNER JOIN ({top}) AS "top" ON ("{table}"."id" = "top"."book_id")'
        + ' ORDER BY "top"."rank" DESC, "top"."book_id" DESC'
    )
    return rows.RowsQuery(sql=sql, params=found.params + books.params, converters=books.converters)


def _matching_count(alternatives: list[list[str]]) -> int:
    return Book.objects.active().filter(matching(alternatives, prefix_last=True)).count()
