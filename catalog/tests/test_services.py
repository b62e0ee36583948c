"""The catalogue's write services: one way to find authors by name and one slug rule, whoever
writes books (the API, the admin, the CSV import)."""

import hashlib
from decimal import Decimal

import pytest

from catalog import services
from catalog.importer import books_import
from catalog.models import Author, Book, Genre
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = pytest.mark.django_db


def sha1_slug(kind, name):
    return f"{kind}-" + hashlib.sha1(name.encode()).hexdigest()[:8]


def import_row(book_id, authors):
    return {
        "book_id": str(book_id),
        "isbn13": "",
        "authors": authors,
        "original_publication_year": "2001.0",
        "title": f"Imported {book_id}",
        "language_code": "eng",
        "average_rating": "4.0",
        "ratings_count": "10",
        "image_url": "",
    }


def test_names_without_ascii_letters_get_the_same_slug_from_the_services_and_the_import():
    by_staff = services.author_create(name="村上 春樹")
    genre = services.genre_create(name="小説")
    books_import(rows_or_file=[import_row(1, "夏目 漱石")])

    assert by_staff.slug == sha1_slug("author", "村上 春樹")
    assert genre.slug == sha1_slug("genre", "小説")
    assert Author.objects.get(name="夏目 漱石").slug == sha1_slug("author", "夏目 漱石")


def test_a_taken_slug_gets_the_next_free_number_on_every_path():
    AuthorFactory(name="Someone Else", slug="ann-smith")
    AuthorFactory(name="Another One", slug="ann-smith-2")

    created = services.author_create(name="Ann Smith")
    books_import(rows_or_file=[import_row(1, "ANN  SMITH, Bob Jones")])

    assert created.slug == "ann-smith-3"
    # The import found Ann Smith (case and spacing aside) rather than making a fourth one.
    assert Author.objects.filter(slug__startswith="ann-smith").count() == 3
    assert Book.objects.get(source_id=1).authors_text == "Ann Smith, Bob Jones"


def test_authors_get_or_create_matches_names_ignoring_case_and_creates_the_rest():
    existing = AuthorFactory(name="Ursula K. Le Guin", slug="le-guin-by-hand")

    found = services.authors_get_or_create(names=["ursula k. le guin", "Iain M. Banks"])

    assert found["ursula k. le guin"] == existing
    assert found["iain m. banks"].slug == "iain-m-banks"
    assert Author.objects.count() == 2


def test_books_from_the_api_and_the_import_share_authors_by_name():
    book = services.book_create(
        title="Dispossessed", price=Decimal("9.99"), authors=["Ursula K. Le Guin"]
    )
    books_import(rows_or_file=[import_row(7, "URSULA K. LE GUIN")])

    imported = Book.objects.get(source_id=7)
    assert list(imported.authors.all()) == list(book.authors.all())
    assert Author.objects.count() == 1


def test_renaming_an_author_or_a_genre_renews_the_books_that_show_it():
    book = services.book_create(
        title="Emma", price=Decimal("5.00"), authors=["Jane Austen"], genres=["Romance"]
    )
    services.author_update(author=Author.objects.get(), name="  Jane   Austen ", slug="austen")
    services.genre_update(genre=Genre.objects.get(), name="Classics")

    book.refresh_from_db()
    assert book.authors_text == "Jane Austen"
    assert book.author_list[0]["slug"] == "austen"
    assert [genre["name"] for genre in book.genre_list] == ["Classics"]


def test_book_genres_fill_gives_genres_by_source_id_and_keeps_staff_genres(api_client):
    shelved = BookFactory(source_id=1)
    staff_chose = BookFactory(source_id=2, genres=[GenreFactory(name="Poetry", slug="poetry")])
    unshelved = BookFactory(source_id=3)
    staff_book = BookFactory(source_id=None)

    filled = services.book_genres_fill(
        genres_by_source_id={1: ["Fantasy", "Young Adult"], 2: ["Classics"], 9: ["Horror"]}
    )

    assert filled == 1
    assert sorted(shelved.genres.values_list("slug", flat=True)) == ["fantasy", "young-adult"]
    assert list(staff_chose.genres.values_list("name", flat=True)) == ["Poetry"]
    assert not unshelved.genres.exists() and not staff_book.genres.exists()
    assert not Genre.objects.filter(name__in=["Classics", "Horror"]).exists()
    shelved.refresh_from_db()
    assert [genre["name"] for genre in shelved.genre_list] == ["Fantasy", "Young Adult"]
    found = api_client.get("/api/books/?genre=young-adult").json()["results"]
    assert [book["id"] for book in found] == [shelved.pk]
    assert [
        book["id"] for book in api_client.get("/api/books/?search=fantasy").json()["results"]
    ] == [shelved.pk]

    assert services.book_genres_fill(genres_by_source_id={1: ["Horror"]}) == 0  # already has some
