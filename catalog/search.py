"""Book search: PostgreSQL full-text search with spelling correction, and a plain fallback.

PostgreSQL keeps a weighted search document per book in `Book.search_vector` (title A, subtitle
and authors B, genres and description C), indexed with GIN. Text that matches nothing as typed
has each word corrected to the closest known title or author word (trigram similarity over a
small words table), so "tolkein" or "hary poter" still find their books. The trigram indexes on
the title and author names serve the admin's substring search. `authors_text`
and `search_vector` are derived columns: code that sets a book's authors sets `authors_text`
(through `Book.set_authors_columns`), and every code path that changes a book's title, authors,
genres or description then calls `book_search_refresh` for those books.
"""

import functools
import operator
import re

from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVector,
)
from django.db import connection
from django.db.models import Case, F, FloatField, OuterRef, Q, Subquery, TextField, Value, When
from django.db.models.functions import Coalesce

from . import isbn
from .models import Book, Genre

SEARCH_CONFIG = "english"

BOOK_WORDS = "tsvector_to_array(to_tsvector('simple', title || ' ' || authors_text))"
POSTGRES_SEARCH_SQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS catalog_book_search_vector_gin "
    "ON catalog_book USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS catalog_book_title_trgm "
    "ON catalog_book USING gin (title gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS catalog_book_authors_text_trgm "
    "ON catalog_book USING gin (authors_text gin_trgm_ops)",
    # The words of the titles and author names, to correct a query's spelling against: filled
    # from the books already there, then kept up by book_search_refresh.
    "CREATE TABLE IF NOT EXISTS catalog_search_word (word text PRIMARY KEY)",
    # BOOK_WORDS is a constant of this module; no input reaches this SQL.
    f"INSERT INTO catalog_search_word (word) SELECT DISTINCT unnest({BOOK_WORDS}) "  # nosec B608
    "FROM catalog_book ON CONFLICT DO NOTHING",
    # Without fastupdate, new words go straight into the index rather than into a pending list
    # that every search would scan until the next VACUUM.
    "CREATE INDEX IF NOT EXISTS catalog_search_word_trgm "
    "ON catalog_search_word USING gin (word gin_trgm_ops) WITH (fastupdate = off)",
]
# Adds the words of the books with the ids %s to catalog_search_word. Words are never removed:
# a word no book has any more only widens a corrected query to nothing.
SEARCH_WORDS_ADD_SQL = (  # constant SQL; the ids are a query parameter
    f"INSERT INTO catalog_search_word (word) SELECT DISTINCT unnest({BOOK_WORDS}) "  # nosec B608
    "FROM catalog_book WHERE id = ANY(%s) ON CONFLICT DO NOTHING"
)
# The known words closest to each typed word (ties included, at most 3), by trigram similarity
# (pg_trgm.similarity_threshold, default 0.3, is the floor: "tolkein" is 0.33 similar to
# "tolkien"). A known word is its own closest word, so correct words stay as typed.
CLOSEST_WORDS_SQL = """
    SELECT typed.position, closest.word
    FROM unnest(%s::text[]) WITH ORDINALITY AS typed (word, position)
    CROSS JOIN LATERAL (
        SELECT word FROM (
            SELECT word, rank() OVER (ORDER BY similarity(word, typed.word) DESC) AS closeness
            FROM catalog_search_word
            WHERE word %% typed.word
        ) AS candidates
        WHERE closeness = 1
        ORDER BY word
        LIMIT 3
    ) AS closest
"""
MAX_CORRECTED_WORDS = 8


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
    with connection.cursor() as cursor:
        cursor.execute(SEARCH_WORDS_ADD_SQL, [book_ids])


def is_ranked_search(queryset):
    """`queryset` is a PostgreSQL full-text search, sorted by relevance unless told otherwise:
    the database ranks (or sorts) every match before it can return a page."""
    return is_postgres() and "relevance" in queryset.query.annotations


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
    matches = queryset.filter(search_vector=query)
    # Full-text matching is served by the GIN index alone. Text that finds nothing as typed is
    # taken for a typo: its words are corrected against the known words (a table of thousands,
    # not the books' titles, whose trigram matches must each be rechecked) and searched again.
    if matches.exists():
        return matches.annotate(relevance=SearchRank(F("search_vector"), query))
    corrected = _spelling_corrected_query(text)
    if corrected is None:
        return matches.annotate(relevance=SearchRank(F("search_vector"), query))
    return queryset.filter(search_vector=corrected).annotate(
        relevance=SearchRank(F("search_vector"), corrected)
    )


def _spelling_corrected_query(text):
    """The full-text query for `text` with each word widened to the closest title and author
    words: "hary poter" finds what (hary | harry) & (poter | potter) finds."""
    typed = re.findall(r"\w+", text.lower())[:MAX_CORRECTED_WORDS]
    if not typed:
        return None
    alternatives = {position: [word] for position, word in enumerate(typed, start=1)}
    with connection.cursor() as cursor:
        cursor.execute(CLOSEST_WORDS_SQL, [typed])
        for position, word in cursor.fetchall():
            if word not in alternatives[position]:
                alternatives[position].append(word)
    query = None
    for words in alternatives.values():
        either = functools.reduce(
            operator.or_, (SearchQuery(word, config=SEARCH_CONFIG) for word in words)
        )
        query = either if query is None else query & either
    return query


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
