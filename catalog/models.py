from decimal import Decimal

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.contrib.postgres.search import SearchVectorField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from core.money import validate_shop_amount

from .validators import validate_web_url


class PostgresGinIndex(GinIndex):
    """A GIN index on PostgreSQL. Other databases have no GIN and go without it (SQLite searches
    through its FTS5 table instead), so the model state stays the same on every database."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().create_sql(model, schema_editor, using=using, **kwargs)

    def remove_sql(self, model, schema_editor, **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return ""
        return super().remove_sql(model, schema_editor, **kwargs)


def trigram_index(column, *, name, **options):
    """A trigram GIN index on `column` (pg_trgm, created by the TrigramExtension migration)."""
    return PostgresGinIndex(OpClass(column, name="gin_trgm_ops"), name=name, **options)


class Author(models.Model):
    name = models.CharField(max_length=255)
    slug = models.SlugField(max_length=255, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Genre(models.Model):
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class BookQuerySet(models.QuerySet["Book"]):
    def active(self) -> "BookQuerySet":
        return self.filter(is_active=True)

    def in_stock(self) -> "BookQuerySet":
        return self.filter(stock_quantity__gt=F("reserved_quantity"))

    def for_display(self) -> "BookQuerySet":
        """What the API shows: every column but the search document, which only PostgreSQL
        reads."""
        return self.defer("search_vector")


class Book(models.Model):
    """A title the shop sells. New books start with a stock count; after that, stock fields are
    written only by `catalog.inventory`."""

    title = models.CharField(max_length=500)
    subtitle = models.CharField(max_length=500, blank=True)
    authors = models.ManyToManyField(Author, through="BookAuthor", related_name="books")
    genres = models.ManyToManyField(Genre, related_name="books", blank=True)
    isbn13 = models.CharField("ISBN-13", max_length=13, unique=True, null=True, blank=True)
    source_id = models.PositiveIntegerField(
        unique=True, null=True, blank=True, help_text="Id in the imported catalogue, if any."
    )
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[validate_shop_amount])
    description = models.TextField(blank=True)
    stock_quantity = models.IntegerField("on hand", default=0)
    reserved_quantity = models.IntegerField("reserved", default=0, editable=False)
    publication_year = models.SmallIntegerField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    page_count = models.PositiveIntegerField(null=True, blank=True)
    cover_image_url = models.URLField(max_length=500, blank=True, validators=[validate_web_url])
    # The imported figures (goodbooks), which staff may correct...
    average_rating = models.DecimalField(
        "imported average rating", max_digits=3, decimal_places=2, null=True, blank=True
    )
    ratings_count = models.PositiveIntegerField("imported ratings count", null=True, blank=True)
    # ...and what customers see: those combined with the shop's visible reviews
    # (catalog.ratings keeps them current; the README gives the formula).
    combined_average_rating = models.DecimalField(
        max_digits=3, decimal_places=2, null=True, blank=True, editable=False
    )
    combined_ratings_count = models.PositiveIntegerField(null=True, blank=True, editable=False)
    is_active = models.BooleanField(
        default=True, help_text="Archived books are hidden from customers."
    )
    # Denormalised, so that showing books takes no query for their authors or genres: the
    # authors in billing order (as text for search, as {"id", "name", "slug"} objects for the
    # API), the genres by name (as such objects), and the PostgreSQL search document. Code that
    # changes a book's authors or genres, or their names, sets them through
    # set_authors_columns/set_genres_columns.
    authors_text = models.CharField(max_length=1000, blank=True, editable=False)
    author_list = models.JSONField(default=list, blank=True, editable=False)
    genre_list = models.JSONField(default=list, blank=True, editable=False)
    search_vector = SearchVectorField(null=True, editable=False)
    # What search ranks on (catalog.search.book_search_refresh writes them): the title without
    # its series part, the series names, the first author and every author, normalised (lower
    # case, no accents or punctuation); whether the book is a box set, companion or adaptation
    # rather than a work; and its popularity (log10 of ratings plus weighted copies sold).
    search_title = models.CharField(max_length=500, blank=True, editable=False)
    search_series = models.CharField(max_length=500, blank=True, editable=False)
    search_author = models.CharField(max_length=255, blank=True, editable=False)
    search_authors = models.CharField(max_length=1000, blank=True, editable=False)
    is_collection = models.BooleanField(default=False, editable=False)
    copies_sold = models.PositiveIntegerField(default=0, editable=False)
    popularity = models.FloatField(default=0.0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = BookQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=Decimal("0")), name="book_price_positive"),
            models.CheckConstraint(
                condition=Q(stock_quantity__gte=0), name="book_stock_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved_quantity__gte=0), name="book_reserved_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(reserved_quantity__lte=F("stock_quantity")),
                name="book_reserved_within_stock",
            ),
        ]
        indexes = [
            # The customers' default list: active books, newest first, without sorting them all.
            models.Index(
                fields=["-created_at", "-id"],
                condition=Q(is_active=True),
                name="book_active_newest",
            ),
            models.Index(fields=["price"]),
            models.Index(fields=["publication_year"]),
            models.Index(fields=["title"]),
            # Suggestions: the most popular books first, stopping after a few.
            models.Index(fields=["-popularity"], name="book_popularity"),
            # Every change to a book's stock writes a new row version, whose words a GIN index
            # with fastupdate would add to its pending list, which every search then reads
            # through: on the demo catalogue, 4,000 stock changes made a search 4x slower until
            # the next VACUUM. Without it the words go straight into the index.
            PostgresGinIndex(
                fields=["search_vector"], name="catalog_book_search_vector_gin", fastupdate=False
            ),
            # The admin's substring search.
            trigram_index("title", name="catalog_book_title_trgm"),
            trigram_index("authors_text", name="catalog_book_authors_text_trgm"),
        ]

    def __str__(self):
        return self.title

    @property
    def available_quantity(self):
        return max(self.stock_quantity - self.reserved_quantity, 0)

    @property
    def in_stock(self):
        return self.available_quantity > 0

    def set_authors_columns(self, authors):
        """Copy `authors` (in billing order) into the denormalised author columns; the caller
        saves them."""
        self.authors_text = ", ".join(author.name for author in authors)[:1000]
        self.author_list = [_summary(author) for author in authors]

    def set_genres_columns(self, genres):
        """Copy `genres` into the denormalised genre column, by name; the caller saves it."""
        self.genre_list = [
            _summary(genre) for genre in sorted(genres, key=lambda genre: (genre.name, genre.pk))
        ]


def _summary(author_or_genre):
    return {"id": author_or_genre.pk, "name": author_or_genre.name, "slug": author_or_genre.slug}


class BookAuthor(models.Model):
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="book_authors")
    author = models.ForeignKey(Author, on_delete=models.PROTECT, related_name="book_links")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "author"], name="book_author_unique"),
        ]

    def __str__(self):
        return f"{self.author} on {self.book}"


class SearchWord(models.Model):
    """A word of the titles and author names, to correct a search's spelling against. Words are
    never removed: a word no book has any more only widens a corrected query to nothing."""

    word = models.TextField(primary_key=True)
    frequency = models.PositiveIntegerField(
        default=0, help_text="How many times the word was indexed (breaks ties between fixes)."
    )

    class Meta:
        db_table = "catalog_search_word"
        indexes = [
            # Without fastupdate, new words go straight into the index rather than into a
            # pending list that every search would scan until the next VACUUM.
            trigram_index("word", name="catalog_search_word_trgm", fastupdate=False),
        ]

    def __str__(self):
        return self.word


class Review(models.Model):
    """A customer's rating of a book they bought, with an optional title and body (plain text,
    escaped wherever shown). One per customer and book; staff hide and restore reviews."""

    TITLE_MAX_LENGTH = 200
    BODY_MAX_LENGTH = 5000

    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="reviews")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reviews"
    )
    rating = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    title = models.TextField(blank=True)
    body = models.TextField(blank=True)
    # Whether the shop's orders show the purchase: set when the review is written, cleared when
    # a refund leaves the customer no paid order of the book (catalog.receivers).
    verified_purchase = models.BooleanField(default=False, editable=False)
    is_hidden = models.BooleanField("hidden", default=False, editable=False)
    # Staff's last hide or restore: why, who, when (shown to staff only).
    moderation_reason = models.TextField(blank=True, editable=False)
    moderated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    moderated_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the customer deleted a review that staff had hidden. The row stays, without the
    # customer's words, so that writing the review again cannot bring it back visible.
    withdrawn_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["book", "user"], name="review_one_per_customer"),
            models.CheckConstraint(
                condition=Q(withdrawn_at__isnull=True) | Q(is_hidden=True),
                name="review_withdrawn_only_when_hidden",
            ),
            models.CheckConstraint(
                condition=Q(rating__gte=1, rating__lte=5), name="review_rating_1_to_5"
            ),
        ]
        indexes = [
            # The public list of a book's visible reviews, newest first.
            models.Index(
                fields=["book", "-created_at", "-id"],
                condition=Q(is_hidden=False),
                name="review_book_visible_newest",
            ),
        ]

    def __str__(self):
        return f"{self.rating}/5 on {self.book_id} by {self.user_id}"

    def write(self, *, rating: int, title: str, body: str) -> None:
        """The customer's words, as a buyer (a withdrawn review comes back, still hidden); the
        caller saves."""
        self.rating, self.title, self.body = rating, title, body
        self.verified_purchase = True
        self.withdrawn_at = None

    def withdraw(self, *, at) -> None:
        """The customer deletes a hidden review: their words go, the hiding stays; the caller
        saves."""
        if not self.is_hidden:
            raise ValueError("Only a hidden review is withdrawn; a visible one is deleted.")
        self.title = self.body = ""
        self.withdrawn_at = at

    def moderate(self, *, hidden: bool, reason: str, actor, at) -> None:
        """Staff hide or restore the review, saying why; the caller saves."""
        self.is_hidden = hidden
        self.moderation_reason = reason
        self.moderated_by = actor
        self.moderated_at = at


class WishlistEntry(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="wishlist_entries"
    )
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="wishlist_entries")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "wishlist entries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "book"], name="wishlist_entry_unique"),
        ]

    def __str__(self):
        return f"{self.book_id} on {self.user_id}'s wishlist"


class StockAlert(models.Model):
    """A reader waiting for a sold-out book: one email when copies are available again, then
    the alert ends (catalog.alerts)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stock_alerts"
    )
    book = models.ForeignKey(Book, on_delete=models.CASCADE, related_name="stock_alerts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "book"], name="stock_alert_unique"),
        ]
        indexes = [
            models.Index(fields=["book", "created_at", "id"], name="stock_alert_book_oldest")
        ]

    def __str__(self):
        return f"{self.user_id} waits for {self.book_id}"


class ActiveBookCount(models.Model):
    """How many books are on sale, kept by PostgreSQL (catalog.counting installs the triggers):
    the customers' book list shows it on every page, and counting a million rows for it took
    longer than the rest of the page. One row, or none (then the books are counted)."""

    books = models.BigIntegerField(default=0)

    class Meta:
        db_table = "catalog_active_book_count"

    def __str__(self):
        return f"{self.books} books on sale"
