"""Bearer tokens: the token's user comes from the cache, and any saved change to the user
shows on the next request (accounts/user_cache.py)."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.testing import assert_problem

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def user_cache_on(settings):
    settings.AUTH_USER_CACHE_SECONDS = 30


def signed_in(client, user):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def user_queries(client, path):
    table = User._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200, response.content
    return [query["sql"] for query in queries if table in query["sql"]]


def test_the_tokens_user_is_read_once_then_from_the_cache(api_client):
    client = signed_in(api_client, UserFactory())
    # The user, and its token version (accounts/sessions.py), each read once.
    assert len(user_queries(client, "/api/books/")) == 2
    assert user_queries(client, "/api/books/") == []


def test_off_when_the_setting_is_zero(api_client, settings):
    settings.AUTH_USER_CACHE_SECONDS = 0
    client = signed_in(api_client, UserFactory())
    assert len(user_queries(client, "/api/books/")) == 2  # the token version is cached apart
    assert len(user_queries(client, "/api/books/")) == 1


def test_the_cached_copy_carries_no_password_hash(api_client):
    from django.core.cache import cache

    from accounts import user_cache

    user = UserFactory()
    signed_in(api_client, user).get("/api/books/")
    cached = cache.get(user_cache._key("id", user.pk))
    assert cached.pk == user.pk
    assert "password" not in cached.__dict__


def test_a_deactivated_user_is_refused_on_the_next_request(api_client):
    user = UserFactory()
    client = signed_in(api_client, user)
    assert client.get("/api/books/").status_code == 200
    user.is_active = False
    user.save()
    assert_problem(client.get("/api/books/"), 401)


def test_a_deleted_user_is_refused_on_the_next_request(api_client):
    user = UserFactory()
    client = signed_in(api_client, user)
    assert client.get("/api/books/").status_code == 200
    user.delete()
    assert_problem(client.get("/api/books/"), 401)


def test_withdrawn_staff_rights_apply_on_the_next_request(api_client, manager):
    book = BookFactory()
    staff = manager  # staff whose permissions let them see stock
    client = signed_in(api_client, staff)
    assert "stock_quantity" in client.get(f"/api/books/{book.pk}/").json()
    staff.is_staff = False
    staff.save(update_fields=["is_staff"])
    assert "stock_quantity" not in client.get(f"/api/books/{book.pk}/").json()


def test_a_password_change_through_the_cached_user_is_saved(api_client):
    user = UserFactory()
    client = signed_in(api_client, user)
    client.get("/api/books/")
    from accounts import user_cache

    cached = user_cache.cached_user("id", user.pk)
    cached.set_password("Another-Sturdy-Paperback-7")
    cached.save()
    user.refresh_from_db()
    assert user.check_password("Another-Sturdy-Paperback-7")


def test_a_verified_token_is_checked_in_full_again_once_expired(api_client, monkeypatch):
    from accounts import authentication

    token = AccessToken.for_user(UserFactory())
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    simplejwts = authentication.authentication.JWTAuthentication
    verify_in_full, verified = simplejwts.get_validated_token, []

    def counting(self, raw_token):
        verified.append(raw_token)
        return verify_in_full(self, raw_token)

    monkeypatch.setattr(simplejwts, "get_validated_token", counting)
    assert api_client.get("/api/users/me/").status_code == 200
    assert api_client.get("/api/users/me/").status_code == 200
    assert len(verified) == 1  # verified once, then remembered

    # Past its expiry the token is verified again, and refused.
    later = token["exp"] + 1
    monkeypatch.setattr(authentication.time, "time", lambda: later)
    with mock.patch("rest_framework_simplejwt.tokens.aware_utcnow") as now:
        now.return_value = datetime.fromtimestamp(later, tz=UTC)
        assert_problem(api_client.get("/api/users/me/"), 401)
    assert len(verified) == 2


def test_a_remembered_token_is_still_refused_once_revoked(
    api_client, django_capture_on_commit_callbacks
):
    from accounts.sessions import token_version_bump

    user = UserFactory()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    assert api_client.get("/api/users/me/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        token_version_bump(user_id=user.pk)
    assert_problem(api_client.get("/api/users/me/"), 401)


def test_only_the_exact_token_is_remembered(api_client):
    token = str(AccessToken.for_user(UserFactory()))
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api_client.get("/api/users/me/").status_code == 200
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert_problem(api_client.get("/api/users/me/"), 401)
