"""Facets: beside a page of the book list or a search, how many of the books it finds fall in
each genre, language, price range and decade (`GET /api/books/?facets=genre,price`).

A facet counts one Book field. Its own filters are the list's filters on that field (found in
BookFilter's declarations, not listed here), and they are left out of its counts, so that a
storefront can offer the other choices of a facet beside the one a customer picked: with
`genre=fantasy`, the genre counts are those of the list without it, while every other facet
counts fantasy books only.

Facets that count the same books (a storefront's usual case: none of their filters is set) are
counted in one statement: the books are found once (`found`, the filtered queryset's rows) and
each facet groups them (a part of a UNION ALL), where one query per facet would find the books
again for each. Genres are counted from the book's stored genre list (Book.genre_list, kept
current with its genres), not through the genre link table, which would be read whole.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import QuerySet

from core import prepared

from .models import Book

# A storefront shows a handful of genres beside its results, not the whole list.
TOP_GENRES = 20

FacetCounts = list[dict[str, Any]]
# What a facet's part of the statement gives: up to two texts and a count, per row.
PartRow = tuple[str | None, str | None, int]


def price_buckets() -> list[tuple[Decimal | None, Decimal | None]]:
    """(min, max) of each price bucket (min ≤ price < max; None: no bound), from the bounds in
    settings.FACET_PRICE_BUCKETS."""
    bounds: list[Decimal | None] = [None, *settings.FACET_PRICE_BUCKETS, None]
    return list(zip(bounds, bounds[1:], strict=False))


def _genre_part() -> tuple[str, list[Any]]:
    """The genres of the books found with the most of them (then by name, then slug)."""
    if connection.vendor == "postgresql":
        genres = "CROSS JOIN LATERAL jsonb_array_elements(found.genre_list) AS genre"
        slug, name = "genre.value ->> 'slug'", "genre.value ->> 'name'"
    else:
        genres = "CROSS JOIN json_each(found.genre_list) AS genre"
        slug, name = "json_extract(genre.value, '$.slug')", "json_extract(genre.value, '$.name')"
    # Constant SQL: nothing from a request.
    sql = (
        f"SELECT {slug}, {name}, COUNT(*) FROM found {genres} "  # nosec B608
        f"GROUP BY 1, 2 ORDER BY 3 DESC, 2, 1 LIMIT {TOP_GENRES}"
    )
    return sql, []


def _genre_counts(rows: list[PartRow]) -> FacetCounts:
    ordered = sorted(rows, key=lambda row: (-row[2], row[1] or "", row[0] or ""))
    return [{"slug": slug, "name": name, "count": count} for slug, name, count in ordered]


def _language_part() -> tuple[str, list[Any]]:
    """The languages of the books found (as stored); books without one are left out."""
    return "SELECT language, NULL, COUNT(*) FROM found WHERE language <> '' GROUP BY 1", []


def _language_counts(rows: list[PartRow]) -> FacetCounts:
    ordered = sorted(rows, key=lambda row: (-row[2], row[0] or ""))
    return [{"code": code, "count": count} for code, _, count in ordered]


def _price_part() -> tuple[str, list[Any]]:
    """How many of the books found each price bucket holds, by the bucket's number."""
    bounds = settings.FACET_PRICE_BUCKETS
    cases = " ".join(f"WHEN price < CAST(%s AS DECIMAL) THEN '{n}'" for n in range(len(bounds)))
    bucket = f"CASE {cases} ELSE '{len(bounds)}' END" if bounds else "'0'"
    # Constant SQL: the bounds are parameters.
    sql = f"SELECT {bucket}, NULL, COUNT(*) FROM found GROUP BY 1"  # nosec B608
    return sql, [str(bound) for bound in bounds]


def _price_counts(rows: list[PartRow]) -> FacetCounts:
    """Every bucket, empty ones included."""
    counts = {int(number or 0): count for number, _, count in rows}
    return [
        {
            "min": _price_text(low or Decimal(0)),
            "max": None if high is None else _price_text(high),
            "count": counts.get(number, 0),
        }
        for number, (low, high) in enumerate(price_buckets())
    ]


