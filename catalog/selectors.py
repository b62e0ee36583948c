"""Reads of the catalogue that need more than a one-liner."""

import functools
import time
from collections.abc import Hashable
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Count, DateTimeField, F, OuterRef, Q, QuerySet, Subquery

from accounts.models import User
from core.errors import not_found

from . import caching, rows, search
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
    return Book.objects.active().count()


def book_customer_page(
    *, search_text: str, offset: int, limit: int, count_key: Hashable
) -> tuple[int, list[tuple[Any, ...]]] | None:
    """How many books a customer's plain list or search finds, and a page of them as rows of
    the public fields (catalog.rows); None where the general path must answer (see
    search.book_search_page). The count is shared between readers for a moment
    (catalog.caching) under `count_key`, which names the reader's view of the catalogue and
    the filters."""
    if not search_text:
        count = caching.shared_count(count_key, book_active_count)
        return count, book_page_rows(offset=offset, limit=limit) if offset < count else []
    read_at = time.time()
    known_count = caching.fresh_count(count_key)
    found = search.book_search_page(
        text=search_text, offset=offset, limit=limit, known_count=known_count
    )
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
    review = Review.objects.filter(user=user, book_id=book_id).select_related("user").first()
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
