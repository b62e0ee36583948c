"""Facet counts beside the book list (GET /api/books/?facets=...), on both databases: every count
against the same count computed the slow way, over every book in Python."""

import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from catalog import checks
from catalog.facets import FACETS, TOP_GENRES
from catalog.models import Book
from catalog.tests.factories import BookFactory, GenreFactory

pytestmark = pytest.mark.django_db

EVERY_FACET = ",".join(FACETS)
# A word only some titles have, which no other word of the catalogue starts with.
WORD = "wyvern"


@pytest.fixture
def catalogue():
    """Forty books spread over genres, languages, prices and decades; some archived."""
    chance = random.Random(28)
    genres = [GenreFactory(name=name) for name in ("Fantasy", "Horror", "Poetry", "History")]
    for number in range(40):
        BookFactory(
            title=f"{'The ' + WORD.title() + ' ' if number % 3 == 0 else ''}Story {number}",
            genres=chance.sample(genres, chance.randint(0, 2)),
            language=chance.choice(["eng", "en-US", "fre", ""]),
            price=chance.choice([Decimal("4.99"), Decimal("10.00"), Decimal("19.99"), 25, 80]),
            publication_year=chance.choice([None, 1899, 1950, 1957, 2001, 2010, 2019]),
            is_active=number % 7 != 0,
        )


def slow_facets(params):
    """The facets of `params` (a dict of the list's filters), the slow way: each facet over
    every active book that passes every filter but the facet's own."""
    own = {
        "genre": {"genre"},
        "language": {"language"},
        "price": {"min_price", "max_price"},
        "publication_year": {"published_after", "published_before"},
    }
    books = list(Book.objects.filter(is_active=True).prefetch_related("genres"))

    def passes(book, name):
        value = params[name]
        return {
            "search": lambda: value in book.title.lower(),
            "genre": lambda: value in {genre.slug for genre in book.genres.all()},
            "language": lambda: book.language.lower() == value.lower(),
            "min_price": lambda: book.price >= Decimal(value),
            "max_price": lambda: book.price <= Decimal(value),
            "published_after": lambda: (book.publication_year or -9999) >= int(value),
            "published_before": lambda: (
                book.publication_year is not None and book.publication_year <= int(value)
            ),
        }[name]()

    def found(facet):
        return [
            book
            for book in books
            if all(passes(book, name) for name in params if name not in own[facet])
        ]

    genre_counts = {}
    for book in found("genre"):
        for genre in book.genres.all():
            genre_counts[genre.slug, genre.name] = genre_counts.get((genre.slug, genre.name), 0) + 1
    language_counts, decade_counts = {}, {}
    for book in found("language"):
        if book.language:
            language_counts[book.language] = language_counts.get(book.language, 0) + 1
    for book in found("publication_year"):
        if book.publication_year is not None:
            decade = book.publication_year // 10 * 10
            decade_counts[decade] = decade_counts.get(decade, 0) + 1
    priced = found("price")
    bounds = [None, Decimal(10), Decimal(20), Decimal(50), None]
    return {
        "genre": [
            {"slug": slug, "name": name, "count": count}
            for (slug, name), count in sorted(
                genre_counts.items(), key=lambda item: (-item[1], item[0][1])
            )
        ][:TOP_GENRES],
        "language": [
            {"code": code, "count": count}
            for code, count in sorted(language_counts.items(), key=lambda item: (-item[1], item[0]))
        ],
        "price": [
            {
                "min": f"{low or 0:.2f}",
                "max": None if high is None else f"{high:.2f}",
                "count": sum(
                    (low is None or book.price >= low) and (high is None or book.price < high)
                    for book in priced
                ),
            }
            for low, high in zip(bounds, bounds[1:], strict=False)
        ],
        "publication_year": [
            {"decade": decade, "count": decade_counts[decade]} for decade in sorted(decade_counts)
        ],
    }


