"""Bugs the schema fuzzing found, kept fixed."""

import pytest
from drf_spectacular.generators import SchemaGenerator

from catalog.tests.factories import BookFactory
from orders import services as order_services

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def components():
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]


def test_an_order_without_a_discount_code_matches_the_schema(user_client, components):
    order = order_services.order_place(
        user=user_client.user, items=[{"book": BookFactory().pk, "quantity": 1}]
    )
    body = user_client.get(f"/api/orders/{order.pk}/").json()
    assert body["discount_code"] is None
    assert components["Order"]["properties"]["discount_code"].get("nullable") is True


def test_a_book_without_a_cover_matches_the_schema(api_client, components):
    book = BookFactory(cover_image_url="")
    assert api_client.get(f"/api/books/{book.pk}/").json()["cover_image_url"] == ""
    assert components["Book"]["properties"]["cover_image_url"].get("format") != "uri"


@pytest.mark.parametrize("query", ["min_price=abc", "ordering=nope", "published_after=x"])
def test_filter_errors_always_carry_a_code(api_client, query):
    body = api_client.get(f"/api/books/?{query}").json()
    assert body["errors"]
    assert all(isinstance(error["code"], str) and error["code"] for error in body["errors"])


def test_range_errors_have_their_own_code(api_client):
    body = api_client.get("/api/books/?published_after=1&published_before=0").json()
    assert body["errors"] == [
        {
            "field": "published_after",
            "code": "invalid_range",
            "message": "published_after must not be greater than published_before.",
        }
    ]


LONG = "9" * 10_000


@pytest.mark.parametrize(
    "path",
    [
        f"/api/books/{LONG}/",
        f"/api/authors/{'x' * 10_000}/",
        f"/api/orders/{LONG}/",
        f"/api/payments/{LONG}/",
        "/api/books/-1/",
        "/api/books/1e5/",
    ],
)
def test_long_or_odd_ids_in_the_path_are_404(staff_client, path):
    response = staff_client.get(path)
    assert response.status_code == 404


@pytest.mark.parametrize("path", ["/api/books/1%00/", "/api/orders/%00/", "/api/books/?q=%00"])
def test_nul_bytes_in_the_path_are_400(staff_client, path):
    assert staff_client.get(path).status_code == 400


@pytest.mark.parametrize(
    "query",
    [f"search={'a' * 10_000}", f"ordering={'x' * 10_000}", f"page={LONG}", f"in_stock={LONG}"],
)
def test_very_long_query_values_are_400_not_500(api_client, query):
    assert api_client.get(f"/api/books/?{query}").status_code == 400
