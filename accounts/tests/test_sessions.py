"""Access tokens stop working when the user's sessions are revoked (token version)."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from accounts.sessions import token_version_bump, token_version_current
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-Sturdy-Paperback-77"


def login(user, password=DEFAULT_PASSWORD):
    response = ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": user.email, "password": password}
    )
    assert response.status_code == 200, response.content
    return response.json()


def me(access):
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/users/me/")


def as_user(access):
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_access_token_stops_working_after_logout(django_capture_on_commit_callbacks):
    user = UserFactory()
    tokens = login(user)
    assert me(tokens["access"]).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(tokens["access"]).post(
            "/api/users/logout/", {"refresh": tokens["refresh"]}
        )
    assert response.status_code == 204
    assert_problem(me(tokens["access"]), 401, "token_not_valid")


def test_logout_leaves_other_devices_able_to_refresh(django_capture_on_commit_callbacks):
    user = UserFactory()
    laptop, phone = login(user), login(user)
    with django_capture_on_commit_callbacks(execute=True):
        as_user(laptop["access"]).post("/api/users/logout/", {"refresh": laptop["refresh"]})
    # The phone's access token is revoked with the rest, but its refresh token gets a new one.
    assert_problem(me(phone["access"]), 401, "token_not_valid")
    refreshed = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": phone["refresh"]}
    )
    assert refreshed.status_code == 200
    assert me(refreshed.json()["access"]).status_code == 200


def test_logout_everywhere_revokes_every_refresh_token(django_capture_on_commit_callbacks):
    user = UserFactory()
    laptop, phone = login(user), login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(laptop["access"]).post(
            "/api/users/logout/", {"refresh": laptop["refresh"], "everywhere": True}
        )
    assert response.status_code == 204
    refreshed = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": phone["refresh"]}
    )
    assert_problem(refreshed, 401, "token_not_valid")
    assert_problem(me(phone["access"]), 401, "token_not_valid")


def test_access_token_stops_working_after_password_change(django_capture_on_commit_callbacks):
    user = UserFactory()
    other_session, session = login(user), login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(session["access"]).post(
            "/api/users/me/password/",
            {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        )
    assert response.status_code == 204
    assert_problem(me(other_session["access"]), 401, "token_not_valid")
    assert_problem(me(session["access"]), 401, "token_not_valid")
    # Logging in again with the new password gives working tokens.
    assert me(login(user, NEW_PASSWORD)["access"]).status_code == 200


def test_refresh_token_reuse_revokes_the_access_token_issued_from_it(
    django_capture_on_commit_callbacks,
):
    user = UserFactory()
    stolen = login(user)
    # The thief refreshes first and gets working tokens...
    thief = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": stolen["refresh"]}
    )
    assert thief.status_code == 200
    assert me(thief.json()["access"]).status_code == 200
    # ...then the owner presents the same (now rotated) refresh token: reuse detected.
    with django_capture_on_commit_callbacks(execute=True):
        owner = ProblemCheckingAPIClient().post(
            "/api/users/token/refresh/", {"refresh": stolen["refresh"]}
        )
    assert_problem(owner, 401, "token_not_valid")
    assert_problem(me(thief.json()["access"]), 401, "token_not_valid")
    thief_refresh = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": thief.json()["refresh"]}
    )
    assert_problem(thief_refresh, 401, "token_not_valid")


def test_refused_refresh_tokens_that_are_not_reuse_revoke_nothing():
    user = UserFactory()
    tokens = login(user)
    for bogus in ["not-a-token", tokens["access"], tokens["refresh"][:-3] + "abc"]:
        response = ProblemCheckingAPIClient().post("/api/users/token/refresh/", {"refresh": bogus})
        assert_problem(response, 401, "token_not_valid")
    user.refresh_from_db()
    assert user.token_version == 0
    assert me(tokens["access"]).status_code == 200


def test_token_version_costs_no_query_once_cached(settings, django_assert_num_queries):
    settings.AUTH_USER_CACHE_SECONDS = 0  # the user row is read each time; the version is not
    user = UserFactory()
    tokens = login(user)
    assert me(tokens["access"]).status_code == 200  # fills the cache
    with django_assert_num_queries(1):
        assert me(tokens["access"]).status_code == 200


def test_bump_replaces_the_cached_version_after_commit(django_capture_on_commit_callbacks):
    user = UserFactory()
    assert token_version_current(user.pk) == 0
    with django_capture_on_commit_callbacks(execute=True):
        token_version_bump(user_id=user.pk)
    assert cache.get(f"accounts:token-version:{user.pk}") == 1
    assert token_version_current(user.pk) == 1


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs the shared cache (set REDIS_URL)")
@pytest.mark.django_db(transaction=True)
def test_revocation_in_another_process_is_seen_at_once_through_redis():
    user = UserFactory()
    tokens = login(user)
    assert me(tokens["access"]).status_code == 200  # this process has the version cached
    database = connection.settings_dict
    if database["ENGINE"].endswith("sqlite3"):
        database_url = f"sqlite:///{database['NAME']}"
    else:
        database_url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**database)
        if database.get("PASSWORD"):
            pytest.skip("the child process would need the database password")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.test",
        "DATABASE_URL": database_url,
    }
    script = (
        "import django; django.setup();"
        "from accounts.models import User; from accounts.services import user_tokens_revoke;"
        f"user_tokens_revoke(user=User.objects.get(pk={user.pk}))"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=60)
    assert_problem(me(tokens["access"]), 401, "token_not_valid")
