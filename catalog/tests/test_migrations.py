"""Data migrations, run against the current models (tests build their tables without
migrations)."""

import importlib

import pytest
from django.apps import apps
from django.db import connection

from catalog.models import Book
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db

author_and_genre_lists = importlib.import_module("catalog.migrations.0006_book_author_genre_lists")
search_statistics = importlib.import_module("catalog.migrations.0009_search_vector_statistics")
search_index = importlib.import_module("catalog.migrations.0010_search_index_without_pending_list")


def test_existing_books_get_the_author_and_genre_lists_the_services_write():
    second, first = AuthorFactory(name="B Second"), AuthorFactory(name="A First")
    zed, ant = GenreFactory(name="Zed"), GenreFactory(name="Ant")
    with_both = BookFactory(authors=[second, first], genres=[zed, ant])
    bare = BookFactory(authors=[])
    expected = {
        book.pk: (book.author_list, book.genre_list)
        for book in Book.objects.filter(pk__in=[with_both.pk, bare.pk])
    }
    Book.objects.update(author_list=[], genre_list=[{"id": 0, "name": "stale", "slug": "x"}])

    author_and_genre_lists.fill_author_and_genre_lists(apps, schema_editor=None)

    filled = {book.pk: (book.author_list, book.genre_list) for book in Book.objects.all()}
    assert filled == expected
    assert [author["name"] for author in filled[with_both.pk][0]] == ["B Second", "A First"]
    assert [genre["name"] for genre in filled[with_both.pk][1]] == ["Ant", "Zed"]
    assert filled[bare.pk] == ([], [])


cover_urls = importlib.import_module("catalog.migrations.0008_cover_image_url_web_only")


def test_unsafe_cover_urls_saved_before_the_rule_are_cleared():
    good = BookFactory(cover_image_url="https://images.example.com/c/1.jpg")
    bad = BookFactory(cover_image_url='https://example.com/"><script>alert(1)</script>')
    javascript = BookFactory(cover_image_url="javascript:alert(1)")

    cover_urls.clear_unsafe_cover_urls(apps, schema_editor=None)

    covers = dict(Book.objects.values_list("pk", "cover_image_url"))
    assert covers == {good.pk: "https://images.example.com/c/1.jpg", bad.pk: "", javascript.pk: ""}


def _one(sql):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


@pytest.mark.postgres_only
def test_the_planner_reads_a_hundred_search_word_statistics_not_a_thousand():
    statistics_target = (
        "SELECT attstattarget FROM pg_attribute "
        "WHERE attrelid = 'catalog_book'::regclass AND attname = 'search_vector'"
    )
    with connection.schema_editor() as editor:
        search_statistics.reset_statistics_target(apps, editor)
        assert _one(statistics_target) in (-1, None)  # the default (None from PostgreSQL 17)
        search_statistics.set_statistics_target(apps, editor)
    assert _one(statistics_target) == 10


@pytest.mark.postgres_only
def test_stock_changes_leave_the_search_index_no_pending_list_to_read_through():
    """A book's stock change writes a new row version; the search index takes its words in at
    once (fastupdate off, which the model declares), so no search reads through a pending list
    until the next VACUUM."""
    options = "SELECT reloptions FROM pg_class WHERE relname = 'catalog_book_search_vector_gin'"
    assert _one(options) == ["fastupdate=off"]
    with connection.schema_editor() as editor:
        search_index.set_fastupdate_on(apps, editor)
        assert _one(options) == ["fastupdate=on"]
        search_index.set_fastupdate(apps, editor)
    assert _one(options) == ["fastupdate=off"]
