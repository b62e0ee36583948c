"""The figures customers see: the imported ratings (goodbooks) combined with the shop's visible
reviews, as if each review were one more rating counted in the imported average.

    ratings_count  = imported count + visible reviews
    average_rating = (imported average x imported count + sum of visible reviews' ratings)
                     / ratings_count, rounded half-up to 2 places

A book without imported figures shows its reviews alone; a book without visible reviews shows
its imported figures as they are. `Book.combined_*` hold the result, written here only: after a
review is written, removed, hidden or restored, and after staff or an import change the imported
figures. Search's popularity prior reads `combined_ratings_count`.
"""

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Sum

from .models import Book, Review

RATING_PLACES = Decimal("0.01")
# Books per query: SQLite takes at most 999 parameters.
BATCH = 500


def combined_rating(
    *,
    imported_average: Decimal | None,
    imported_count: int | None,
    review_count: int,
    review_total: int,
) -> tuple[Decimal | None, int | None]:
    """(average, count) customers see, by the module's formula."""
    if not review_count:
        return imported_average, imported_count
    # An imported count without an imported average carries no ratings to combine with.
    weight = (imported_count or 0) if imported_average is not None else 0
    imported_sum = (imported_average or Decimal(0)) * weight
    count = weight + review_count
    average = (imported_sum + review_total) / count
    return average.quantize(RATING_PLACES, rounding=ROUND_HALF_UP), count


def book_ratings_refresh(*, book_ids: Iterable[int]) -> list[int]:
    """Recompute the combined figures of these books; returns the ids of those that changed
    (whose search popularity then needs refreshing)."""
    book_ids = sorted(set(book_ids))
    changed: list[Book] = []
    for start in range(0, len(book_ids), BATCH):
        batch = book_ids[start : start + BATCH]
        reviews = {
            row["book"]: (row["count"], row["total"])
            for row in Review.objects.filter(book__in=batch, is_hidden=False)
            .order_by()
            .values("book")
            .annotate(count=Count("pk"), total=Sum("rating"))
        }
        books = Book.objects.filter(pk__in=batch).only(
            "pk",
            "average_rating",
            "ratings_count",
            "combined_average_rating",
            "combined_ratings_count",
        )
        for book in books:
            review_count, review_total = reviews.get(book.pk, (0, 0))
            figures = combined_rating(
                imported_average=book.average_rating,
                imported_count=book.ratings_count,
                review_count=review_count,
                review_total=review_total,
            )
            if figures != (book.combined_average_rating, book.combined_ratings_count):
                book.combined_average_rating, book.combined_ratings_count = figures
                changed.append(book)
    Book.objects.bulk_update(
        changed, ["combined_average_rating", "combined_ratings_count"], batch_size=BATCH
    )
    return [book.pk for book in changed]
