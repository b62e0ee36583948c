"""Every endpoint that checks the signed-in user's current password is a login door: throttled
per user before any hash is computed, and its wrong guesses counted by the login lockout."""

from unittest import mock

import pytest

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-new-and-long-passphrase-42"


def close(client, password):
    return client.delete("/api/users/me/", {"password": password})


def change_email(client, password):
    return client.patch("/api/users/me/", {"email": "elsewhere@example.com", "password": password})


def change_password(client, password):
    return client.post(
        "/api/users/me/password/", {"current_password": password, "new_password": NEW_PASSWORD}
    )


DOORS = [close, change_email, change_password]


def signed_in(user, ip="10.9.9.9"):
    client = ProblemCheckingAPIClient(REMOTE_ADDR=ip)
    client.force_authenticate(user)
    return client


@pytest.fixture
def password_checks():
    """Counts the password hashes computed (User.check_password), still checking them."""
    check = User.check_password
    with mock.patch.object(User, "check_password", autospec=True, side_effect=check) as spy:
        yield spy


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_wrong_guesses_lock_the_account_and_then_the_right_password_is_refused_unhashed(
    door, password_checks, settings, throttle_rates
):
    throttle_rates(email_change="100/hour")  # the lockout is what this test is about
    user = UserFactory()
    client = signed_in(user)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert_problem(door(client, "not-my-password"), 400, "validation_error")
    hashed = password_checks.call_count

    response = door(client, DEFAULT_PASSWORD)

    body = assert_problem(response, 429, "login_locked")
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "minutes" in body["detail"]
    assert password_checks.call_count == hashed  # refused before any hash
    user.refresh_from_db()
    assert user.is_active and user.email.startswith("customer")
    assert user.check_password(DEFAULT_PASSWORD)  # nothing changed
    # The lockout is the login's: the same account cannot log in from that address either.
    login = ProblemCheckingAPIClient(REMOTE_ADDR="10.9.9.9").post(
        "/api/users/login/", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert_problem(login, 429, "login_locked")


@pytest.mark.parametrize("door", DOORS, ids=lambda door: door.__name__)
def test_guesses_from_many_addresses_are_throttled_per_user_before_hashing(
    door, password_checks, throttle_rates
):
    throttle_rates(current_password="3/hour")
    user = UserFactory()
    for n in range(3):  # a new address each time: the lockout (per address) never trips
        assert_problem(door(signed_in(user, ip=f"10.0.0.{n}"), "guess"), 400, "validation_error")
    hashed = password_checks.call_count

    response = door(signed_in(user, ip="10.0.0.99"), DEFAULT_PASSWORD)

    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert password_checks.call_count == hashed
    # Only this user's budget: another user is not held back.
    assert door(signed_in(UserFactory(), ip="10.0.0.99"), DEFAULT_PASSWORD).status_code < 400


def test_guesses_here_and_at_the_login_share_one_budget(settings):
    user = UserFactory()
    client = signed_in(user)
    for _ in range(settings.AXES_FAILURE_LIMIT - 2):
        assert_problem(change_password(client, "guess"), 400, "validation_error")
    login = ProblemCheckingAPIClient(REMOTE_ADDR="10.9.9.9")
    for _ in range(2):
        response = login.post("/api/users/login/", {"email": user.email, "password": "guess"})
        assert response.status_code == 401
    assert_problem(close(client, DEFAULT_PASSWORD), 429, "login_locked")
    user.refresh_from_db()
    assert user.closed_at is None
    # What checks no password is not locked: the name can still be edited.
    assert client.patch("/api/users/me/", {"first_name": "Ada"}).status_code == 200


def test_a_profile_edit_without_a_password_is_not_counted(throttle_rates):
    throttle_rates(current_password="1/hour", email_change="1/hour")
    client = signed_in(UserFactory())
    for name in ["Ada", "Grace", "Ada"]:
        assert client.patch("/api/users/me/", {"first_name": name}).status_code == 200
    assert change_password(client, DEFAULT_PASSWORD).status_code == 204
