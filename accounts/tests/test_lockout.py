"""Failed-login lockout (django-axes): by account + address, on the admin and the API alike,
reset by a successful login, lifted after the cool-off."""

from datetime import timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture
def staff():
    return StaffFactory(is_superuser=True)


def admin_login(user, password, ip="10.1.1.1", email=None):
    client = Client(REMOTE_ADDR=ip)
    response = client.post(ADMIN_LOGIN, {"username": email or user.email, "password": password})
    return response, client


def admin_logged_in(response, client):
    return response.status_code == 302 and client.get("/admin/").status_code == 200


def api_login(user, password, ip="10.1.1.1"):
    client = ProblemCheckingAPIClient(REMOTE_ADDR=ip)
    return client.post("/api/users/login/", {"email": user.email, "password": password})


def fail(times, door, user, ip="10.1.1.1"):
    for _ in range(times):
        if door == "admin":
            response, client = admin_login(user, "wrong", ip)
            assert not admin_logged_in(response, client)
        else:
            assert api_login(user, "wrong", ip).status_code == 401


def test_the_admin_locks_an_account_and_address_after_five_failures(staff, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    fail(5, "admin", staff)
    response, client = admin_login(staff, DEFAULT_PASSWORD)
    assert response.status_code == 429
    assert not admin_logged_in(response, client)
    # Only that pair: the same account from elsewhere, and another account from here, log in.
    assert admin_logged_in(*admin_login(staff, DEFAULT_PASSWORD, ip="10.2.2.2"))
    other = StaffFactory(is_superuser=True)
    assert admin_logged_in(*admin_login(other, DEFAULT_PASSWORD))


def test_a_successful_login_resets_the_count(staff):
    fail(4, "admin", staff)
    assert admin_logged_in(*admin_login(staff, DEFAULT_PASSWORD))
    fail(4, "admin", staff)
    assert admin_logged_in(*admin_login(staff, DEFAULT_PASSWORD))
    fail(2, "api", staff)
    assert api_login(staff, DEFAULT_PASSWORD).status_code == 200
    fail(4, "admin", staff)
    assert admin_logged_in(*admin_login(staff, DEFAULT_PASSWORD))


def test_the_case_of_the_email_does_not_buy_fresh_attempts(staff):
    for _ in range(5):
        admin_login(staff, "wrong", email=staff.email.upper())
    response, client = admin_login(staff, DEFAULT_PASSWORD)
    assert response.status_code == 429


@pytest.mark.parametrize(("failed_at", "then"), [("api", "admin"), ("admin", "api")])
def test_switching_between_the_admin_and_the_api_does_not_bypass_the_lockout(
    staff, failed_at, then
):
    fail(5, failed_at, staff)
    if then == "admin":
        response, client = admin_login(staff, DEFAULT_PASSWORD)
        assert response.status_code == 429 and not admin_logged_in(response, client)
    else:
        body = assert_problem(api_login(staff, DEFAULT_PASSWORD), 429, "login_locked")
        assert "15 minutes" in body["detail"]
        assert "access" not in body


def test_the_lockout_lifts_after_the_cool_off(staff):
    fail(5, "api", staff)
    assert api_login(staff, DEFAULT_PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert api_login(staff, DEFAULT_PASSWORD).status_code == 200


def admin_password_change(client, old_password):
    return client.post(
        "/admin/password_change/",
        {
            "old_password": old_password,
            "new_password1": "a-new-and-long-passphrase-42",
            "new_password2": "a-new-and-long-passphrase-42",
        },
    )


def test_the_admins_password_change_form_counts_toward_the_lockout(staff, settings):
    client = Client(REMOTE_ADDR="10.1.1.1")
    client.force_login(staff)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = admin_password_change(client, "wrong")
        assert response.status_code == 200 and "old_password" in response.context["form"].errors
    # The failure that reaches the limit locks at once (axes' middleware, as on the login page).
    assert admin_password_change(client, "wrong").status_code == 429
    with mock.patch.object(type(staff), "check_password") as check_password:
        response = admin_password_change(client, DEFAULT_PASSWORD)
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    check_password.assert_not_called()  # refused before any hash
    staff.refresh_from_db()
    assert staff.check_password(DEFAULT_PASSWORD)
    assert_problem(api_login(staff, DEFAULT_PASSWORD), 429, "login_locked")


def test_the_admins_password_change_form_shares_the_apis_per_user_budget(staff, throttle_rates):
    throttle_rates(current_password="2/hour")
    api = ProblemCheckingAPIClient(REMOTE_ADDR="10.4.4.4")
    api.force_authenticate(staff)
    assert api.delete("/api/users/me/", {"password": "wrong"}).status_code == 400
    admin = Client(REMOTE_ADDR="10.5.5.5")
    admin.force_login(staff)
    assert admin_password_change(admin, "wrong").status_code == 200
    response = admin_password_change(admin, DEFAULT_PASSWORD)
    assert response.status_code == 429
    staff.refresh_from_db()
    assert staff.check_password(DEFAULT_PASSWORD)
    assert admin.get("/admin/password_change/").status_code == 200  # the form still shows