def _price_text(amount: Decimal) -> str:
    """As the API writes a price (Book.price's decimal places)."""
    places = Book._meta.get_field("price").decimal_places
    return f"{amount:.{places}f}"


def _year_part() -> tuple[str, list[Any]]:
    """How many of the books found each year holds (a few hundred rows; the decades are
    folded here, the same way on every database)."""
    return (
        "SELECT CAST(publication_year AS TEXT), NULL, COUNT(*) FROM found "
        "WHERE publication_year IS NOT NULL GROUP BY publication_year",
        [],
    )


def _decade_counts(rows: list[PartRow]) -> FacetCounts:
    """The decades published in (1990 holds 1990 to 1999), oldest first."""
    decades: dict[int, int] = {}
    for year, _, count in rows:
        decade = int(year or 0) // 10 * 10
        decades[decade] = decades.get(decade, 0) + count
    return [{"decade": decade, "count": decades[decade]} for decade in sorted(decades)]


@dataclass(frozen=True)
class Facet:
    name: str
    # The Book field it counts: the list's filters on this field are the facet's own.
    field: str
    # The Book columns its part reads from the books found.
    columns: tuple[str, ...]
    # Its part of the statement (SQL over `found`, and parameters), and the facet from the
    # part's rows.
    part: Callable[[], tuple[str, list[Any]]]
    read: Callable[[list[PartRow]], FacetCounts]


FACETS: dict[str, Facet] = {
    facet.name: facet
    for facet in (
        Facet("genre", "genres", ("genre_list",), _genre_part, _genre_counts),
        Facet("language", "language", ("language",), _language_part, _language_counts),
        Facet("price", "price", ("price",), _price_part, _price_counts),
        Facet(
            "publication_year",
            "publication_year",
            ("publication_year",),
            _year_part,
            _decade_counts,
        ),
    )
}


def facet_columns(names: Sequence[str]) -> tuple[str, ...]:
    """The Book columns the facets `names` read from the books found."""
    return tuple(sorted({column for name in names for column in FACETS[name].columns}))


def facets_parts(names: Sequence[str]) -> tuple[str, list[Any]]:
    """The rows (facet number, text, text, count) of the facets `names`, counted over the
    books of a relation named `found` (their facet_columns): SQL and its parameters."""
    parts = []
    params = []
    for number, name in enumerate(names):
        sql, part_params = FACETS[name].part()
        # The parts' constant SQL; their values are parameters.
        parts.append(f"SELECT {number}, part.* FROM ({sql}) AS part")  # nosec B608
        params.extend(part_params)
    return " UNION ALL ".join(parts), params


def facets_statement(
    found_sql: str, found_params: Sequence[Any], names: Sequence[str]
) -> tuple[str, list[Any]]:
    """One statement counting the facets `names` of the books `found_sql` selects (their
    facet_columns), and its parameters."""
    parts, params = facets_parts(names)
    return f"WITH found AS ({found_sql}) {parts}", [*found_params, *params]


def facets_read(
    rows: Sequence[tuple[int, str | None, str | None, int]], names: Sequence[str]
) -> dict[str, FacetCounts]:
    """The facets `names` from the rows of their facets_statement."""
    rows_by_facet: dict[int, list[PartRow]] = {number: [] for number in range(len(names))}
    for number, first, second, count in rows:
        rows_by_facet[number].append((first, second, count))
    return {name: FACETS[name].read(rows_by_facet[number]) for number, name in enumerate(names)}


def facets_count(books: QuerySet[Book], names: Sequence[str]) -> dict[str, FacetCounts]:
    """The facets `names` of `books`, in one statement."""
    try:
        found_sql, found_params = (
            books.order_by().values_list(*facet_columns(names)).query.sql_with_params()
        )
    except EmptyResultSet:  # a filter that finds nothing, known before asking the database
        return facets_read([], names)
    statement, params = facets_statement(found_sql, found_params, names)
    return facets_read(prepared.fetch_all(statement, params), names)