def facets_of(client, params):
    response = client.get("/api/books/", {**params, "facets": EVERY_FACET})
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"search": WORD},
        {"genre": "fantasy"},
        {"language": "ENG"},
        {"min_price": "10", "max_price": "20"},
        {"published_after": "1950", "published_before": "2010"},
        {"search": WORD, "genre": "horror", "min_price": "15"},
        {"search": WORD, "language": "fre", "published_before": "2001", "genre": "poetry"},
    ],
)
def test_facet_counts_are_those_counted_over_every_book(api_client, catalogue, params):
    page = facets_of(api_client, params)
    assert page["facets"] == slow_facets(params)


def test_a_facets_own_filter_is_left_out_of_its_counts(api_client):
    fantasy, horror = GenreFactory(name="Fantasy"), GenreFactory(name="Horror")
    BookFactory(genres=[fantasy], language="eng")
    BookFactory(genres=[fantasy], language="fre")
    BookFactory(genres=[horror], language="eng")

    page = facets_of(api_client, {"genre": "fantasy"})

    assert page["count"] == 2
    # Other genres stay on offer beside the one picked; the languages are fantasy books'.
    assert page["facets"]["genre"] == [
        {"slug": "fantasy", "name": "Fantasy", "count": 2},
        {"slug": "horror", "name": "Horror", "count": 1},
    ]
    assert page["facets"]["language"] == [
        {"code": "eng", "count": 1},
        {"code": "fre", "count": 1},
    ]


def test_facets_combine_with_search_on_the_customers_page(api_client, catalogue):
    """A search with facets keeps the customers' one-query search page, and counts beside it."""
    plain = api_client.get("/api/books/", {"search": WORD}).json()
    with_facets = facets_of(api_client, {"search": WORD})
    assert with_facets["results"] == plain["results"]
    assert with_facets["count"] == plain["count"]
    assert sum(facet["count"] for facet in with_facets["facets"]["price"]) == plain["count"]


def test_only_the_facets_asked_for_are_counted(api_client, catalogue):
    page = api_client.get("/api/books/", {"facets": "language,price,language"}).json()
    assert list(page["facets"]) == ["language", "price"]
    assert api_client.get("/api/books/", {"facets": ""}).json()["facets"] == {}


def test_without_facets_the_list_answers_and_queries_as_before(api_client, catalogue):
    with CaptureQueriesContext(connection) as plain:
        page = api_client.get("/api/books/", {"search": WORD}).json()
    assert "facets" not in page
    assert not any("json_agg" in query["sql"] for query in plain)
    with CaptureQueriesContext(connection) as faceted:
        faceted_page = api_client.get("/api/books/", {"search": WORD, "facets": "price"}).json()
    assert {key: value for key, value in faceted_page.items() if key != "facets"} == page
    if connection.vendor == "postgresql":
        # The facets come with the page, from the same statement: the matches are read once.
        assert len(faceted) == len(plain)
    else:
        # The same page queries, then the facets'.
        sqls = [query["sql"] for query in faceted]
        assert sqls[: len(plain)] == [query["sql"] for query in plain]
        assert len(faceted) == len(plain) + 1


def test_a_corrected_search_counts_the_facets_of_what_it_found(api_client, catalogue):
    typed = facets_of(api_client, {"search": "wyvren"})
    assert typed["count"] == facets_of(api_client, {"search": WORD})["count"] > 0
    assert typed["facets"] == slow_facets({"search": WORD})
    nothing = facets_of(api_client, {"search": "qqxzzv"})
    assert nothing["count"] == 0 and nothing["results"] == []
    assert all(bucket["count"] == 0 for bucket in nothing["facets"]["price"])
    assert nothing["facets"]["genre"] == nothing["facets"]["language"] == []


