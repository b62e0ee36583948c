"""The catalogue benchmark behind `make bench` (benchmarks/catalog_bench.py): a 100,000-book
PostgreSQL catalogue, and the latency of the book API on it.

The catalogue is the 10,000 real goodbooks books, imported with `catalog.importer`, plus 90,000
generated variants of them: "<title> (Edition N)" or the real title's words reshuffled, by the
real book's authors, with no ISBN and no source id. Every real book gets the same number of
variants (give or take one), so a search finds about ten times what it finds in the real data,
as it would in a shop that sells ten times as many books like them.

The benchmark only ever runs in a database of its own: one it created (marked with a comment on
the database, `BENCH_DATABASE_MARKER`), or an empty one, which it then marks. Any other database
is refused before anything is written to it.

Latencies are measured through Django's test client, so they include URL routing, middleware,
the filters, the queries, serialisation and JSON rendering, but no network or WSGI server. The
test client keeps the database connection open between requests, as a production server with
persistent connections (DB_CONN_MAX_AGE) does.
"""

import random
import re
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import dj_database_url
import psycopg2
from django.conf import settings
from django.db import connection, connections, transaction
from django.db.models import FloatField, Q, Value
from django.test import Client
from django.test.utils import CaptureQueriesContext
from psycopg2 import sql

from catalog import services
from catalog.genre_tags import genres_by_source_id
from catalog.importer import books_import, derived_price, derived_stock
from catalog.models import Author, Book, BookAuthor, Genre, SearchWord
from catalog.search import book_search_refresh

GOODBOOKS_DIR = Path(settings.BASE_DIR) / "data" / "goodbooks-10k"
GOODBOOKS_CSV = GOODBOOKS_DIR / "books.csv"
DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bookstore_bench"
BENCH_DATABASE_MARKER = "bookstore bench_catalog: generated benchmark data, safe to drop"

CATALOGUE_SIZE = 100_000
# `--size` takes any number of books; these are the documented ones (`make bench` and
# `make bench-1m`).
LARGE_CATALOGUE_SIZE = 1_000_000
# Rows written per round trip while generating: big enough that the per-query cost is small,
# small enough that one batch's search-document UPDATE stays a short statement.
GENERATION_BATCH = 2_000
TITLE_MAX_LENGTH = Book._meta.get_field("title").max_length
# Generated books get prices and stock from ids past the real catalogue's, through the
# importer's own formulas, so they look like the real ones and are the same in every run.
GENERATED_ID_OFFSET = 1_000_000

# What shoppers type: title words, authors, common words with many matches, and typos.
SEARCH_TERMS = [
    "harry potter",
    "the hunger games",
    "pride and prejudice",
    "lord of the rings",
    "tolkien",
    "stephen king",
    "agatha christie",
    "love",
    "tolkein",
    "hary poter",
    "agata christy",
    "sherlok holmes",
]
BROWSE_PAGE_SIZES = [20, 100]
# What a reader has typed so far when suggestions are asked for, typos included.
SUGGEST_PREFIXES = [
    "h",
    "har",
    "harry pot",
    "the hun",
    "tolk",
    "stephen k",
    "agat",
    "pride and p",
    "lo",
    "sherl",
    "hary pot",
    "tolkein",
]
TARGET_SUGGEST_MEDIAN_MS = 10.0

TARGET_SEARCH_MEDIAN_MS = 25.0
TARGET_SPEEDUP = 10.0
# What a storefront sends beside its search results, and what that may cost: at most this many
# times the search alone, and (the target at a million books) at most this many milliseconds.
STOREFRONT_FACETS = "genre,language,price"
TARGET_FACETS_RATIO = 2.0
TARGET_FACETED_SEARCH_MEDIAN_MS = 60.0
# A list page, at a million books.
TARGET_LIST_MEDIAN_MS = 5.0


class BenchDatabaseError(Exception):
    """The benchmark cannot, or must not, run against this database."""


# --- The database ---------------------------------------------------------------------------


