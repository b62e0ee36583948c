"""Facets: beside a page of the book list or a search, how many of the books it finds fall in
each genre, language, price range and decade (`GET /api/books/?facets=genre,price`).

A facet counts one Book field. Its own filters are the list's filters on that field (found in
BookFilter's declarations, not listed here), and they are left out of its counts, so that a
storefront can offer the other choices of a facet beside the one a customer picked: with
`genre=fantasy`, the genre counts are those of the list without it, while every other facet
counts fantasy books only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet

from .models import Book

# A storefront shows a handful of genres beside its results, not the whole list.
TOP_GENRES = 20

FacetCounts = list[dict[str, Any]]


def _genre_counts(books: QuerySet[Book]) -> FacetCounts:
    """The genres of `books` with the most of them (then by name). Joined from the books, not
    as a subquery of them: a search's condition names the book table (catalog.search)."""
    genres = (
        books.order_by()
        .values_list("genres__slug", "genres__name")
        .annotate(count=Count("pk"))
        .order_by("-count", "genres__name", "genres__slug")[: TOP_GENRES + 1]
    )
    # Books without a genre are one row, without a slug.
    return [{"slug": slug, "name": name, "count": count} for slug, name, count in genres if slug][
        :TOP_GENRES
    ]


def _language_counts(books: QuerySet[Book]) -> FacetCounts:
    """The languages of `books` (as stored), the most common first; books without one are left
    out."""
    languages = (
        books.exclude(language="")
        .order_by()
        .values_list("language")
        .annotate(count=Count("pk"))
        .order_by("-count", "language")
    )
    return [{"code": code, "count": count} for code, count in languages]


def price_buckets() -> list[tuple[Decimal | None, Decimal | None]]:
    """(min, max) of each price bucket (min ≤ price < max; None: no bound), from the bounds in
    settings.FACET_PRICE_BUCKETS."""
    bounds: list[Decimal | None] = [None, *settings.FACET_PRICE_BUCKETS, None]
    return list(zip(bounds, bounds[1:], strict=False))


def _price_counts(books: QuerySet[Book]) -> FacetCounts:
    """Every price bucket, with how many of `books` it holds (zero included), in one query."""
    buckets = price_buckets()
    conditions = []
    for low, high in buckets:
        condition = Q()
        if low is not None:
            condition &= Q(price__gte=low)
        if high is not None:
            condition &= Q(price__lt=high)
        conditions.append(condition)
    counts = books.order_by().aggregate(
        **{f"bucket_{index}": Count("pk", filter=c) for index, c in enumerate(conditions)}
    )
    return [
        {
            "min": _price_text(low or Decimal(0)),
            "max": None if high is None else _price_text(high),
            "count": counts[f"bucket_{index}"],
        }
        for index, (low, high) in enumerate(buckets)
    ]


def _price_text(amount: Decimal) -> str:
    """As the API writes a price (Book.price's decimal places)."""
    places = Book._meta.get_field("price").decimal_places
    return f"{amount:.{places}f}"


def _decade_counts(books: QuerySet[Book]) -> FacetCounts:
    """The decades `books` were published in (1990 holds 1990 to 1999), oldest first; books
    without a year are left out. Counted by year in the database (a few hundred rows), folded
    into decades here, the same way on every database."""
    years = (
        books.exclude(publication_year=None)
        .order_by()
        .values_list("publication_year")
        .annotate(count=Count("pk"))
    )
    decades: dict[int, int] = {}
    for year, count in years:
        decade = year // 10 * 10
        decades[decade] = decades.get(decade, 0) + count
    return [{"decade": decade, "count": decades[decade]} for decade in sorted(decades)]


@dataclass(frozen=True)
class Facet:
    name: str
    # The Book field it counts: the list's filters on this field are the facet's own.
    field: str
    count: Callable[[QuerySet[Book]], FacetCounts]


FACETS: dict[str, Facet] = {
    facet.name: facet
    for facet in (
        Facet("genre", "genres", _genre_counts),
        Facet("language", "language", _language_counts),
        Facet("price", "price", _price_counts),
        Facet("publication_year", "publication_year", _decade_counts),
    )
}
