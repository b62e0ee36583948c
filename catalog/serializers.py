from datetime import date
from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from . import isbn
from .models import Author, Book, Genre
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


class BookSerializer(serializers.ModelSerializer):
    """What anyone sees: availability, never the shop's stock internals."""

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
        fields = [
            "id",
            "title",
            "subtitle",
            "authors",
            "genres",
            "isbn13",
            "price",
            "description",
            "publication_year",
            "language",
            "page_count",
            "cover_image_url",
            "average_rating",
            "ratings_count",
            "available_quantity",
            "in_stock",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class StaffBookSerializer(BookSerializer):
    class Meta(BookSerializer.Meta):
        fields = [*BookSerializer.Meta.fields, "stock_quantity", "reserved_quantity", "is_active"]
        read_only_fields = fields


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
    price = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=Decimal("0.01"))
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