def bench_database_config(url):
    """Django settings for the database at `url`, which must be a PostgreSQL one."""
    try:
        config = dj_database_url.parse(url, conn_health_checks=True)
    except ValueError as error:
        message = f"Cannot read the database URL {_redacted(url)!r}: {error}"
        raise BenchDatabaseError(message) from error
    if config.get("ENGINE") != "django.db.backends.postgresql":
        raise BenchDatabaseError(
            f"bench_catalog measures PostgreSQL search and needs a PostgreSQL database; "
            f"{_redacted(url)} is {config.get('ENGINE', 'not a database URL')}."
        )
    if not config.get("NAME"):
        raise BenchDatabaseError(f"The database URL {_redacted(url)} names no database.")
    return config


def _redacted(url):
    return re.sub(r"//([^:/@]+):[^@]*@", r"//\1:***@", url)


def same_database(config, other):
    return all(
        str(config.get(key) or "") == str(other.get(key) or "")
        for key in ("ENGINE", "NAME", "HOST", "PORT", "USER")
    )


def use_as_default_database(config):
    """Point Django's default connection at `config` (for --database-url)."""
    connections["default"].close()
    settings.DATABASES["default"] = connections.configure_settings({"default": config})["default"]
    connections.settings["default"] = settings.DATABASES["default"]
    del connections["default"]  # the next use opens a connection with the new settings


def create_database_if_missing(config):
    """Create (and mark as the benchmark's) the database `config` names; True if it was created.

    Connects to the server's `postgres` maintenance database, since the target does not exist.
    """
    server_name = f"{config.get('HOST') or 'the local socket'}:{config.get('PORT') or 5432}"
    try:
        server = psycopg2.connect(
            dbname="postgres",
            user=config.get("USER") or None,
            password=config.get("PASSWORD") or None,
            host=config.get("HOST") or None,
            port=config.get("PORT") or None,
        )
    except psycopg2.OperationalError as error:
        message = f"Cannot connect to PostgreSQL at {server_name}: {error}"
        raise BenchDatabaseError(message) from error
    server.autocommit = True  # CREATE DATABASE cannot run inside a transaction
    try:
        with server.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [config["NAME"]])
            if cursor.fetchone():
                return False
            name = sql.Identifier(config["NAME"])
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(name))
            cursor.execute(
                sql.SQL("COMMENT ON DATABASE {} IS %s").format(name),
                [BENCH_DATABASE_MARKER],
            )
            return True
    except psycopg2.Error as error:
        raise BenchDatabaseError(
            f"Cannot create the database {config['NAME']!r} on {server_name}: {error}"
        ) from error
    finally:
        server.close()


def claim_bench_database(conn=connection):
    """Make sure `conn` is a database the benchmark may fill and empty.

    It may if it carries the benchmark's marker, or if it has no tables yet (it is then marked).
    Anything else may be somebody's data: refused.
    """
    with conn.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
            "WHERE datname = current_database()"
        )
        (comment,) = cursor.fetchone()
        if comment == BENCH_DATABASE_MARKER:
            return
        tables = conn.introspection.table_names(cursor)
        if tables:
            raise BenchDatabaseError(
                f"The database {conn.settings_dict['NAME']!r} already has tables ({len(tables)}) "
                "and was not created by bench_catalog; refusing to touch it. Point "
                "--database-url (or DATABASE_URL) at a database of the benchmark's own, e.g. "
                f"{DEFAULT_BENCH_DATABASE_URL} (created if missing)."
            )
        cursor.execute(
            f"COMMENT ON DATABASE {conn.ops.quote_name(conn.settings_dict['NAME'])} IS %s",
            [BENCH_DATABASE_MARKER],
        )


def has_unapplied_migrations(conn=connection):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(conn)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def empty_catalogue(conn=connection):
    """Delete every book, author and genre (--rebuild). Only for the claimed bench database."""
    tables = [
        model._meta.db_table for model in (Book, BookAuthor, Book.genres.through, Author, Genre)
    ]
    with conn.cursor() as cursor:
        # CASCADE also empties what refers to books (order lines): bench data only, by the claim.
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")


def vacuum_analyze_catalogue(conn=connection):
    """Settle the tables as autovacuum would on a live shop: fresh planner statistics, no dead
    rows from the search-document UPDATEs, a visibility map for index-only scans."""
    with conn.cursor() as cursor:
        for model in (Book, BookAuthor, Book.genres.through, Author, Genre, SearchWord):
            cursor.execute(f"VACUUM ANALYZE {conn.ops.quote_name(model._meta.db_table)}")
    # The requests get a fresh connection, like the app's own, which never run VACUUM.
    conn.close()


