import base64
import json
from datetime import timedelta

import pytest
from django.conf import settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Sturdy-Paperback-42"


def register(client, **overrides):
    payload = {"email": "reader@example.com", "password": STRONG_PASSWORD, "first_name": "Ada"}
    payload.update(overrides)
    return client.post("/api/users/register/", payload, format="json")


def login(client, email, password):
    return client.post("/api/users/login/", {"email": email, "password": password}, format="json")


def bearer(client, access):
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_register_login_me_refresh_logout_journey(api_client):
    response = register(api_client)
    assert response.status_code == 201
    body = response.json()
    assert body["email"] == "reader@example.com"
    assert body["first_name"] == "Ada"
    assert "password" not in body
    assert body["email_verified"] is False

    response = login(api_client, "reader@example.com", STRONG_PASSWORD)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}

    me = bearer(api_client, tokens["access"]).get("/api/users/me/")
    assert me.status_code == 200
    assert me.json()["email"] == "reader@example.com"

    refreshed = api_client.post("/api/users/token/refresh/", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    new_tokens = refreshed.json()
    assert new_tokens["refresh"] != tokens["refresh"]

    bearer(api_client, new_tokens["access"])
    logout = api_client.post("/api/users/logout/", {"refresh": new_tokens["refresh"]})
    assert logout.status_code == 204

    after_logout = api_client.post("/api/users/token/refresh/", {"refresh": new_tokens["refresh"]})
    assert_problem(after_logout, 401, "token_not_valid")
    # The rotated-out refresh token is refused too.
    reused = api_client.post("/api/users/token/refresh/", {"refresh": tokens["refresh"]})
    assert_problem(reused, 401, "token_not_valid")


def test_paths_work_without_trailing_slash(api_client):
    assert register(api_client).status_code == 201
    response = api_client.post(
        "/api/users/login", {"email": "reader@example.com", "password": STRONG_PASSWORD}
    )
    assert response.status_code == 200
    assert bearer(api_client, response.json()["access"]).get("/api/users/me").status_code == 200


def test_login_is_case_insensitive_and_email_stored_lowercase(api_client):
    register(api_client, email="Mixed.Case@Example.COM")
    assert User.objects.get().email == "mixed.case@example.com"
    assert login(api_client, "MIXED.case@example.com", STRONG_PASSWORD).status_code == 200


@pytest.mark.parametrize("email", ["reader@example.com", "READER@Example.com"])
def test_duplicate_email_answers_like_a_new_one_in_any_letter_case(api_client, email):
    first = register(api_client)
    second = register(api_client, email=email, first_name="Ada")
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert User.objects.count() == 1
    kinds = list(OutboxEmail.objects.order_by("id").values_list("kind", "to"))
    assert kinds == [
        ("verify_email", "reader@example.com"),
        ("account_exists", "reader@example.com"),
    ]


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "reader@example.com"])
def test_weak_password_is_refused(api_client, password):
    body = assert_problem(register(api_client, password=password), 400, "validation_error")
    assert field_errors(body) == {"password"}
    assert not User.objects.exists()


def test_missing_fields_are_each_named(api_client):
    body = assert_problem(api_client.post("/api/users/register/", {}), 400, "validation_error")
    assert field_errors(body) == {"email", "password"}


def test_malformed_json_is_a_problem(api_client):
    response = api_client.post(
        "/api/users/register/", data="{not json", content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")


def test_wrong_password_is_authentication_failed(api_client, user):
    assert_problem(login(api_client, user.email, "not-the-password"), 401, "authentication_failed")
    assert_problem(
        login(api_client, "nobody@example.com", "whatever"), 401, "authentication_failed"
    )


def test_inactive_user_cannot_log_in(api_client):
    user = UserFactory(is_active=False)
    assert_problem(login(api_client, user.email, DEFAULT_PASSWORD), 401, "authentication_failed")


def _b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _token_variants(user):
    access = AccessToken.for_user(user)
    good = str(access)
    header, payload, signature = good.split(".")
    tampered_payload = dict(access.payload, user_id=str(user.pk + 1000))
    expired = AccessToken.for_user(user)
    expired.set_exp(lifetime=-timedelta(seconds=5))
    return {
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "tampered payload": f"{header}.{_b64(tampered_payload)}.{signature}",
        "expired": str(expired),
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(access.payload)}.",
        "garbage": "not.a.token",
        "refresh used as access": str(RefreshToken.for_user(user)),
    }


