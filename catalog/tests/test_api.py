from decimal import Decimal

import pytest

from catalog.models import Author, Book, Genre
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from core.testing import assert_problem, field_errors

pytestmark = pytest.mark.django_db

CUSTOMER_FIELDS = {
    "id",
    "title",
    "subtitle",
    "authors",
    "genres",
    "isbn13",
    "price",
    "description",
    "publication_year",
    "language",
    "page_count",
    "cover_image_url",
    "average_rating",
    "ratings_count",
    "available_quantity",
    "in_stock",
    "created_at",
    "updated_at",
}


def ids(response):
    assert response.status_code == 200, response.content
    return [book["id"] for book in response.json()["results"]]


# --- Reading ---------------------------------------------------------------------------------


def test_customers_see_availability_but_not_stock_internals(api_client):
    book = BookFactory(stock_quantity=7, reserved_quantity=3)
    body = api_client.get(f"/api/books/{book.pk}/").json()
    assert set(body) == CUSTOMER_FIELDS
    assert body["available_quantity"] == 4
    assert body["in_stock"] is True
    assert body["price"] == "12.50"


def test_staff_also_see_on_hand_and_reserved(staff_client):
    book = BookFactory(stock_quantity=7, reserved_quantity=3)
    body = staff_client.get(f"/api/books/{book.pk}").json()
    assert body["stock_quantity"] == 7
    assert body["reserved_quantity"] == 3
    assert body["is_active"] is True


def test_archived_books_are_hidden_from_customers_only(api_client, staff_client):
    archived = BookFactory(is_active=False)
    visible = BookFactory()
    assert ids(api_client.get("/api/books/")) == [visible.pk]
    assert_problem(api_client.get(f"/api/books/{archived.pk}/"), 404, "not_found")
    assert set(ids(staff_client.get("/api/books/"))) == {archived.pk, visible.pk}


def test_authors_are_listed_in_order():
    first, second = AuthorFactory(name="Zed First"), AuthorFactory(name="Amy Second")
    book = BookFactory(authors=[first, second])
    from rest_framework.test import APIClient

    body = APIClient().get(f"/api/books/{book.pk}/").json()
    assert [a["name"] for a in body["authors"]] == ["Zed First", "Amy Second"]


def test_filter_by_author_id_or_slug(api_client):
    tolkien = AuthorFactory(name="J.R.R. Tolkien", slug="jrr-tolkien")
    hobbit = BookFactory(authors=[tolkien])
    BookFactory()
    assert ids(api_client.get(f"/api/books/?author={tolkien.pk}")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?author=jrr-tolkien")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?author=nobody")) == []
    assert ids(api_client.get("/api/books/?author=99999999999999999999999")) == []


def test_filter_by_genre_slug(api_client):
    fantasy = GenreFactory(name="Fantasy", slug="fantasy")
    book = BookFactory(genres=[fantasy])
    BookFactory()
    assert ids(api_client.get("/api/books/?genre=fantasy")) == [book.pk]


def test_filter_by_price_range(api_client):
    cheap = BookFactory(price=Decimal("5.00"))
    mid = BookFactory(price=Decimal("15.00"))
    BookFactory(price=Decimal("25.00"))
    assert set(ids(api_client.get("/api/books/?min_price=4&max_price=15"))) == {cheap.pk, mid.pk}
    assert ids(api_client.get("/api/books/?min_price=15.01&max_price=24.99")) == []


def test_filter_in_stock(api_client):
    available = BookFactory(stock_quantity=2, reserved_quantity=1)
    all_held = BookFactory(stock_quantity=2, reserved_quantity=2)
    empty = BookFactory(stock_quantity=0)
    assert ids(api_client.get("/api/books/?in_stock=true")) == [available.pk]
    assert set(ids(api_client.get("/api/books/?in_stock=false"))) == {all_held.pk, empty.pk}


