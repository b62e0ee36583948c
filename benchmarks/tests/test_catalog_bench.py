"""The cheap parts of the catalogue benchmark (benchmarks/catalog_bench.py): its refusals, the
variant generator at a small size, and the measuring helpers. The 100,000-book run itself is
`make bench`."""

from pathlib import Path
from unittest import mock

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from benchmarks import catalogue as benchmark
from benchmarks.catalog_command import Command as BenchCatalog
from catalog import filters
from catalog.importer import books_import
from catalog.models import Book, BookAuthor
from catalog.search import book_search
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory

DIRTY_BOOKS = Path(__file__).parents[2] / "catalog" / "tests" / "fixtures" / "dirty_books.csv"


def test_refuses_to_run_without_an_explicit_database(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(CommandError, match="--database-url or set DATABASE_URL"):
        call_command(BenchCatalog())


@pytest.mark.parametrize("option", ["--database-url", "DATABASE_URL"])
def test_refuses_sqlite(monkeypatch, tmp_path, option):
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    if option == "DATABASE_URL":
        monkeypatch.setenv("DATABASE_URL", url)
        arguments = []
    else:
        arguments = ["--database-url", url]
    with pytest.raises(CommandError, match="needs a PostgreSQL database"):
        call_command(BenchCatalog(), *arguments)
    assert not (tmp_path / "bench.sqlite3").exists()


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_refuses_a_database_it_did_not_create():
    # The test database has tables and no benchmark marker: somebody's data, as far as it knows.
    with pytest.raises(benchmark.BenchDatabaseError, match="refusing to touch it"):
        benchmark.claim_bench_database()


def test_variant_titles_are_editions_or_reshuffles_and_always_the_same():
    title = "The Hunger Games (The Hunger Games, #1)"
    assert benchmark.variant_title(title, source_id=1, variant_number=1) == f"{title} (Edition 2)"
    reshuffled = benchmark.variant_title(title, source_id=1, variant_number=2)
    assert reshuffled != title
    assert sorted(reshuffled.split()) == sorted(title.split())
    assert benchmark.variant_title(title, source_id=1, variant_number=2) == reshuffled
    # One word cannot be reshuffled into anything new.
    assert benchmark.variant_title("Dune", source_id=7, variant_number=2) == "Dune (Edition 3)"


def _variants():
    return list(
        Book.objects.filter(source_id__isnull=True)
        .order_by("pk")
        .values_list("title", "authors_text", "isbn13", "price", "stock_quantity")
    )


@pytest.mark.django_db
def test_generates_variants_of_the_real_books_with_their_authors():
    books_import(rows_or_file=DIRTY_BOOKS)
    real_books = Book.objects.count()

    assert benchmark.generate_book_variants(count=50, batch_size=20) == 50

    assert Book.objects.count() == real_books + 50
    first_run = _variants()
    assert all(isbn13 is None for _, _, isbn13, _, _ in first_run)
    for variant in Book.objects.filter(source_id__isnull=True).prefetch_related("book_authors"):
        real = Book.objects.get(source_id__isnull=False, authors_text=variant.authors_text)
        assert [link.author_id for link in variant.book_authors.all()] == list(
            BookAuthor.objects.filter(book=real).values_list("author_id", flat=True)
        )
        assert variant.author_list == real.author_list
        assert [author["id"] for author in variant.author_list] == [
            link.author_id for link in variant.book_authors.all()
        ]
    assert any("(Edition" in title for title, *_ in first_run)

    # The same real books always give the same variants.
    Book.objects.filter(source_id__isnull=True).delete()
    benchmark.generate_book_variants(count=50, batch_size=7)
    assert _variants() == first_run


@pytest.mark.django_db
@pytest.mark.postgres_only
def test_generated_variants_have_search_documents():
    books_import(rows_or_file=DIRTY_BOOKS)
    benchmark.generate_book_variants(count=50, batch_size=20)

    variants = Book.objects.filter(source_id__isnull=True)
    assert not variants.filter(search_vector__isnull=True).exists()
    found = book_search(Book.objects.all(), "Murakami").values_list("source_id", flat=True)
    assert None in set(found)  # a variant, found by its real book's author


@pytest.mark.django_db
def test_naive_search_replaces_book_search_in_the_same_view():
    tolkien = AuthorFactory(name="J.R.R. Tolkien")
    BookFactory(title="The Hobbit", authors=[tolkien])
    BookFactory(title="Unrelated", authors=[AuthorFactory(name="Someone Else")])
    client = Client()

    with benchmark.naive_search_in_the_view():
        naive = client.get("/api/books/", {"search": "tolkien"}).json()
        typo = client.get("/api/books/", {"search": "tolkein"}).json()

    assert [book["title"] for book in naive["results"]] == ["The Hobbit"]
    assert typo["count"] == 0  # what the indexes' typo tolerance adds


@pytest.mark.django_db
def test_time_request_reports_samples_queries_and_hits():
    BookFactory.create_batch(3)

    timing = benchmark.time_request(Client(), "/api/books/", {"page_size": 2}, repeat=4, warmup=1)

    assert len(timing.samples_ms) == 4
    assert timing.hits == 3
    assert timing.queries >= 2  # the count and the page, at least
    assert 0 < timing.median_ms <= timing.p95_ms == max(timing.samples_ms)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("repeat", "naive_repeat", "expected_order"),
    [
        (6, 2, "iiiniiin"),
        (3, 3, "ininin"),
        (2, 3, "ininn"),
    ],
)
def test_compare_search_spreads_the_naive_samples_among_the_indexed_ones(
    repeat, naive_repeat, expected_order
):
    BookFactory(title="The Hobbit", authors=[AuthorFactory(name="J.R.R. Tolkien")])
    order = []
    timed_get = benchmark._timed_get

    def recording_timed_get(client, path, params):
        order.append("i" if filters.book_search is book_search else "n")
        return timed_get(client, path, params)

    with mock.patch.object(benchmark, "_timed_get", recording_timed_get):
        comparison = benchmark.compare_search(
            Client(), "hobbit", repeat=repeat, naive_repeat=naive_repeat, warmup=1
        )

    assert "".join(order) == expected_order
    assert len(comparison.indexed.samples_ms) == repeat
    assert len(comparison.naive.samples_ms) == naive_repeat
    assert comparison.indexed.hits == comparison.naive.hits == 1