@pytest.mark.parametrize(
    "variant",
    [
        "tampered signature",
        "tampered payload",
        "expired",
        "alg none",
        "garbage",
        "refresh used as access",
    ],
)
def test_bad_access_tokens_are_refused(api_client, user, variant):
    token = _token_variants(user)[variant]
    response = bearer(api_client, token).get("/api/users/me/")
    assert_problem(response, 401, "token_not_valid")


def test_anonymous_me_is_not_authenticated(api_client):
    assert_problem(api_client.get("/api/users/me/"), 401, "not_authenticated")


def test_customer_cannot_grant_themselves_privileges(user_client):
    user = user_client.user
    original_email = user.email
    response = user_client.patch(
        "/api/users/me/",
        {
            "is_staff": True,
            "is_superuser": True,
            "email_verified": True,
            "first_name": "Grace",
        },
    )
    assert response.status_code == 200
    user.refresh_from_db()
    assert (user.is_staff, user.is_superuser, user.email, user.email_verified) == (
        False,
        False,
        original_email,
        False,
    )
    assert user.first_name == "Grace"
    assert response.json()["first_name"] == "Grace"


def test_password_change_revokes_refresh_tokens(api_client, user):
    tokens = login(api_client, user.email, DEFAULT_PASSWORD).json()
    bearer(api_client, tokens["access"])

    wrong = api_client.post(
        "/api/users/me/password/", {"current_password": "nope", "new_password": STRONG_PASSWORD}
    )
    assert field_errors(assert_problem(wrong, 400, "validation_error")) == {"current_password"}

    weak = api_client.post(
        "/api/users/me/password/", {"current_password": DEFAULT_PASSWORD, "new_password": "123"}
    )
    assert field_errors(assert_problem(weak, 400, "validation_error")) == {"new_password"}

    changed = api_client.post(
        "/api/users/me/password/",
        {"current_password": DEFAULT_PASSWORD, "new_password": STRONG_PASSWORD},
    )
    assert changed.status_code == 204
    user.refresh_from_db()
    assert user.check_password(STRONG_PASSWORD)
    refused = api_client.post("/api/users/token/refresh/", {"refresh": tokens["refresh"]})
    assert_problem(refused, 401, "token_not_valid")
    assert login(api_client, user.email, STRONG_PASSWORD).status_code == 200


def test_logout_refuses_someone_elses_refresh_token(user_client):
    other = UserFactory()
    other_refresh = str(RefreshToken.for_user(other))
    response = user_client.post("/api/users/logout/", {"refresh": other_refresh})
    assert_problem(response, 400, "validation_error")
    # Still usable by its owner.
    client = ProblemCheckingAPIClient()
    assert client.post("/api/users/token/refresh/", {"refresh": other_refresh}).status_code == 200


def _rate_limit(scope):
    count, _period = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope].split("/")
    return int(count)


def test_login_is_throttled_per_client(api_client, user):
    limit = _rate_limit("login")
    # Guesses spread over many accounts (one account is locked sooner: see test_lockout.py).
    for attempt in range(limit):
        assert_problem(
            login(api_client, f"nobody{attempt}@example.com", "wrong"), 401, "authentication_failed"
        )
    response = login(api_client, user.email, DEFAULT_PASSWORD)
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1


def test_throttle_ignores_forged_forwarded_for(api_client, user):
    """With no trusted proxy, X-Forwarded-For cannot buy a fresh throttle bucket."""
    limit = _rate_limit("login")
    for attempt in range(limit):
        api_client.post(
            "/api/users/login/",
            {"email": f"nobody{attempt}@example.com", "password": "wrong"},
            HTTP_X_FORWARDED_FOR=f"10.0.0.{attempt}",
        )
    response = api_client.post(
        "/api/users/login/",
        {"email": user.email, "password": DEFAULT_PASSWORD},
        HTTP_X_FORWARDED_FOR="10.9.9.9",
    )
    assert_problem(response, 429, "throttled")