def test_filter_by_language_and_years(api_client):
    old = BookFactory(language="en", publication_year=1937)
    new = BookFactory(language="fr", publication_year=2005)
    assert ids(api_client.get("/api/books/?language=FR")) == [new.pk]
    assert ids(api_client.get("/api/books/?published_before=1950")) == [old.pk]
    assert ids(api_client.get("/api/books/?published_after=1950&published_before=2010")) == [new.pk]


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("price", ["b", "c", "a"]),
        ("-price", ["a", "c", "b"]),
        ("title", ["a", "b", "c"]),
        ("publication_year", ["c", "a", "b"]),
        ("-publication_year", ["b", "a", "c"]),
        ("published_year", ["c", "a", "b"]),
        ("-published_year", ["b", "a", "c"]),
        ("-created_at", ["c", "b", "a"]),
    ],
)
def test_ordering(api_client, ordering, expected):
    books = {
        "a": BookFactory(title="Alpha", price=Decimal("30"), publication_year=1990),
        "b": BookFactory(title="Beta", price=Decimal("10"), publication_year=2000),
        "c": BookFactory(title="Gamma", price=Decimal("20"), publication_year=1980),
    }
    by_id = {book.pk: key for key, book in books.items()}
    assert [by_id[i] for i in ids(api_client.get(f"/api/books/?ordering={ordering}"))] == expected


@pytest.mark.parametrize(
    "ordering", ["publication_year", "-publication_year", "published_year", "-published_year"]
)
def test_books_without_a_year_sort_last_both_ways(api_client, ordering):
    """On both databases (PostgreSQL alone puts nulls first when descending)."""
    undated = BookFactory(title="Undated", publication_year=None)
    old = BookFactory(title="Old", publication_year=1850)
    new = BookFactory(title="New", publication_year=1990)
    expected = [new.pk, old.pk] if ordering.startswith("-") else [old.pk, new.pk]
    assert ids(api_client.get(f"/api/books/?ordering={ordering}")) == [*expected, undated.pk]


def test_year_ordering_combines_with_other_keys(api_client):
    first = BookFactory(title="B", price=Decimal("5"), publication_year=2000)
    second = BookFactory(title="A", price=Decimal("5"), publication_year=None)
    third = BookFactory(title="C", price=Decimal("9"), publication_year=1900)
    response = api_client.get("/api/books/?ordering=price,-publication_year")
    assert ids(response) == [first.pk, second.pk, third.pk]


def test_unknown_ordering_key_is_a_400(api_client):
    response = api_client.get("/api/books/?ordering=publication_years")
    assert response.status_code == 400
    assert "ordering" in str(response.json())


def test_page_size_is_clamped_to_100(api_client):
    BookFactory.create_batch(3)
    body = api_client.get("/api/books/?page_size=100000").json()
    assert body["count"] == 3
    assert len(body["results"]) == 3
    assert len(api_client.get("/api/books/?page_size=2").json()["results"]) == 2


def test_search_finds_title_author_and_isbn(api_client):
    tolkien = AuthorFactory(name="J.R.R. Tolkien")
    hobbit = BookFactory(title="The Hobbit", authors=[tolkien], isbn13="9780261102217")
    BookFactory(title="Dune")
    assert ids(api_client.get("/api/books/?search=hobbit")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?search=Tolkien")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?search=978-0-261-10221-7")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?search=0261102214")) == [hobbit.pk]
    assert ids(api_client.get("/api/books/?search=zzzz")) == []


def test_search_finds_genre_names(api_client):
    horror = GenreFactory(name="Horror")
    book = BookFactory(title="It", genres=[horror])
    BookFactory(title="Emma")
    assert ids(api_client.get("/api/books/?search=horror")) == [book.pk]


# --- Bad input -------------------------------------------------------------------------------

