import functools
from datetime import UTC, date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from core.money import validate_shop_amount

from . import isbn
from .fields import BOOK_PUBLIC_FIELDS, BOOK_PUBLIC_KEYS, Kind
from .models import Author, Book, Genre, Review, StockAlert
from .selectors import REVIEW_ORDERINGS
from .validators import validate_web_url


class AuthorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Author
        fields = ["id", "name", "slug"]
        read_only_fields = ["id", "slug"]


class GenreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Genre
        fields = ["id", "name", "slug"]
        read_only_fields = ["id", "slug"]


def _decimal_field(source: str) -> serializers.DecimalField:
    """The DecimalField ModelSerializer builds for a decimal column of the book."""
    column = Book._meta.get_field(source)
    if not isinstance(column, models.DecimalField):
        raise TypeError(f"Book.{source} is not a decimal column")
    return serializers.DecimalField(
        max_digits=column.max_digits, decimal_places=column.decimal_places
    )


def _decimal_writer(field: serializers.DecimalField):
    """Writes decimals as `field` does; a value with the field's places already (what the
    database returns) as its text, without the field's quantizing."""
    places = field.decimal_places
    coerce = getattr(field, "coerce_to_string", api_settings.COERCE_DECIMAL_TO_STRING)

    def write(value):
        if type(value) is Decimal:
            text = str(value)
            if text[-places - 1 : -places] == "." and "E" not in text:
                return text if coerce else value
        return None if value is None else field.to_representation(value)

    return write


_DATETIME = serializers.DateTimeField()


def _output_zone():
    """The zone DRF's DateTimeField writes in (None: let the field write it)."""
    iso = (api_settings.DATETIME_FORMAT or "").lower() == ISO_8601
    return timezone.get_current_timezone() if iso and settings.USE_TZ else None


def _is_utc(zone) -> bool:
    return zone is UTC or getattr(zone, "key", None) == "UTC"


def _utc_writer(zone):
    """For output in UTC, a writer of timestamps that leaves those already in UTC (as both
    databases return them) to the API's renderer, which writes them as the field would;
    None for any other zone."""
    if not _is_utc(zone):
        return None

    def write(value):
        if getattr(value, "tzinfo", None) is UTC:
            return value
        return _datetime(value, zone)

    return write


def _datetime(value, zone):
    if zone is not None and timezone.is_aware(value):
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    return _DATETIME.to_representation(value)


# The public fields whose kind needs a writer: their DecimalField, or their key.
_DECIMAL_FIELDS = {
    field.key: _decimal_field(field.attribute)
    for field in BOOK_PUBLIC_FIELDS
    if field.kind is Kind.DECIMAL
}
_TIMESTAMP_KEYS = tuple(field.key for field in BOOK_PUBLIC_FIELDS if field.kind is Kind.TIMESTAMP)


def _public_writers(write_time):
    """(key, writer) for each public field whose value is not written as read, with the
    settings of the moment (built per page or serializer, not per value)."""
    decimals = [(key, _decimal_writer(field)) for key, field in _DECIMAL_FIELDS.items()]
    return [*decimals, *((key, write_time) for key in _TIMESTAMP_KEYS)]


