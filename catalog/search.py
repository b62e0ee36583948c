"""Book search: PostgreSQL full-text search with trigram typo tolerance, and a plain fallback.

PostgreSQL keeps a weighted search document per book in `Book.search_vector` (title A, subtitle
and authors B, genres and description C), indexed with GIN, plus trigram GIN indexes on the title
and the author names so that "tolkein" or "hary poter" still find their books. `authors_text`
and `search_vector` are derived columns: code that sets a book's authors sets `authors_text`, and
every code path that changes a book's title, authors, genres or description then calls
`book_search_refresh` for those books.
"""

import re

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import Case, F, FloatField, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models.functions import Coalesce, Greatest

from . import isbn
from .models import Book, Genre

SEARCH_CONFIG = "english"
# Used by the %> operator; set per connection in settings (DATABASES OPTIONS), since the
# trigram indexes only serve the operator, not an explicit comparison with a number.
WORD_SIMILARITY_THRESHOLD = 0.45

POSTGRES_SEARCH_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS catalog_book_search_vector_gin "
    "ON catalog_book USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS catalog_book_title_trgm "
    "ON catalog_book USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS catalog_book_authors_text_trgm "
    "ON catalog_book USING gin (authors_text gin_trgm_ops)",
]


def is_postgres():
    return connection.vendor == "postgresql"


def install_postgres_search(schema_editor=None):
    """Create the extension and indexes search needs (migrations, and test databases)."""
    conn = schema_editor.connection if schema_editor else connection
    if conn.vendor != "postgresql":
        return
    with conn.cursor() as cursor:
        for statement in POSTGRES_SEARCH_SQL:
            cursor.execute(statement)


def book_search_refresh(*, book_ids):
    """Recompute the PostgreSQL search document of these books (a no-op elsewhere).

    Reads `authors_text`, which the code that sets a book's authors keeps current.
    """
    book_ids = list(book_ids)
    if not book_ids or not is_postgres():
        return
    genre_names = Subquery(
        Genre.objects.filter(books=OuterRef("pk"))
        .order_by()
        .values("books")
        .annotate(names=StringAgg("name", " "))
        .values("names")
    )
    Book.objects.filter(pk__in=book_ids).update(
        search_vector=(
            SearchVector("title", weight="A", config=SEARCH_CONFIG)
            + SearchVector("subtitle", "authors_text", weight="B", config=SEARCH_CONFIG)
            + SearchVector(
                Coalesce(genre_names, Value(""), output_field=TextField()),
                "description",
                weight="C",
                config=SEARCH_CONFIG,
            )
        )
    )


def _isbn_candidate(text):
    digits = isbn.clean(text)
    if re.fullmatch(r"\d{9}[\dX]|\d{13}", digits):
        return isbn.to_isbn13(digits)
    return None


def book_search(queryset, text):
    """Filter `queryset` to books matching `text`, annotated with `relevance` (higher first)."""
    text = " ".join(text.split())
    if not text:
        return queryset
    isbn13 = _isbn_candidate(text)
    if isbn13:
        return queryset.filter(isbn13=isbn13).annotate(relevance=Value(1.0, FloatField()))
    if not is_postgres():
        return _fallback_search(queryset, text)

    query = SearchQuery(text, config=SEARCH_CONFIG, search_type="websearch")
    lowered = text.lower()
    return queryset.filter(
        Q(search_vector=query)
        | Q(title__trigram_word_similar=lowered)
        | Q(authors_text__trigram_word_similar=lowered)
    ).annotate(
        relevance=SearchRank(F("search_vector"), query)
        + Greatest(
            TrigramWordSimilarity(lowered, "title"),
            TrigramWordSimilarity(lowered, "authors_text"),
        )
    )


def _fallback_search(queryset, text):
    """SQLite: every word must appear somewhere (case-insensitive); no ranking beyond the title."""
    for word in text.split()[:10]:
        queryset = queryset.filter(
            Q(title__icontains=word)
            | Q(subtitle__icontains=word)
            | Q(authors_text__icontains=word)
            | Q(genres__name__icontains=word)
        )
    exact_title = Q(title__icontains=text)
    return queryset.distinct().annotate(
        relevance=Case(
            When(exact_title, then=Value(1.0)), default=Value(0.5), output_field=FloatField()
        )
    )
