"""What customers see of a book, declared once.

Each entry is one key of a book's JSON: where its value comes from (a Book column, or an
expression over the book's columns) and its kind, which says how the value is written. From this
table come BookSerializer's fields and its JSON of a book, the columns the customers' list and
search pages read (catalog.rows) and the one writer of such a row's JSON
(BookSerializer.rows_representation). A field customers see is added here, after the model
field and its migration; nothing else lists them.
"""

import enum
from dataclasses import dataclass

from django.db.models import BooleanField, Expression, ExpressionWrapper, F, Q, Value
from django.db.models.functions import Greatest


class Kind(enum.Enum):
    VALUE = "value"  # written as read
    DECIMAL = "decimal"  # as DRF writes a decimal column: a string with its decimal places
    TIMESTAMP = "timestamp"  # as DRF writes a datetime: ISO 8601, in the current time zone
    JSON = "json"  # JSON stored on the book, written as stored


@dataclass(frozen=True)
class PublicField:
    key: str
    # A Book column, or an expression over the book's columns (which a Book instance also
    # answers, as a property named like the key).
    source: str | Expression
    kind: Kind = Kind.VALUE

    @property
    def attribute(self) -> str:
        """Where a Book instance holds the value."""
        return self.source if isinstance(self.source, str) else self.key


BOOK_PUBLIC_FIELDS: tuple[PublicField, ...] = (
    PublicField("id", "id"),
    PublicField("title", "title"),
    PublicField("subtitle", "subtitle"),
    PublicField("authors", "author_list", Kind.JSON),
    PublicField("genres", "genre_list", Kind.JSON),
    PublicField("isbn13", "isbn13"),
    PublicField("price", "price", Kind.DECIMAL),
    PublicField("description", "description"),
    PublicField("publication_year", "publication_year"),
    PublicField("language", "language"),
    PublicField("page_count", "page_count"),
    PublicField("cover_image_url", "cover_image_url"),
    # The imported figures combined with the shop's visible reviews (catalog.ratings).
    PublicField("average_rating", "combined_average_rating", Kind.DECIMAL),
    PublicField("ratings_count", "combined_ratings_count"),
    # Book.available_quantity and Book.in_stock, as SQL: never the stock internals themselves.
    PublicField(
        "available_quantity", Greatest(F("stock_quantity") - F("reserved_quantity"), Value(0))
    ),
    PublicField(
        "in_stock",
        ExpressionWrapper(Q(stock_quantity__gt=F("reserved_quantity")), BooleanField()),
    ),
    PublicField("created_at", "created_at", Kind.TIMESTAMP),
    PublicField("updated_at", "updated_at", Kind.TIMESTAMP),
)

BOOK_PUBLIC_KEYS: tuple[str, ...] = tuple(field.key for field in BOOK_PUBLIC_FIELDS)