def server_facts(conn=connection):
    with conn.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    return {"version": version}


# --- The catalogue --------------------------------------------------------------------------


@dataclass(frozen=True)
class CatalogueCounts:
    real: int
    generated: int

    @property
    def total(self):
        return self.real + self.generated


def catalogue_counts():
    # The importer keys every real book on its source id; generated variants have none.
    real = Book.objects.filter(source_id__isnull=False).count()
    return CatalogueCounts(real=real, generated=Book.objects.count() - real)


def build_catalogue(*, size=CATALOGUE_SIZE, csv_path=GOODBOOKS_CSV, progress=None):
    """Import the real books and give them the genres readers shelved them under (as the demo
    shop does), then generate variants up to `size` books, in one transaction, so that an
    interrupted build leaves an empty catalogue rather than a half-built one."""
    say = progress or (lambda message: None)
    with transaction.atomic():
        started = time.monotonic()
        summary = books_import(rows_or_file=csv_path)
        say(f"Imported {summary.created:,} real books in {time.monotonic() - started:.1f} s")
        if csv_path == GOODBOOKS_CSV:
            shelved = services.book_genres_fill(
                genres_by_source_id=genres_by_source_id(
                    books_csv=csv_path,
                    tags_csv=GOODBOOKS_DIR / "tags.csv",
                    book_tags_csv=GOODBOOKS_DIR / "book_tags_partial.csv",
                )
            )
            say(f"Gave genres to {shelved:,} real books from readers' shelves")
        started = time.monotonic()
        reported_tenths = set()

        def report_progress(done, total):
            # A line per tenth is enough to see it moving without burying the messages around.
            tenths = done * 10 // total
            if tenths not in reported_tenths:
                reported_tenths.add(tenths)
                say(f"Generated {done:,}/{total:,} variants")

        generated = generate_book_variants(
            count=size - Book.objects.count(), progress=report_progress
        )
        say(f"Generated {generated:,} variants in {time.monotonic() - started:.1f} s")


def variant_title(title, *, source_id, variant_number):
    """The title of generated variant `variant_number` (1, 2, ...) of a real book.

    Odd variants are later editions; even ones reshuffle the title's words (seeded by the book
    and the variant, so every run gives the same titles) and fall back to an edition when the
    shuffle changes nothing, as it cannot for a one-word title.
    """
    edition = f"{title} (Edition {variant_number + 1})"
    if variant_number % 2:
        return edition[:TITLE_MAX_LENGTH]
    words = title.split()
    random.Random(f"{source_id}:{variant_number}").shuffle(words)
    shuffled = " ".join(words)
    return (shuffled if shuffled != title else edition)[:TITLE_MAX_LENGTH]


