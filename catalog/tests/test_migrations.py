"""Data migrations, run against the current models (tests build their tables without
migrations)."""

import importlib

import pytest
from django.apps import apps

from catalog.models import Book
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db

author_and_genre_lists = importlib.import_module("catalog.migrations.0006_book_author_genre_lists")


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