LONG = "x" * 10_000


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("min_price=cheap", "min_price"),
        ("max_price=NaN", "max_price"),
        ("min_price=-1", "min_price"),
        ("min_price=20&max_price=10", "min_price"),
        ("published_after=2000&published_before=1990", "published_after"),
        ("published_after=1e400", "published_after"),
        ("ordering=stock_quantity", "ordering"),
        ("ordering=-reserved_quantity", "ordering"),
        ("in_stock=maybe", "in_stock"),
        (f"search={LONG}", "search"),
        (f"author={LONG}", "author"),
        (f"genre={LONG}", "genre"),
        (f"language={LONG}", "language"),
        (f"min_price={'9' * 10_000}", "min_price"),
    ],
)
def test_bad_query_parameters_are_400_with_the_field(api_client, query, field):
    BookFactory()
    body = assert_problem(api_client.get(f"/api/books/?{query}"), 400, "validation_error")
    assert field in field_errors(body)


@pytest.mark.parametrize("query", ["page=999", f"page_size={LONG}", "page_size=-5", "page_size=0"])
def test_out_of_range_paging_is_never_an_error_page(api_client, query):
    BookFactory()
    response = api_client.get(f"/api/books/?{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1


def test_page_beyond_the_last_is_empty(api_client):
    BookFactory()
    assert api_client.get("/api/books/?page=5").json()["results"] == []


@pytest.mark.parametrize("page", ["abc", LONG, "-1"])
def test_malformed_page_is_400(api_client, page):
    assert_problem(api_client.get(f"/api/books/?page={page}"), 400, "validation_error")


@pytest.mark.parametrize("path", ["/api/books/?search=a%00b", "/api/books/?genre=%00"])
def test_nul_bytes_are_400(api_client, path):
    assert_problem(api_client.get(path), 400, "validation_error")


@pytest.mark.parametrize("book_id", ["abc", "99999999999999999999999", "0"])
def test_unknown_book_ids_are_404(api_client, book_id):
    assert_problem(api_client.get(f"/api/books/{book_id}/"), 404, "not_found")


# --- Query budget ----------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [10, 100])
def test_list_query_count_does_not_grow_with_the_page(
    api_client, django_assert_max_num_queries, page_size
):
    genres = GenreFactory.create_batch(2)
    for _ in range(100):
        BookFactory(authors=AuthorFactory.create_batch(2), genres=genres)
    # The count and the page: authors and genres are stored on the books.
    with django_assert_max_num_queries(2):
        response = api_client.get(f"/api/books/?page_size={page_size}")
    results = response.json()["results"]
    assert len(results) == page_size
    assert all(len(book["authors"]) == 2 and len(book["genres"]) == 2 for book in results)


def test_detail_query_budget(api_client, django_assert_max_num_queries):
    book = BookFactory(authors=AuthorFactory.create_batch(3), genres=GenreFactory.create_batch(2))
    with django_assert_max_num_queries(1):
        body = api_client.get(f"/api/books/{book.pk}/").json()
    assert len(body["authors"]) == 3
    assert len(body["genres"]) == 2


# --- Staff management ------------------------------------------------------------------------


def book_payload(**overrides):
    payload = {
        "title": "The Left Hand of Darkness",
        "authors": ["Ursula K. Le Guin"],
        "genres": ["Science Fiction"],
        "isbn13": "0-441-47812-3",
        "price": "14.99",
        "stock_quantity": 6,
        "publication_year": 1969,
        "language": "en",
    }
    payload.update(overrides)
    return payload


def test_staff_create_book_with_new_and_existing_authors(staff_client):
    existing = AuthorFactory(name="Existing Writer")
    response = staff_client.post(
        "/api/books/", book_payload(authors=["Ursula K. Le Guin", existing.pk])
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["isbn13"] == "9780441478125"  # converted from the ISBN-10
    assert [a["name"] for a in body["authors"]] == ["Ursula K. Le Guin", "Existing Writer"]
    assert body["stock_quantity"] == 6
    assert body["reserved_quantity"] == 0
    book = Book.objects.get(pk=body["id"])
    assert book.authors_text == "Ursula K. Le Guin, Existing Writer"
    assert Author.objects.filter(slug="ursula-k-le-guin").exists()
    assert Genre.objects.filter(name="Science Fiction").exists()


def test_staff_create_reuses_authors_by_name_case_insensitively(staff_client):
    AuthorFactory(name="Octavia E. Butler")
    staff_client.post("/api/books/", book_payload(authors=["octavia e. butler"], isbn13=None))
    assert Author.objects.filter(name__iexact="Octavia E. Butler").count() == 1


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"isbn13": "9780441478126"}, "isbn13"),  # bad checksum
        ({"price": "0"}, "price"),
        ({"price": "-3"}, "price"),
        ({"price": "abc"}, "price"),
        ({"authors": []}, "authors"),
        ({"authors": [999999]}, "authors.0"),
        ({"authors": [True]}, "authors.0"),
        ({"stock_quantity": -1}, "stock_quantity"),
        ({"title": ""}, "title"),
        ({"title": "a\x00b"}, "title"),
    ],
)
def test_staff_create_bad_input(staff_client, overrides, field):
    body = assert_problem(
        staff_client.post("/api/books/", book_payload(**overrides)), 400, "validation_error"
    )
    assert field in field_errors(body)
    assert not Book.objects.exists()