def generate_book_variants(
    *,
    count,
    batch_size=GENERATION_BATCH,
    progress: Callable[[int, int], None] | None = None,
):
    """Create `count` variants of the real (imported) books, by the real books' authors and in
    their genres, with the author and genre columns and the search document set as the services
    set them. Returns the number
    created. Variant i is of the real book i modulo the number of real books, ordered by source
    id, so the same real catalogue always gives the same variants."""
    real_books = list(
        Book.objects.filter(source_id__isnull=False)
        .order_by("source_id")
        .values(
            "id",
            "source_id",
            "title",
            "authors_text",
            "author_list",
            "publication_year",
            "language",
            "average_rating",
            "ratings_count",
            "cover_image_url",
            "genre_list",
        )
    )
    if count <= 0 or not real_books:
        return 0
    author_ids_by_book: dict[int, list[int]] = {}
    links = (
        BookAuthor.objects.filter(book__source_id__isnull=False)
        .order_by("book_id", "position", "id")
        .values_list("book_id", "author_id")
    )
    for book_id, author_id in links:
        author_ids_by_book.setdefault(book_id, []).append(author_id)
    genre_ids_by_book: dict[int, list[int]] = {}
    genre_links = Book.genres.through.objects.filter(book__source_id__isnull=False).values_list(
        "book_id", "genre_id"
    )
    for book_id, genre_id in genre_links:
        genre_ids_by_book.setdefault(book_id, []).append(genre_id)

    created = 0
    for batch_start in range(0, count, batch_size):
        batch_numbers = range(batch_start, min(batch_start + batch_size, count))
        sources = [real_books[number % len(real_books)] for number in batch_numbers]
        books = [
            _variant(source, number=number, variant_number=number // len(real_books) + 1)
            for number, source in zip(batch_numbers, sources, strict=True)
        ]
        Book.objects.bulk_create(books, batch_size=batch_size)
        BookAuthor.objects.bulk_create(
            [
                BookAuthor(book=book, author_id=author_id, position=position)
                for book, source in zip(books, sources, strict=True)
                for position, author_id in enumerate(author_ids_by_book.get(source["id"], []))
            ],
            batch_size=batch_size,
        )
        Book.genres.through.objects.bulk_create(
            [
                Book.genres.through(book_id=book.pk, genre_id=genre_id)
                for book, source in zip(books, sources, strict=True)
                for genre_id in genre_ids_by_book.get(source["id"], [])
            ],
            batch_size=batch_size,
        )
        # The project's own refresh: one UPDATE for the batch, the same search document.
        book_search_refresh(book_ids=[book.pk for book in books])
        created += len(books)
        if progress is not None:
            progress(created, count)
    return created


def _variant(source, *, number, variant_number):
    generated_id = GENERATED_ID_OFFSET + number
    year = source["publication_year"]
    return Book(
        title=variant_title(
            source["title"], source_id=source["source_id"], variant_number=variant_number
        ),
        authors_text=source["authors_text"],
        author_list=source["author_list"],
        price=derived_price(source_id=generated_id),
        stock_quantity=derived_stock(source_id=generated_id),
        publication_year=min(year + variant_number, 32767) if year is not None else None,
        language=source["language"],
        average_rating=source["average_rating"],
        ratings_count=source["ratings_count"],
        # A generated book has no reviews: customers see the imported figures.
        combined_average_rating=source["average_rating"],
        combined_ratings_count=source["ratings_count"],
        cover_image_url=source["cover_image_url"],
        genre_list=source["genre_list"],
    )


# --- Measuring ------------------------------------------------------------------------------


@dataclass
class Timing:
    """Latencies of one request, repeated, in milliseconds."""

    samples_ms: list[float]
    queries: int
    hits: int | None = None  # the response's `count`, for lists

    @property
    def median_ms(self):
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self):
        # Nearest rank: with 30 samples, the second slowest.
        ordered = sorted(self.samples_ms)
        return ordered[max(0, -(-95 * len(ordered) // 100) - 1)]


def time_request(client, path, params=None, *, repeat, warmup):
    """Time `repeat` GETs of `path` after `warmup` untimed ones (which fill PostgreSQL's and
    Django's caches); the SQL query count is taken from one more, untimed, request."""
    for _ in range(warmup):
        _get(client, path, params)
    samples = [_timed_get(client, path, params) for _ in range(repeat)]
    return _timing(client, path, params, samples=samples)


def _timed_get(client, path, params):
    started = time.perf_counter()
    _get(client, path, params)
    return (time.perf_counter() - started) * 1000


def _timing(client, path, params, *, samples):
    with CaptureQueriesContext(connection) as queries:
        body = _get(client, path, params).json()
    # A list's `count`; for suggestions, which are all on the page, how many there are.
    hits = body.get("count", len(body["results"])) if "results" in body else None
    return Timing(samples_ms=samples, queries=len(queries), hits=hits)


def _get(client, path, params):
    response = client.get(path, params)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params or ''}: {response.status_code} {response.content}")
    return response


def naive_book_search(queryset, text):
    """The search the indexes replace: case-insensitive substring matching of the whole text
    over the same fields, which no index serves. The matches are a subquery of ids rather than
    a DISTINCT over joined rows, so that the baseline pays for the scan, not for removing
    duplicates. It annotates a constant `relevance` because the filter orders searches by it
    (so the naive results come newest first, by id)."""
    matching_ids = Book.objects.filter(
        Q(title__icontains=text)
        | Q(subtitle__icontains=text)
        | Q(authors__name__icontains=text)
        | Q(genres__name__icontains=text)
        | Q(description__icontains=text)
    ).values("pk")
    return queryset.filter(pk__in=matching_ids).annotate(
        relevance=Value(0.0, output_field=FloatField())
    )


@contextmanager
def naive_search_in_the_view():
    """While active, /api/books/?search= runs `naive_book_search` instead of `book_search`:
    same view, filters, pagination and serializer, only the search differs (and the customers'
    one-query search page, which has no naive form, stands aside)."""
    with (
        mock.patch("catalog.filters.book_search", naive_book_search),
        mock.patch("catalog.search.book_search_page", return_value=None),
    ):
        yield


@dataclass
class SearchComparison:
    term: str
    indexed: Timing
    naive: Timing

    @property
    def speedup(self):
        return self.naive.median_ms / self.indexed.median_ms


def compare_search(client, term, *, repeat, naive_repeat, warmup):
    """Time `repeat` indexed and `naive_repeat` naive searches for `term`, spread among each
    other: a stretch of time in which the machine runs slower (another process, a noisy
    neighbour) then slows both, rather than only one side of the comparison."""
    path, params = "/api/books/", {"search": term}
    for _ in range(warmup):
        _get(client, path, params)
        with naive_search_in_the_view():
            _get(client, path, params)
    indexed_samples, naive_samples = [], []
    for number in range(repeat):
        indexed_samples.append(_timed_get(client, path, params))
        # The naive samples at even intervals among the indexed ones.
        if len(naive_samples) < (number + 1) * naive_repeat // repeat:
            with naive_search_in_the_view():
                naive_samples.append(_timed_get(client, path, params))
    while len(naive_samples) < naive_repeat:  # more naive than indexed samples asked for
        with naive_search_in_the_view():
            naive_samples.append(_timed_get(client, path, params))
    indexed = _timing(client, path, params, samples=indexed_samples)
    with naive_search_in_the_view():
        naive = _timing(client, path, params, samples=naive_samples)
    return SearchComparison(term=term, indexed=indexed, naive=naive)


@dataclass
class FacetComparison:
    term: str
    search: Timing
    faceted: Timing

    @property
    def ratio(self):
        return self.faceted.median_ms / self.search.median_ms


def compare_facets(client, term, *, repeat, warmup):
    """Time `repeat` searches for `term` with the storefront's facets and without, in turn (so
    that a slow spell of the machine slows both)."""
    path = "/api/books/"
    plain, faceted = {"search": term}, {"search": term, "facets": STOREFRONT_FACETS}
    for _ in range(warmup):
        _get(client, path, plain)
        _get(client, path, faceted)
    plain_samples, faceted_samples = [], []
    for _ in range(repeat):
        plain_samples.append(_timed_get(client, path, plain))
        faceted_samples.append(_timed_get(client, path, faceted))
    return FacetComparison(
        term=term,
        search=_timing(client, path, plain, samples=plain_samples),
        faceted=_timing(client, path, faceted, samples=faceted_samples),
    )


def anonymous_client():
    return Client()


def variant_sources():
    """{generated book id: goodbooks id of the real book it is a variant of}, as
    generate_book_variants made them (variant i of real book i modulo the real books, by source
    id): an edition of the book a reader expects is that book for the relevance figures."""
    real = list(
        Book.objects.filter(source_id__isnull=False)
        .order_by("source_id")
        .values_list("source_id", flat=True)
    )
    generated = (
        Book.objects.filter(source_id__isnull=True).order_by("pk").values_list("pk", flat=True)
    )
    return {pk: real[number % len(real)] for number, pk in enumerate(generated)} if real else {}


def time_suggestions(client, *, repeat, warmup):
    """{prefix: Timing} for GET /api/books/suggest/?q=<prefix>, and the median over them all."""
    timings = {}
    for prefix in SUGGEST_PREFIXES:
        timings[prefix] = time_request(
            client, "/api/books/suggest/", {"q": prefix}, repeat=repeat, warmup=warmup
        )
    every = sorted(sample for timing in timings.values() for sample in timing.samples_ms)
    return timings, statistics.median(every)