class BookSerializer(serializers.ModelSerializer):
    """What anyone sees: availability, never the shop's stock internals. The fields are
    catalog.fields.BOOK_PUBLIC_FIELDS; those below are declared for what the model alone does
    not say (the schema of the stored author and genre lists, the availability)."""

    # Stored on the book already in this shape (Book.author_list, Book.genre_list).
    authors = serializers.SerializerMethodField()
    genres = serializers.SerializerMethodField()
    available_quantity = serializers.IntegerField(read_only=True)
    in_stock = serializers.BooleanField(read_only=True)
    # Empty when the book has no cover: a plain string, not a "uri" that "" would violate.
    cover_image_url = serializers.CharField(read_only=True)

    @extend_schema_field(AuthorSerializer(many=True))
    def get_authors(self, book):
        return book.author_list

    @extend_schema_field(GenreSerializer(many=True))
    def get_genres(self, book):
        return book.genre_list

    class Meta:
        model = Book
        fields = list(BOOK_PUBLIC_KEYS)
        read_only_fields = fields
        # Public keys read from a column of another name (the customers' combined ratings).
        extra_kwargs = {
            field.key: {"source": field.source}
            for field in BOOK_PUBLIC_FIELDS
            if isinstance(field.source, str) and field.source != field.key
        }

    def to_representation(self, book):
        """The JSON ModelSerializer would build (a test holds the two equal, key order and
        all), built directly from the public fields' table: its walk over field objects cost
        ~0.1 ms a book, the most expensive part of a page of twenty (the fields, built from the
        model on every request, are then never built for a read)."""
        data = {field.key: getattr(book, field.attribute) for field in BOOK_PUBLIC_FIELDS}
        for key, write in self._writers():
            data[key] = write(data[key])
        return data

    @classmethod
    def rows_representation(cls, rows: list[tuple]) -> list[dict]:
        """The JSON of books read as rows of their public fields (catalog.rows: the customers'
        list and search pages), the same as to_representation's for those books (a test holds
        them equal), without building an object per book. Timestamps in UTC stay datetimes,
        which JSON renderers write as DRF's DateTimeField does; the stored author and genre
        lists are JSON text already (orjson.Fragment), which the API's renderer writes as it
        is."""
        zone = _output_zone()
        writers = _public_writers(_utc_writer(zone) or functools.partial(_datetime, zone=zone))
        representations = []
        for row in rows:
            # Columns after the public fields' (a search's count) are left out by zip.
            book = dict(zip(BOOK_PUBLIC_KEYS, row, strict=False))
            for key, write in writers:
                book[key] = write(book[key])
            representations.append(book)
        return representations

    def _writers(self):
        """The public fields' writers, for the zone DRF's DateTimeField writes in: once per
        serializer, not per book."""
        try:
            return self._public_writers
        except AttributeError:
            write_time = functools.partial(_datetime, zone=_output_zone())
            self._public_writers = _public_writers(write_time)
            return self._public_writers


class StaffBookSerializer(BookSerializer):
    class Meta(BookSerializer.Meta):
        fields = [*BookSerializer.Meta.fields, "stock_quantity", "reserved_quantity", "is_active"]
        read_only_fields = fields

    def to_representation(self, book):
        return {
            **super().to_representation(book),
            "stock_quantity": book.stock_quantity,
            "reserved_quantity": book.reserved_quantity,
            "is_active": book.is_active,
        }


