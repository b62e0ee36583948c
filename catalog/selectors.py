"""Reads of the catalogue that need more than a one-liner."""

import functools
import time
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import connection
from django.db.models import Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.constants import LOOKUP_SEP
from django.http import QueryDict

from accounts.models import User
from core.errors import not_found

from . import caching, counting, rows, search
from .facets import FACETS, FacetCounts, facets_count
from .filters import BookFilter
from .models import Author, Book, Genre, Review, StockAlert, WishlistEntry

SEARCH_MAX_LENGTH = 200
# Fewer copies available than this: time to restock (the admin's filter and the dashboard).
LOW_STOCK = 5

NamedModel = TypeVar("NamedModel", Author, Genre)


def book_list(*, include_archived: bool) -> QuerySet[Book]:
    """Books as the API shows them; customers see only those on sale."""
    books = Book.objects.for_display()
    return books if include_archived else books.active()


@functools.cache
def _book_page_query(vendor: str) -> rows.RowsQuery:
    """The customers' book list: active books, newest first (Book's ordering), as rows of their
    public fields; compiled once per process and database kind."""
    return rows.compile_rows(rows.public_rows(Book.objects.active()))


def book_page_rows(*, offset: int, limit: int) -> list[tuple[Any, ...]]:
    """A customer's page of the book list, as rows of the public fields (catalog.rows)."""
    return rows.fetch(_book_page_query(connection.vendor), (), limit=limit, offset=offset)


def book_active_count() -> int:
    return counting.active_book_count()


def book_customer_page(
    *,
    search_text: str,
    offset: int,
    limit: int,
    count_key: Hashable,
    facet_names: Sequence[str] = (),
    facets_key: Hashable = None,
) -> tuple[int, list[tuple[Any, ...]], dict[str, FacetCounts]] | None:
    """How many books a customer's plain list or search finds, a page of them as rows of the
    public fields (catalog.rows), and the facets `facet_names` of them all (catalog.facets);
    None where the general path must answer (see search.book_search_page). The count and the
    facets are shared between readers for a moment (catalog.caching; the facets for
    FACETS_CACHE_SECONDS) under `count_key` and
    `facets_key`, which name the reader's view of the catalogue and the filters (and the
    facets)."""
    facets = (
        caching.fresh_count(facets_key, seconds=settings.FACETS_CACHE_SECONDS)
        if facet_names
        else {}
    )
    uncounted = () if facets is not None else facet_names
    read_at = time.time()
    if not search_text:
        count = caching.shared_count(count_key, book_active_count)
        page = book_page_rows(offset=offset, limit=limit) if offset < count else []
        if uncounted:
            facets = caching.remember_count(
                facets_key,
                _facet_counts(names=uncounted, params=QueryDict(), include_archived=False),
                read_at=read_at,
                seconds=settings.FACETS_CACHE_SECONDS,
            )
        return count, page, facets
    known_count = caching.fresh_count(count_key)
    found = search.book_search_page(
        text=search_text,
        offset=offset,
        limit=limit,
        known_count=known_count,
        facet_names=uncounted,
    )
    if found is None:
        return None
    count, page, counted = found
    if count != known_count:
        caching.remember_count(count_key, count, read_at=read_at)
    if counted is not None:
        facets = caching.remember_count(
            facets_key, counted, read_at=read_at, seconds=settings.FACETS_CACHE_SECONDS
        )
    return count, page, facets


def book_facets(
    *, names: Sequence[str], params: QueryDict, include_archived: bool, share_key: Hashable
) -> dict[str, FacetCounts]:
    """The facets `names` (catalog.facets) of the books the list's filters and search in
    `params` find, each without its own filters. Shared between readers for FACETS_CACHE_SECONDS
    (catalog.caching) under `share_key`, which names the reader's view of the catalogue, the
    filters and the facets."""
    return caching.shared_count(  # type: ignore[no-any-return]
        share_key,
        lambda: _facet_counts(names=names, params=params, include_archived=include_archived),
        seconds=settings.FACETS_CACHE_SECONDS,
    )


