"""Failed-login lockout (django-axes): by account + address, on the admin and the API alike,
reset by a successful login, lifted after the cool-off."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory
from bookstore.testing import ProblemCheckingAPIClient, assert_problem

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
