"""The ranking spec and suggestions, on whichever database the suite runs on."""

import pytest

from catalog.models import Book
from catalog.search import is_collection_title, normalise, split_title
from catalog.tests.factories import AuthorFactory, BookFactory


def titles(client, text, **params):
    response = client.get("/api/books/", {"search": text, **params})
    assert response.status_code == 200, response.content
    return [book["title"] for book in response.json()["results"]]


def test_series_is_parsed_from_goodreads_titles():
    assert split_title("Catching Fire (The Hunger Games, #2)") == (
        "Catching Fire",
        [("The Hunger Games", "2", False)],
    )
    assert split_title("The Shining (The Shining #1)") == (
        "The Shining",
        [("The Shining", "1", False)],
    )
    assert split_title("Mort (Death, #1; Discworld, #4)") == (
        "Mort",
        [("Death", "1", False), ("Discworld", "4", False)],
    )
    assert split_title("The Lord of the Rings (The Lord of the Rings, #1-3)")[1] == [
        ("The Lord of the Rings", "1", True)
    ]
    assert split_title("1984") == ("1984", [])
    assert normalise("Brontë's  Wuthering-Heights!") == "bronte s wuthering heights"


@pytest.mark.parametrize(
    ("title", "collection"),
    [
        ("The Hobbit", False),
        ("The Hobbit: Graphic Novel", True),
        ("Harry Potter Boxed Set, Books 1-5 (Harry Potter, #1-5)", True),
        ("Pride and Prejudice and Zombies (Pride and Prejudice and Zombies, #1)", True),
        ("Animal Farm / 1984", True),
        ("Good Wives (Little Women, #1.5)", True),
        ("Catching Fire (The Hunger Games, #2)", False),
        ("The Hitchhiker's Guide to the Galaxy (Hitchhiker's Guide to the Galaxy, #1)", False),
    ],
)
def test_collections_and_adaptations_are_recognised(title, collection):
    assert is_collection_title(title) is collection


@pytest.fixture
def shelf(db):
    king = AuthorFactory(name="Stephen King")
    tolkien = AuthorFactory(name="J.R.R. Tolkien")
    BookFactory(title="The Shining (The Shining #1)", authors=[king], ratings_count=790_000)
    BookFactory(title="Carrie", authors=[king], ratings_count=350_000)
    BookFactory(
        title="The Road to the Dark Tower: Exploring Stephen King's Magnum Opus",
        authors=[AuthorFactory(name="Bev Vincent")],
        ratings_count=900_000,
    )
    BookFactory(title="The Hobbit", authors=[tolkien], ratings_count=2_000_000)
    BookFactory(
        title="The Hobbit: Graphic Novel",
        authors=[AuthorFactory(name="Chuck Dixon"), tolkien],
        ratings_count=4_000_000,
    )
    BookFactory(
        title="J.R.R. Tolkien 4-Book Boxed Set: The Hobbit and The Lord of the Rings",
        authors=[tolkien],
        ratings_count=3_000_000,
    )


def test_an_author_query_ranks_the_authors_own_books_most_popular_first(api_client, shelf):
    assert titles(api_client, "stephen king")[:2] == ["The Shining (The Shining #1)", "Carrie"]


def test_a_work_ranks_above_its_adaptations_and_box_sets(api_client, shelf):
    assert titles(api_client, "the hobbit")[0] == "The Hobbit"
    assert titles(api_client, "hobbit graphic novel")[0] == "The Hobbit: Graphic Novel"


def test_typos_are_corrected_against_the_known_words(api_client, shelf):
    assert titles(api_client, "the hobit")[0] == "The Hobbit"
    assert titles(api_client, "stephen kng")[0] == "The Shining (The Shining #1)"


def test_weights_come_from_settings(api_client, shelf, settings):
    assert titles(api_client, "the hobbit")[0] == "The Hobbit"
    settings.SEARCH_RANKING = {
        **settings.SEARCH_RANKING,
        "collection_penalty": 0.0,
        "popularity": 20.0,
    }
    assert titles(api_client, "the hobbit")[0] == "The Hobbit: Graphic Novel"