def test_duplicate_isbn_is_refused(staff_client):
    BookFactory(isbn13="9780441478125")
    body = assert_problem(staff_client.post("/api/books/", book_payload()), 400, "validation_error")
    assert field_errors(body) == {"isbn13"}


def test_staff_partial_update_and_stock_rule(staff_client):
    book = BookFactory(stock_quantity=10, reserved_quantity=4)
    response = staff_client.patch(f"/api/books/{book.pk}/", {"price": "9.99", "stock_quantity": 5})
    assert response.status_code == 200
    book.refresh_from_db()
    assert (book.price, book.stock_quantity, book.reserved_quantity) == (Decimal("9.99"), 5, 4)

    refused = staff_client.patch(f"/api/books/{book.pk}/", {"stock_quantity": 3})
    assert field_errors(assert_problem(refused, 400, "validation_error")) == {"stock_quantity"}
    book.refresh_from_db()
    assert book.stock_quantity == 5


def test_reserved_quantity_cannot_be_written(staff_client):
    book = BookFactory(stock_quantity=10, reserved_quantity=4)
    staff_client.patch(f"/api/books/{book.pk}/", {"reserved_quantity": 0, "title": "Renamed"})
    book.refresh_from_db()
    assert (book.reserved_quantity, book.title) == (4, "Renamed")


def test_staff_archive_and_delete(staff_client, api_client):
    book = BookFactory()
    staff_client.patch(f"/api/books/{book.pk}/", {"is_active": False})
    assert_problem(api_client.get(f"/api/books/{book.pk}/"), 404)
    assert staff_client.delete(f"/api/books/{book.pk}").status_code == 204
    assert not Book.objects.filter(pk=book.pk).exists()


def test_customers_cannot_manage_books(user_client, api_client):
    book = BookFactory()
    assert_problem(user_client.post("/api/books/", book_payload()), 403, "permission_denied")
    assert_problem(user_client.patch(f"/api/books/{book.pk}/", {"price": "1"}), 403)
    assert_problem(user_client.delete(f"/api/books/{book.pk}/"), 403)
    assert_problem(api_client.post("/api/books/", book_payload()), 401, "not_authenticated")
    book.refresh_from_db()
    assert book.price == Decimal("12.50")


def test_authors_and_genres_lists_and_staff_management(api_client, staff_client, user_client):
    AuthorFactory(name="Mary Shelley")
    assert [a["name"] for a in api_client.get("/api/authors/?search=shel").json()["results"]] == [
        "Mary Shelley"
    ]
    created = staff_client.post("/api/genres/", {"name": "Gothic Fiction"})
    assert created.status_code == 201
    assert created.json()["slug"] == "gothic-fiction"
    assert_problem(user_client.post("/api/genres/", {"name": "Nope"}), 403)
    assert api_client.get("/api/genres").json()["count"] == 1