@extend_schema_field({"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]})
class IdOrNameField(serializers.Field):
    """A related object given by id (a JSON number) or by name (a string, created if new)."""

    default_error_messages = {
        "invalid": "Give an id (number) or a name (text).",
        "blank": "A name may not be blank.",
        "max_length": "A name may have at most 255 characters.",
    }

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if not 0 < data < 2**63:
                self.fail("invalid")
            return data
        if isinstance(data, str):
            name = " ".join(data.split())
            if not name:
                self.fail("blank")
            if len(name) > 255:
                self.fail("max_length")
            return name
        self.fail("invalid")

    def to_representation(self, value):
        return value


class BookWriteSerializer(serializers.Serializer):
    """Staff input for creating and editing books. Stock is counted, never reserved, here."""

    title = serializers.CharField(max_length=500)
    subtitle = serializers.CharField(max_length=500, required=False, allow_blank=True)
    authors = serializers.ListField(child=IdOrNameField(), min_length=1, max_length=50)
    genres = serializers.ListField(child=IdOrNameField(), required=False, max_length=50)
    isbn13 = serializers.CharField(
        max_length=20, required=False, allow_null=True, help_text="ISBN-13 or ISBN-10"
    )
    price = serializers.DecimalField(
        max_digits=8,
        decimal_places=2,
        min_value=Decimal("0.01"),
        validators=[validate_shop_amount],
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    stock_quantity = serializers.IntegerField(required=False, min_value=0, max_value=1_000_000)
    publication_year = serializers.IntegerField(
        required=False, allow_null=True, min_value=-5000, max_value=date.today().year + 5
    )
    language = serializers.CharField(required=False, allow_blank=True, max_length=16)
    page_count = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=100_000
    )
    cover_image_url = serializers.URLField(
        required=False, allow_blank=True, max_length=500, validators=[validate_web_url]
    )
    is_active = serializers.BooleanField(required=False)

    def validate_isbn13(self, value):
        if value in (None, ""):
            return None
        isbn13 = isbn.to_isbn13(value)
        if isbn13 is None:
            raise serializers.ValidationError("Not a valid ISBN-13 or ISBN-10.", code="invalid")
        others = Book.objects.filter(isbn13=isbn13)
        if self.instance is not None:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise serializers.ValidationError("Another book has this ISBN.", code="unique")
        return isbn13


def reviewer_name(user) -> str:
    """The reviewer as shown: first name and the initial of the last name ("Ada L.")."""
    first, last = user.first_name.strip(), user.last_name.strip()
    name = f"{first} {last[0]}." if first and last else first or (f"{last[0]}." if last else "")
    return name or "A reader"


class ReviewSerializer(serializers.ModelSerializer):
    """A review as anyone sees it: never the reviewer's full name, email or id."""

    reviewer = serializers.SerializerMethodField(help_text='First name and initial: "Ada L."')

    class Meta:
        model = Review
        fields = [
            "id",
            "book",
            "rating",
            "title",
            "body",
            "reviewer",
            "verified_purchase",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_reviewer(self, review) -> str:
        return reviewer_name(review.user)


class StaffReviewSerializer(ReviewSerializer):
    """With the moderation state, for staff's hide and restore."""

    class Meta(ReviewSerializer.Meta):
        fields = [*ReviewSerializer.Meta.fields, "is_hidden", "moderation_reason", "moderated_at"]
        read_only_fields = fields


class ReviewWriteSerializer(serializers.Serializer):
    rating = serializers.IntegerField(min_value=1, max_value=5)
    title = serializers.CharField(
        required=False, allow_blank=True, max_length=Review.TITLE_MAX_LENGTH, default=""
    )
    body = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=Review.BODY_MAX_LENGTH,
        default="",
    )


class ReviewListQuerySerializer(serializers.Serializer):
    ordering = serializers.ChoiceField(
        choices=sorted(REVIEW_ORDERINGS), required=False, default="-created_at"
    )


class ReviewModerationSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why (kept for staff only).")


@extend_schema_serializer(component_name="ListedBook")
class ListedBookSerializer(BookSerializer):
    """For the schema: a book as the customers' book list shows it (no staff fields)."""


class WishlistEntrySerializer(serializers.Serializer):
    """For the schema: a wishlist entry (views write them from rows, catalog.rows)."""

    book = ListedBookSerializer()
    added_at = serializers.DateTimeField()

    @classmethod
    def rows_representation(cls, rows: list[tuple]) -> list[dict]:
        """Entries from wishlist rows: the book as the book list writes it, then the date."""
        books = BookSerializer.rows_representation(rows)
        write_time = serializers.DateTimeField().to_representation
        added = len(BOOK_PUBLIC_KEYS)
        return [
            {"book": book, "added_at": write_time(row[added])}
            for book, row in zip(books, rows, strict=True)
        ]


class StockAlertBookSerializer(serializers.ModelSerializer):
    class Meta:
        model = Book
        fields = ["id", "title", "authors_text"]
        read_only_fields = fields


class StockAlertSerializer(serializers.ModelSerializer):
    book = StockAlertBookSerializer(read_only=True)

    class Meta:
        model = StockAlert
        fields = ["book", "created_at"]
        read_only_fields = fields
