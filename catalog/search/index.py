"""Index upkeep: the derived search columns of books (normalised title, series and authors,
collection flag, popularity), the PostgreSQL search document or SQLite FTS5 row, and the known
words that typo correction reads."""

import math
from collections import Counter
from collections.abc import Iterable

from django.conf import settings
from django.contrib.postgres.aggregates import StringAgg
from django.contrib.postgres.search import SearchVector
from django.db import connection, connections
from django.db.models import OuterRef, Subquery, TextField, Value
from django.db.models.functions import Coalesce

from ..models import Book, Genre
from .matching import FTS_TABLE, SEARCH_CONFIG, is_postgres, uses_fts5
from .text import book_search_columns


def popularity(*, ratings_count: int | None, copies_sold: int) -> float:
    weight = settings.SEARCH_RANKING["copies_sold_weight"]
    return round(math.log10(1 + (ratings_count or 0) + weight * (copies_sold or 0)), 4)


def trigram_extension_install(*, using: str) -> None:
    """pg_trgm, which the trigram indexes need, before tables are built: the migrations create
    it (TrigramExtension); this covers databases built straight from the models (tests)."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")


def sqlite_fts_install(*, using: str) -> None:
    """Create the SQLite FTS5 table when missing and fill it from the books stored (run after
    every migrate; a no-op on other databases or without FTS5)."""
    using_connection = connections[using]
    if not uses_fts5(using_connection):
        return
    with using_connection.cursor() as cursor:
        tables = using_connection.introspection.table_names(cursor)
        if FTS_TABLE in tables or Book._meta.db_table not in tables:
            return
        cursor.execute(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
            "title, authors, other, tokenize = 'unicode61 remove_diacritics 2')"
        )
    book_ids = list(Book.objects.using(using_connection.alias).values_list("pk", flat=True))
    for start in range(0, len(book_ids), 500):
        _fts_rows_write(book_ids[start : start + 500], using_connection)


def _fts_rows_write(book_ids, conn) -> None:
    books = Book.objects.using(conn.alias).filter(pk__in=book_ids)
    rows = [
        (
            book.pk,
            book.title,
            book.authors_text,
            " ".join([book.subtitle, *(genre["name"] for genre in book.genre_list)])
            + " "
            + book.description,
        )
        for book in books.only(
            "pk", "title", "subtitle", "authors_text", "genre_list", "description"
        )
    ]
    with conn.cursor() as cursor:
        placeholders = ",".join(["%s"] * len(book_ids))
        # Constant table name and placeholders; the values are parameters.
        cursor.execute(
            f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({placeholders})",  # nosec B608
            book_ids,
        )
        cursor.executemany(
            f"INSERT INTO {FTS_TABLE} (rowid, title, authors, other) "  # nosec B608
            "VALUES (%s, %s, %s, %s)",
            rows,
        )


def book_search_refresh(*, book_ids: Iterable[int]) -> None:
    """Recompute the search columns of these books: the normalised title, series and author
    columns and popularity (both databases), the search document (PostgreSQL) or FTS5 row
    (SQLite), and add their title and author words to the known words.

    Reads `authors_text`/`author_list`/`genre_list`, which the code that sets a book's authors
    and genres keeps current.
    """
    book_ids = list(book_ids)
    if not book_ids:
        return
    books = list(
        Book.objects.filter(pk__in=book_ids).only(
            "pk", "title", "author_list", "combined_ratings_count", "copies_sold"
        )
    )
    words: Counter[str] = Counter()
    for book in books:
        names = [author["name"] for author in book.author_list]
        for name, value in book_search_columns(title=book.title, author_names=names).items():
            setattr(book, name, value)
        book.popularity = popularity(
            ratings_count=book.combined_ratings_count, copies_sold=book.copies_sold
        )
        words.update(set(f"{book.search_title} {book.search_series} {book.search_authors}".split()))
    columns = ["search_title", "search_series", "search_author", "search_authors"]
    columns += ["is_collection", "popularity"]
    rows = [[book.pk, *(getattr(book, column) for column in columns)] for book in books]
    _rows_update(columns, rows)
    _known_words_add(words)
    if is_postgres():
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
    elif uses_fts5():
        for start in range(0, len(book_ids), 500):
            _fts_rows_write(book_ids[start : start + 500], connection)


def _rows_update(columns: list[str], rows: list[list]) -> None:
    """Set `columns` of the books [[id, *values], ...]: on PostgreSQL one UPDATE per 500 books
    (a round trip per book would dominate an import), elsewhere one UPDATE per book in a batch
    (both far cheaper than bulk_update's CASE per column). The column names are constants."""
    with connection.cursor() as cursor:
        if not is_postgres():
            assignments = ", ".join(f"{column} = %s" for column in columns)
            cursor.executemany(
                f"UPDATE catalog_book SET {assignments} WHERE id = %s",  # nosec B608
                [[*values, book_id] for book_id, *values in rows],
            )
            return
        assignments = ", ".join(f"{column} = new.{column}" for column in columns)
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            values = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(chunk))
            cursor.execute(
                f"UPDATE catalog_book SET {assignments} FROM (VALUES {values}) "  # nosec B608
                f"AS new (id, {', '.join(columns)}) WHERE catalog_book.id = new.id",
                [value for row in chunk for value in row],
            )


def _known_words_add(counts: Counter) -> None:
    """Add the words to the known words; a word seen again counts once more."""
    rows = [(word, count) for word, count in counts.items() if len(word) <= 100]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            cursor.execute(
                "INSERT INTO catalog_search_word (word, frequency) VALUES "  # nosec B608
                + ", ".join(["(%s, %s)"] * len(chunk))
                + " ON CONFLICT (word) DO UPDATE "
                "SET frequency = catalog_search_word.frequency + excluded.frequency",
                [value for row in chunk for value in row],
            )


def book_popularity_refresh(*, book_ids: Iterable[int]) -> None:
    """Recompute the popularity of these books, after their sales or their customers' ratings
    (catalog.ratings) changed."""
    books = list(
        Book.objects.filter(pk__in=book_ids).only("pk", "combined_ratings_count", "copies_sold")
    )
    for book in books:
        book.popularity = popularity(
            ratings_count=book.combined_ratings_count, copies_sold=book.copies_sold
        )
    Book.objects.bulk_update(books, ["popularity"])