@pytest.mark.django_db
def test_generated_variants_are_in_their_real_books_genres():
    books_import(rows_or_file=DIRTY_BOOKS)
    real = Book.objects.filter(source_id__isnull=False).order_by("source_id").first()
    fantasy = GenreFactory(name="Fantasy")
    real.genres.set([fantasy])
    real.set_genres_columns([fantasy])
    real.save(update_fields=["genre_list"])

    benchmark.generate_book_variants(count=Book.objects.count(), batch_size=7)

    variant = Book.objects.filter(source_id__isnull=True).order_by("pk").first()
    assert list(variant.genres.all()) == [fantasy]
    assert variant.genre_list == real.genre_list


@pytest.mark.django_db
def test_compare_facets_times_the_search_with_and_without_the_storefronts_facets():
    BookFactory(title="The Hobbit", authors=[AuthorFactory(name="J.R.R. Tolkien")])
    asked = []
    timed_get = benchmark._timed_get

    def recording_timed_get(client, path, params):
        asked.append(params.get("facets"))
        return timed_get(client, path, params)

    with mock.patch.object(benchmark, "_timed_get", recording_timed_get):
        comparison = benchmark.compare_facets(Client(), "hobbit", repeat=2, warmup=1)

    assert asked == [None, benchmark.STOREFRONT_FACETS] * 2
    assert comparison.search.hits == comparison.faceted.hits == 1
    # PostgreSQL counts the facets in the search's own statement; SQLite in one more.
    facet_queries = 0 if connection.vendor == "postgresql" else 1
    assert comparison.faceted.queries == comparison.search.queries + facet_queries
    assert comparison.ratio > 0