def test_renaming_an_author_updates_their_books(staff_client, api_client):
    author = AuthorFactory(name="Old Name")
    book = BookFactory(authors=[AuthorFactory(name="Co Writer"), author])
    assert staff_client.put(f"/api/authors/{author.pk}/", {"name": "New Name"}).status_code == 200
    book.refresh_from_db()
    assert book.authors_text == "Co Writer, New Name"
    shown = api_client.get(f"/api/books/{book.pk}/").json()["authors"]
    assert [(a["id"], a["name"]) for a in shown][1] == (author.pk, "New Name")


def test_renaming_or_deleting_a_genre_updates_its_books(staff_client, api_client):
    poetry, drama = GenreFactory(name="Poetry"), GenreFactory(name="Drama")
    book = BookFactory(genres=[poetry, drama])
    assert [g["name"] for g in api_client.get(f"/api/books/{book.pk}/").json()["genres"]] == [
        "Drama",
        "Poetry",
    ]
    assert staff_client.put(f"/api/genres/{poetry.pk}/", {"name": "Verse"}).status_code == 200
    assert [g["name"] for g in api_client.get(f"/api/books/{book.pk}/").json()["genres"]] == [
        "Drama",
        "Verse",
    ]
    assert staff_client.delete(f"/api/genres/{drama.pk}/").status_code == 204
    genres = api_client.get(f"/api/books/{book.pk}/").json()["genres"]
    assert genres == [{"id": poetry.pk, "name": "Verse", "slug": poetry.slug}]


def test_staff_edits_of_authors_and_genres_show_in_the_list(staff_client, api_client):
    book = BookFactory(authors=[AuthorFactory(name="First Writer")])
    response = staff_client.patch(
        f"/api/books/{book.pk}/", {"authors": ["Second Writer"], "genres": ["Essays"]}
    )
    assert response.status_code == 200, response.content
    assert [a["name"] for a in response.json()["authors"]] == ["Second Writer"]
    listed = api_client.get("/api/books/").json()["results"][0]
    assert [a["name"] for a in listed["authors"]] == ["Second Writer"]
    assert [g["slug"] for g in listed["genres"]] == ["essays"]


def test_author_with_books_cannot_be_deleted(staff_client):
    author = AuthorFactory()
    BookFactory(authors=[author])
    assert_problem(staff_client.delete(f"/api/authors/{author.pk}/"), 400, "validation_error")
    assert Author.objects.filter(pk=author.pk).exists()


# --- Cover addresses ---------------------------------------------------------------------------

UNSAFE_COVERS = [
    'https://example.com/"><script>alert(1)</script>',
    "https://example.com/a'onerror='alert(1)",
    "https://example.com/a b.jpg",
    "https://example.com/<img>",
    "javascript:alert(1)",
    "data:image/png;base64,AAAA",
    "ftp://files.example.com/cover.jpg",
    "https://example.com/a\\b.jpg",
    "//x/cover.jpg",
]


@pytest.mark.parametrize("url", UNSAFE_COVERS)
def test_cover_addresses_must_be_plain_http_urls(staff_client, url):
    book = BookFactory(cover_image_url="https://images.example.com/1.jpg")
    body = assert_problem(
        staff_client.patch(f"/api/books/{book.pk}/", {"cover_image_url": url}),
        400,
        "validation_error",
    )
    assert field_errors(body) == {"cover_image_url"}
    body = assert_problem(
        staff_client.post(
            "/api/books/",
            {"title": "T", "authors": ["A"], "price": "1.00", "cover_image_url": url},
        ),
        400,
    )
    assert field_errors(body) == {"cover_image_url"}
    book.refresh_from_db()
    assert book.cover_image_url == "https://images.example.com/1.jpg"
    assert Book.objects.count() == 1


def test_ordinary_cover_addresses_are_accepted(staff_client):
    book = BookFactory()
    for url in (
        "https://images.example.com/c/1%20x.jpg?size=L&v=2",
        "http://example.com/c.png",
        "",
    ):
        response = staff_client.patch(f"/api/books/{book.pk}/", {"cover_image_url": url})
        assert response.status_code == 200, response.json()
        assert response.json()["cover_image_url"] == url
