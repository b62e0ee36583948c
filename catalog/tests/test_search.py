"""Search on PostgreSQL: weighted full-text ranking and typo tolerance."""

import pytest

from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres_only]


def search(client, text):
    response = client.get("/api/books/", {"search": text})
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


@pytest.fixture
def shelf():
    tolkien = AuthorFactory(name="J.R.R. Tolkien")
    rowling = AuthorFactory(name="J.K. Rowling")
    fantasy = GenreFactory(name="Fantasy")
    BookFactory(title="The Hobbit", authors=[tolkien], genres=[fantasy])
    BookFactory(title="The Fellowship of the Ring", authors=[tolkien], genres=[fantasy])
    BookFactory(
        title="Harry Potter and the Sorcerer's Stone (Harry Potter, #1)",
        authors=[rowling],
        genres=[fantasy],
    )
    BookFactory(title="Pride and Prejudice", authors=[AuthorFactory(name="Jane Austen")])
    BookFactory(
        title="A Garden Book",
        authors=[AuthorFactory(name="Nobody Famous")],
        description="Mentions a hobbit once in passing.",
    )


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("tolkein", {"The Hobbit", "The Fellowship of the Ring"}),
        ("hary poter", {"Harry Potter and the Sorcerer's Stone (Harry Potter, #1)"}),
        ("pride prejudise", {"Pride and Prejudice"}),
        ("hobit", {"The Hobbit"}),
    ],
)
def test_typos_still_find_the_book(api_client, shelf, typo, expected):
    assert expected <= set(search(api_client, typo))


def test_title_match_outranks_description_match(api_client, shelf):
    titles = search(api_client, "hobbit")
    assert titles[0] == "The Hobbit"
    assert "A Garden Book" in titles


def test_author_and_genre_words_match(api_client, shelf):
    assert set(search(api_client, "rowling")) == {
        "Harry Potter and the Sorcerer's Stone (Harry Potter, #1)"
    }
    assert len(search(api_client, "fantasy")) == 3


def test_explicit_ordering_overrides_relevance(api_client, shelf):
    titles = search(api_client, "tolkien")
    ordered = api_client.get("/api/books/", {"search": "tolkien", "ordering": "title"}).json()
    assert [b["title"] for b in ordered["results"]] == sorted(titles)


def test_search_uses_the_indexes(shelf):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'catalog_book' AND indexname IN "
            "('catalog_book_search_vector_gin', 'catalog_book_title_trgm', "
            "'catalog_book_authors_text_trgm')"
        )
        assert len(cursor.fetchall()) == 3
