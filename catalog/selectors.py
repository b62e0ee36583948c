"""Reads of the catalogue that need more than a one-liner."""

from django.db.models import F

from .models import Book

# Fewer copies available than this: time to restock (the admin's filter and the dashboard).
LOW_STOCK = 5


def books_low_stock(*, threshold: int = LOW_STOCK, limit: int = 10) -> tuple[int, list[Book]]:
    """How many active books have fewer than `threshold` copies available, and the `limit` with
    the fewest (annotated with `available`)."""
    low = (
        Book.objects.active()
        .annotate(available=F("stock_quantity") - F("reserved_quantity"))
        .filter(available__lt=threshold)
    )
    shown = list(
        low.order_by("available", "title", "pk").only(
            "pk", "title", "isbn13", "stock_quantity", "reserved_quantity"
        )[:limit]
    )
    return low.count(), shown
