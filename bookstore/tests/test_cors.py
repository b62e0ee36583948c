"""Browser storefronts on the listed origins may call the API; other origins may not."""

import pytest

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SHOP = "https://shop.example.com"
EVIL = "https://evil.example.net"


@pytest.fixture(autouse=True)
def allowed_origins(settings):
    settings.CORS_ALLOWED_ORIGINS = [SHOP]


def preflight(client, origin, path="/api/orders/", method="POST", headers=None):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD=method,
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS=headers
        or "authorization, content-type, idempotency-key",
    )


def test_preflight_from_an_allowed_origin(client):
    response = preflight(client, SHOP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key"} <= allowed
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert response["Access-Control-Max-Age"] == "86400"
    assert "Access-Control-Allow-Credentials" not in response


def test_preflight_from_a_refused_origin(client):
    response = preflight(client, EVIL)
    assert "Access-Control-Allow-Origin" not in response


def test_real_request_from_an_allowed_origin(client):
    response = client.get("/api/books/", HTTP_ORIGIN=SHOP)
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == SHOP
    assert "Idempotent-Replayed" in response["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response


def test_real_request_with_a_token_from_an_allowed_origin(client):
    user = UserFactory()
    tokens = client.post(
        "/api/users/login/",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        content_type="application/json",
        HTTP_ORIGIN=SHOP,
    )
    assert tokens["Access-Control-Allow-Origin"] == SHOP
    me = client.get(
        "/api/users/me/",
        HTTP_ORIGIN=SHOP,
        HTTP_AUTHORIZATION=f"Bearer {tokens.json()['access']}",
    )
    assert me.status_code == 200
    assert me["Access-Control-Allow-Origin"] == SHOP


def test_real_request_from_a_refused_origin_gets_no_cors_headers(client):
    response = client.get("/api/books/", HTTP_ORIGIN=EVIL)
    assert "Access-Control-Allow-Origin" not in response


def test_error_answers_carry_cors_headers_too(client):
    response = client.get("/api/users/me/", HTTP_ORIGIN=SHOP)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == SHOP


def test_no_origin_is_allowed_by_default(client, settings):
    settings.CORS_ALLOWED_ORIGINS = []
    assert "Access-Control-Allow-Origin" not in preflight(client, SHOP)
    assert "Access-Control-Allow-Origin" not in client.get("/api/books/", HTTP_ORIGIN=SHOP)


def test_admin_and_pages_are_not_opened_to_other_origins(client):
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN=SHOP)
