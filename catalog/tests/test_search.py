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


def test_search_pages_count_every_match_in_the_page_query(
    api_client, django_assert_max_num_queries
):
    writer = AuthorFactory(name="Prolific Writer")
    for number in range(25):
        BookFactory(title=f"Lighthouse {number}", authors=[writer])
    BookFactory(title="Something Else")

    # Whether anything matches as typed, the page's ids with the count of every match, the
    # page's books.
    with django_assert_max_num_queries(3):
        third = api_client.get("/api/books/", {"search": "lighthouse", "page_size": 10, "page": 3})
    body = third.json()
    assert body["count"] == 25
    assert len(body["results"]) == 5
    assert body["next"] is None
    assert "page=2" in body["previous"]
    assert [a["name"] for a in body["results"][0]["authors"]] == ["Prolific Writer"]

    first = api_client.get("/api/books/", {"search": "lighthouse", "page_size": 10}).json()
    assert first["count"] == 25
    assert "page=2" in first["next"]
    every_page = [
        book["id"]
        for page in (1, 2, 3)
        for book in api_client.get(
            "/api/books/", {"search": "lighthouse", "page_size": 10, "page": page}
        ).json()["results"]
    ]
    assert len(set(every_page)) == 25

    beyond = api_client.get("/api/books/", {"search": "lighthouse", "page_size": 10, "page": 4})
    assert beyond.json()["count"] == 25
    assert beyond.json()["results"] == []

    # Nothing as typed, no closer words, an empty first page: no separate count.
    with django_assert_max_num_queries(3):
        nothing = api_client.get("/api/books/", {"search": "zzqxv"}).json()
    assert (nothing["count"], nothing["results"], nothing["next"]) == (0, [], None)

    by_price = api_client.get(
        "/api/books/", {"search": "lighthouse", "ordering": "price", "page": 2}
    ).json()
    assert (by_price["count"], len(by_price["results"])) == (25, 5)