def _facet_counts(
    *, names: Sequence[str], params: QueryDict, include_archived: bool
) -> dict[str, FacetCounts]:
    books = book_list(include_archived=include_archived)
    # Facets left with the same filters count the same books: found once, counted together.
    names_by_filters: dict[tuple[Any, ...], list[str]] = {}
    filters_by_key: dict[tuple[Any, ...], Mapping[str, list[str]]] = {}
    for name in names:
        filters = _filters_without(params, _own_filters(FACETS[name].field))
        key = tuple(sorted((name, tuple(values)) for name, values in filters.items()))
        names_by_filters.setdefault(key, []).append(name)
        filters_by_key[key] = filters
    counts: dict[str, FacetCounts] = {}
    for key, counted in names_by_filters.items():
        found = BookFilter(data=_query_dict(filters_by_key[key]), queryset=books).qs
        counts |= facets_count(found, counted)
    return {name: counts[name] for name in names}


@functools.cache
def _own_filters(field: str) -> frozenset[str]:
    """The list's filters on the Book field `field`, as BookFilter declares them."""
    return frozenset(
        name
        for name, declared in BookFilter.base_filters.items()
        if declared.field_name.split(LOOKUP_SEP)[0] == field
    )


def _filters_without(params: QueryDict, left_out: frozenset[str]) -> Mapping[str, list[str]]:
    """The list's filters in `params` (no page, size or order), but for `left_out`."""
    return {
        name: values
        for name, values in params.lists()
        if name in BookFilter.base_filters and name != "ordering" and name not in left_out
    }


def _query_dict(filters: Mapping[str, list[str]]) -> QueryDict:
    data = QueryDict(mutable=True)
    for name, values in filters.items():
        data.setlist(name, values)
    return data


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


# What a review list may be sorted by (`ordering`); newest first without one.
REVIEW_ORDERINGS = {
    "-created_at": ["-created_at", "-id"],
    "created_at": ["created_at", "id"],
    "-rating": ["-rating", "-created_at", "-id"],
    "rating": ["rating", "-created_at", "-id"],
}


def review_list_public(*, book_id: int, ordering: str = "-created_at") -> QuerySet[Review]:
    """A book on sale's visible reviews, with their reviewers (for the name shown)."""
    if not Book.objects.active().filter(pk=book_id).exists():
        raise not_found()
    return (
        Review.objects.filter(book_id=book_id, is_hidden=False)
        .select_related("user")
        .only(
            "pk",
            "book_id",
            "rating",
            "title",
            "body",
            "verified_purchase",
            "created_at",
            "updated_at",
            "user__first_name",
            "user__last_name",
        )
        .order_by(*REVIEW_ORDERINGS[ordering])
    )


def review_get_own(*, user: User, book_id: int) -> Review:
    review = (
        Review.objects.filter(user=user, book_id=book_id, withdrawn_at__isnull=True)
        .select_related("user")
        .first()
    )
    if review is None:
        raise not_found()
    return review


def wishlist_rows(*, user: User) -> QuerySet[Book, Any]:
    """The customer's wishlist, newest entry first: its books on sale as rows of their public
    fields (catalog.rows, as the book list reads them), then the entry's date."""
    entries = WishlistEntry.objects.filter(user=user, book=OuterRef("pk"))
    added_at = Subquery(entries.values("created_at")[:1], output_field=DateTimeField())
    books = (
        Book.objects.active().filter(wishlist_entries__user=user).order_by(added_at.desc(), "-id")
    )
    return rows.public_rows(books, added_at=added_at)


def stock_alert_list(*, user: User) -> QuerySet[StockAlert]:
    """The customer's alerts, oldest first, with their books."""
    return (
        StockAlert.objects.filter(user=user)
        .select_related("book")
        .only("pk", "created_at", "book__id", "book__title", "book__authors_text")
        .order_by("created_at", "pk")
    )


def books_most_awaited(*, limit: int = 10) -> list[Book]:
    """Books with no copy available that readers wait for, the most awaited first (annotated
    with `waiting`): what to restock first."""
    return list(
        Book.objects.filter(stock_quantity__lte=F("reserved_quantity"))
        .annotate(waiting=Count("stock_alerts"))
        .filter(waiting__gt=0)
        .order_by("-waiting", "title", "pk")
        .only("pk", "title", "isbn13", "is_active", "stock_quantity", "reserved_quantity")[:limit]
    )