def test_an_unknown_facet_is_a_problem_naming_it(api_client, catalogue):
    response = api_client.get("/api/books/", {"facets": "genre,colour"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert problem["errors"][0]["field"] == "facets"
    assert "'colour'" in problem["errors"][0]["message"]


@override_settings(FACET_PRICE_BUCKETS=[Decimal("15")])
def test_price_buckets_come_from_settings(api_client, catalogue):
    buckets = api_client.get("/api/books/", {"facets": "price"}).json()["facets"]["price"]
    assert [(bucket["min"], bucket["max"]) for bucket in buckets] == [
        ("0.00", "15.00"),
        ("15.00", None),
    ]
    assert sum(bucket["count"] for bucket in buckets) == Book.objects.active().count()


def test_staff_facets_count_archived_books(api_client, staff_user, catalogue):
    api_client.force_authenticate(staff_user)
    buckets = api_client.get("/api/books/", {"facets": "price"}).json()["facets"]["price"]
    assert sum(bucket["count"] for bucket in buckets) == Book.objects.count()


def test_the_schema_documents_the_parameter_and_the_facets_object(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/books/"]["get"]
    assert "facets" in {parameter["name"] for parameter in operation["parameters"]}
    page = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][page["$ref"].rsplit("/", 1)[-1]]
    assert set(page["properties"]["facets"]["properties"]) == set(FACETS)


def test_lists_asking_for_facets_are_throttled_and_plain_lists_are_not(
    api_client, throttle_rates, catalogue
):
    throttle_rates(facets="1/hour")
    for _ in range(3):
        assert api_client.get("/api/books/").status_code == 200
    assert api_client.get("/api/books/", {"facets": "genre"}).status_code == 200
    refused = api_client.get("/api/books/", {"facets": "price"})
    assert refused.status_code == 429
    assert refused.json()["code"] == "throttled"


@pytest.mark.parametrize(
    ("bounds", "errors"),
    [(["10", "20", "50"], 0), (["5"], 0), ([], 0), (["20", "10"], 1), (["0", "10"], 1)],
)
def test_price_buckets_must_rise_from_above_zero(bounds, errors):
    with override_settings(FACET_PRICE_BUCKETS=[Decimal(bound) for bound in bounds]):
        assert len(checks.facet_price_buckets(None)) == errors


@override_settings(FACETS_CACHE_SECONDS=60)
def test_facet_counts_are_shared_between_readers_for_a_while(api_client, user_client, catalogue):
    asked = {"search": WORD, "facets": "price"}
    first = api_client.get("/api/books/", asked).json()
    BookFactory(title=f"Another {WORD}", price=Decimal("1.00"))

    later = user_client.get("/api/books/", asked).json()
    assert later["facets"] == first["facets"]  # shared, the new book not counted yet
    assert later["count"] == first["count"] + 1  # the page is not
    other = user_client.get("/api/books/", {**asked, "in_stock": "true"}).json()
    assert sum(bucket["count"] for bucket in other["facets"]["price"]) == other["count"]


@override_settings(CATALOGUE_CACHE_SECONDS=60)
def test_a_search_whose_count_is_shared_still_counts_its_facets(user_client, catalogue):
    """The second reader's page is read without counting (the count is shared): its facets
    are counted all the same, over the same matches."""
    asked = {"search": WORD, "facets": EVERY_FACET}
    first = user_client.get("/api/books/", asked).json()
    with CaptureQueriesContext(connection) as second_queries:
        second = user_client.get("/api/books/", asked).json()
    assert second == first
    assert second["facets"] == slow_facets({"search": WORD})
    assert not any("COUNT(*) OVER" in query["sql"] for query in second_queries)


@override_settings(CATALOGUE_CACHE_SECONDS=60)
def test_a_page_past_the_last_with_a_shared_count_ranks_nothing_twice(user_client, catalogue):
    asked = {"search": WORD, "facets": EVERY_FACET}
    first = user_client.get("/api/books/", asked).json()  # shares the count
    from unittest import mock

    from catalog.search import queries

    with mock.patch.object(queries, "_ranked_page", wraps=queries._ranked_page) as ranked:
        past = user_client.get("/api/books/", {**asked, "page": 99}).json()
    assert (past["count"], past["results"]) == (first["count"], [])
    assert past["facets"] == first["facets"] == slow_facets({"search": WORD})
    assert ranked.call_count == 1