@pytest.mark.django_db(transaction=True)
def test_paid_copies_raise_a_books_popularity(api_client):
    from accounts.tests.factories import UserFactory
    from orders.services import order_mark_paid, order_place

    quiet = BookFactory(title="Lighthouse Keeping", ratings_count=10, stock_quantity=50)
    loud = BookFactory(title="Lighthouse Tales", ratings_count=400, stock_quantity=50)
    assert titles(api_client, "lighthouse") == ["Lighthouse Tales", "Lighthouse Keeping"]

    order = order_place(user=UserFactory(), items=[{"book": quiet.pk, "quantity": 20}])
    order_mark_paid(order_id=order.pk)

    quiet.refresh_from_db()
    assert quiet.copies_sold == 20
    assert quiet.popularity > Book.objects.get(pk=loud.pk).popularity
    assert titles(api_client, "lighthouse") == ["Lighthouse Keeping", "Lighthouse Tales"]


def suggest(client, text):
    response = client.get("/api/books/suggest/", {"q": text})
    assert response.status_code == 200, response.content
    return [(item["type"], item["text"]) for item in response.json()["results"]]


def test_suggestions_complete_titles_and_authors_by_prefix(api_client, shelf):
    assert suggest(api_client, "stephen ki")[0] == ("author", "Stephen King")
    assert ("book", "The Shining (The Shining #1)") in suggest(api_client, "stephen ki")
    assert suggest(api_client, "hob")[0] == ("book", "The Hobbit: Graphic Novel")
    assert ("book", "The Hobbit") in suggest(api_client, "hob")
    assert suggest(api_client, "tolk")[0] == ("author", "J.R.R. Tolkien")


def test_suggestions_tolerate_typos_and_stay_short(api_client, shelf):
    assert ("author", "Stephen King") in suggest(api_client, "stephen kng")
    for number in range(15):
        BookFactory(title=f"Lighthouse {number}")
    assert len(suggest(api_client, "lighth")) == 10
    assert suggest(api_client, "") == []
    assert suggest(api_client, "zzqxv") == []


def test_suggest_rejects_what_it_cannot_take(api_client, shelf):
    response = api_client.get("/api/books/suggest/", {"q": "x" * 201})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert api_client.get("/api/books/suggest/").status_code == 400


def test_archived_books_are_not_suggested(api_client, shelf):
    Book.objects.filter(title="Carrie").update(is_active=False)
    assert ("book", "Carrie") not in suggest(api_client, "carr")


def test_sqlite_without_fts5_matches_by_substring_and_ranks_the_same(
    api_client, shelf, monkeypatch
):
    from django.db import connection

    from catalog import search

    if connection.vendor != "sqlite":
        pytest.skip("the fallback for SQLite builds without FTS5")
    monkeypatch.setattr(search, "fts5_available", lambda: False)
    assert titles(api_client, "stephen king")[:2] == ["The Shining (The Shining #1)", "Carrie"]
    assert titles(api_client, "the hobit")[0] == "The Hobbit"
    assert ("author", "J.R.R. Tolkien") in suggest(api_client, "tolk")


def test_titles_in_other_scripts_are_found(api_client, db):
    BookFactory(title="ノルウェイの森", authors=[AuthorFactory(name="村上春樹")])
    assert titles(api_client, "村上春樹") == ["ノルウェイの森"]
    assert normalise("Ünïcödé_words 'quoted' %wild%") == "unicode words quoted wild"


@pytest.mark.parametrize("head", [1, 7, 8, 40])
def test_suggestions_are_the_most_popular_matches_whether_the_popular_head_holds_them_or_not(
    api_client, db, monkeypatch, head
):
    from catalog.search import suggestions

    monkeypatch.setattr(suggestions, "POPULAR_HEAD", head)
    monkeypatch.setattr(suggestions, "_head_bounds", {})
    monkeypatch.setattr(suggestions, "SUGGESTION_POOL", 4)
    monkeypatch.setattr(suggestions, "MAX_SUGGESTIONS", 4)
    # Popular books that match nothing typed below, then matches of every popularity, two of
    # them tied; the order the slow way: every match, most popular first, newest first on a tie.
    for number in range(5):
        BookFactory(title=f"Almanac {number}", ratings_count=1_000_000 + number)
    counts = [900_000, 50, 7_000, 7_000, 3, 120_000, 10]
    books = [BookFactory(title=f"Quinceharbour {n}", ratings_count=c) for n, c in enumerate(counts)]
    expected = [
        ("book", book.title)
        for book in sorted(books, key=lambda book: (book.ratings_count, book.pk), reverse=True)
    ][:4]
    assert suggest(api_client, "quinceh") == expected
    # Where the head ends is kept for a while; books that change it meanwhile change nothing.
    newest = BookFactory(title="Quinceharbour Bestseller", ratings_count=5_000_000)
    BookFactory(title="Quinceharbour Obscure", ratings_count=0)
    assert suggest(api_client, "quinceh") == [("book", newest.title), *expected[:3]]
