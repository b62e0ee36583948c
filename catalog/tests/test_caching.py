"""The one-second cache of anonymous catalogue reads (catalog/caching.py)."""

import pytest

from catalog import caching, inventory
from catalog.tests.factories import BookFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.CATALOGUE_CACHE_SECONDS = 1


@pytest.fixture
def clock(monkeypatch):
    """caching's time.time(), moved forward by hand."""

    class Clock:
        now = 1_000_000.0

        def advance(self, seconds):
            self.now += seconds

    fake = Clock()
    monkeypatch.setattr(caching.time, "time", lambda: fake.now)
    return fake


def available(response, book):
    assert response.status_code == 200, response.content
    body = response.json()
    rows = body.get("results", [body])
    return next(row["available_quantity"] for row in rows if row["id"] == book.pk)


@pytest.mark.parametrize("detail", [False, True], ids=["list", "detail"])
def test_a_stock_change_shows_within_the_second(
    api_client, clock, django_assert_num_queries, detail
):
    book = BookFactory(stock_quantity=5)
    url = f"/api/books/{book.pk}/" if detail else "/api/books/"
    assert available(api_client.get(url), book) == 5

    inventory.stock_reserve(lines={book.pk: 2})
    clock.advance(0.9)
    with django_assert_num_queries(0):
        assert available(api_client.get(url), book) == 5  # from the cache
    clock.advance(0.1)
    assert available(api_client.get(url), book) == 3


def test_authenticated_readers_neither_use_nor_fill_the_cache(api_client, staff_client, clock):
    book = BookFactory(stock_quantity=5)
    assert "stock_quantity" in staff_client.get(f"/api/books/{book.pk}/").json()
    anonymous = api_client.get(f"/api/books/{book.pk}/").json()
    assert "stock_quantity" not in anonymous
    assert "stock_quantity" in staff_client.get(f"/api/books/{book.pk}/").json()


def test_revalidation_with_the_etag_answers_304(api_client, clock):
    book = BookFactory()
    first = api_client.get(f"/api/books/{book.pk}/")
    assert first["Cache-Control"] == "public, no-cache"
    assert "Authorization" in first["Vary"]
    again = api_client.get(f"/api/books/{book.pk}/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""


def test_errors_are_not_cached(api_client, clock):
    missing = BookFactory().pk + 1
    assert api_client.get(f"/api/books/{missing}/").status_code == 404
    BookFactory()  # takes the id that was missing
    assert api_client.get(f"/api/books/{missing}/").status_code == 200


def test_off_when_the_setting_is_zero(api_client, settings):
    settings.CATALOGUE_CACHE_SECONDS = 0
    BookFactory()
    assert "ETag" not in api_client.get("/api/books/")


# --- The list's count, shared by every reader ------------------------------------------------


def count(response):
    assert response.status_code == 200, response.content
    return response.json()["count"]


def test_a_signed_in_list_counts_once_a_second(user_client, clock, django_assert_num_queries):
    BookFactory.create_batch(3)
    assert count(user_client.get("/api/books/")) == 3
    BookFactory()
    clock.advance(0.9)
    with django_assert_num_queries(1):  # the page; the count is the one of 0.9 s ago
        response = user_client.get("/api/books/?page_size=2&page=2")
    assert count(response) == 3
    assert len(response.json()["results"]) == 2
    clock.advance(0.1)
    with django_assert_num_queries(2):
        assert count(user_client.get("/api/books/")) == 4


def test_counts_are_apart_for_staff_and_for_each_filter(
    user_client, staff_client, clock, django_assert_num_queries
):
    from catalog.tests.factories import GenreFactory

    poetry = GenreFactory(name="Poetry")
    BookFactory(genres=[poetry])
    BookFactory(is_active=False)
    BookFactory()
    assert count(user_client.get("/api/books/")) == 2
    assert count(staff_client.get("/api/books/")) == 3  # archived books too
    assert count(user_client.get("/api/books/?genre=poetry")) == 1
    # The page, its size and the order do not change the count: one entry serves them all.
    with django_assert_num_queries(1):
        assert count(user_client.get("/api/books/?ordering=-price&page_size=1")) == 2


def test_the_count_is_not_shared_when_the_setting_is_zero(
    user_client, settings, django_assert_num_queries
):
    settings.CATALOGUE_CACHE_SECONDS = 0
    BookFactory()
    assert count(user_client.get("/api/books/")) == 1
    BookFactory()
    with django_assert_num_queries(2):
        assert count(user_client.get("/api/books/")) == 2
