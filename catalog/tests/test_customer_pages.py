"""A customer's plain list and search pages are read by a path of their own (one query compiled
once, rows rather than models: BookViewSet._customer_page); they must be exactly what the general
path (the filterset, the ORM, BookSerializer) answers for the same request."""

from unittest import mock

import pytest

from catalog.models import Book
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from catalog.views import BookViewSet

pytestmark = pytest.mark.django_db


@pytest.fixture
def shelf():
    tolkien = AuthorFactory(name="J.R.R. Tolkien")
    rowling = AuthorFactory(name="J.K. Rowling")
    fantasy = GenreFactory(name="Fantasy")
    for number in range(1, 8):
        BookFactory(
            title=f"Harry Potter and Volume {number} (Harry Potter, #{number})",
            authors=[rowling],
            genres=[fantasy],
            ratings_count=1000 * number,
        )
    BookFactory(title="Harry Potter Boxed Set", authors=[rowling], ratings_count=50)
    BookFactory(title="The Hobbit", authors=[tolkien], genres=[fantasy], ratings_count=9000)
    BookFactory(title="The Fellowship of the Ring", authors=[tolkien], ratings_count=8000)
    BookFactory(title="A Garden Book", description="Mentions a hobbit and a potter in passing.")
    BookFactory(title="Hidden Potter", is_active=False)
    sold_out = BookFactory(title="Potter's Wheel", stock_quantity=2)
    Book.objects.filter(pk=sold_out.pk).update(reserved_quantity=2)


def general_path():
    """While active, every request is answered by the general path."""
    return mock.patch.object(BookViewSet, "_customer_page", return_value=None)


QUERIES = [
    {},
    {"page_size": "3"},
    {"page_size": "3", "page": "2"},
    {"page_size": "3", "page": "5"},  # the last page
    {"page_size": "3", "page": "6"},  # past the last page
    {"search": "potter"},
    {"search": "  Harry   POTTER "},
    {"search": "harry potter", "page_size": "2", "page": "3"},
    {"search": "harry potter", "page_size": "2", "page": "9"},  # past the last page
    {"search": "tolkien"},
    {"search": "hobbit"},
    {"search": "potter boxed set"},
    {"search": "pot"},  # the last word as a prefix
    {"search": "hary poter"},  # a typo, corrected
    {"search": "hary poter", "page_size": "2", "page": "2"},  # a page of a corrected search
    {"search": "hary poter", "page_size": "2", "page": "50"},
    {"search": "zzzzqqq"},
    {"search": "!!!"},  # no words at all
    {"search": "fantasy"},  # a genre
    {"search": "wheel"},  # sold out: shown, not available
]


@pytest.mark.parametrize("query", QUERIES, ids=repr)
@pytest.mark.parametrize("who", ["anonymous", "customer"])
def test_customer_pages_are_the_general_paths(shelf, api_client, user_client, query, who):
    client = api_client if who == "anonymous" else user_client
    fast = client.get("/api/books/", query)
    with general_path():
        general = client.get("/api/books/", query)
    assert fast.status_code == general.status_code == 200
    assert fast.json() == general.json()
    if query.get("search", "").strip() == "potter":
        titles = [book["title"] for book in fast.json()["results"]]
        assert "Hidden Potter" not in titles  # archived
        # The works themselves, then their box set.
        volumes = [titles.index(title) for title in titles if "Volume" in title]
        assert len(volumes) == 7
        assert max(volumes) < titles.index("Harry Potter Boxed Set")


def test_the_hot_path_answers_a_search_in_one_query(shelf, user_client, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert user_client.get("/api/books/", {"search": "potter"}).json()["count"] == 10


def test_a_typo_costs_the_correction_and_a_second_page_query(
    shelf, user_client, django_assert_num_queries
):
    # The page as typed (empty), the known words near the typed ones, the corrected page.
    with django_assert_num_queries(3):
        titles = [
            book["title"]
            for book in user_client.get("/api/books/", {"search": "tolkein"}).json()["results"]
        ]
    assert set(titles) == {"The Hobbit", "The Fellowship of the Ring"}


@pytest.mark.parametrize(
    "query",
    [
        {"search": "x" * 201},  # too long: the filter's 400
        {"page": "0"},
        {"page": "abc"},
        {"search": "potter", "ordering": "-price"},
        {"search": "potter", "genre": "fantasy"},
        {"search": "9780261102217"},  # an ISBN
        {"page_size": "3", "page_size ": "4"},
    ],
    ids=repr,
)
def test_anything_else_takes_the_general_path(shelf, user_client, query):
    fast = user_client.get("/api/books/", query)
    with general_path():
        general = user_client.get("/api/books/", query)
    assert fast.status_code == general.status_code
    assert fast.json() == general.json()


def test_staff_take_the_general_path(shelf, staff_client):
    with mock.patch("catalog.views.search.book_search_page") as page:
        results = staff_client.get("/api/books/", {"search": "potter"}).json()["results"]
    page.assert_not_called()
    assert "Hidden Potter" in [book["title"] for book in results]
    assert "stock_quantity" in results[0]


def test_a_searchs_count_is_shared_for_a_moment_as_a_lists_is(shelf, user_client, settings):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CATALOGUE_CACHE_SECONDS = 60
    settings.DATABASE_PREPARED_STATEMENTS = False  # the statements' text, not their names
    cache.clear()
    with CaptureQueriesContext(connection) as first:
        counted = user_client.get("/api/books/", {"search": "potter"}).json()
    with CaptureQueriesContext(connection) as second:
        again = user_client.get("/api/books/", {"search": "potter"}).json()
    assert counted == again
    assert counted["count"] == 10
    assert "OVER ()" in first[-1]["sql"]
    assert len(second) == 1 and "OVER ()" not in second[0]["sql"]  # the rows only

    # Another search, or a typo, is counted on its own.
    typo = user_client.get("/api/books/", {"search": "tolkein"}).json()
    assert typo["count"] == 2
