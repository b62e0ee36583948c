"""The reset link from the email (as sent: the outbox keeps no link) opens our reset page in a real
(headless) Chromium, a new password is set there, and logging in with it works."""

import pytest
from django.core import mail

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.models import OutboxEmail
from core.testing import ARTIFACTS, ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db(transaction=True)

NEW_PASSWORD = "Moonlit-Library-Ladder-19"


def login(email, password):
    return ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": email, "password": password}
    )


def test_reset_link_from_the_email_sets_a_new_password(live_server, browser_page, settings):
    settings.PASSWORD_RESET_URL = (
        f"{live_server.url}/account/password-reset/?uid={{uid}}&token={{token}}"
    )
    user = UserFactory(email="forgetful@example.com", first_name="Fran")
    requested = ProblemCheckingAPIClient().post("/api/users/password-reset/", {"email": user.email})
    assert requested.status_code == 202

    stored = OutboxEmail.objects.get(kind="password_reset", to=user.email)
    assert live_server.url not in stored.text_body + stored.html_body
    [email] = mail.outbox
    link = next(word for word in email.body.split() if word.startswith(live_server.url))
    [(html, _)] = email.alternatives
    assert f'href="{link.replace("&", "&amp;")}"' in html

    page = browser_page
    page.goto(link)
    page.fill("#new-password", NEW_PASSWORD)
    page.fill("#repeat-password", NEW_PASSWORD)
    page.click("#set-password")
    page.wait_for_selector("[data-outcome=password-changed]")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "password-reset-done.png"), full_page=True)

    assert login(user.email, NEW_PASSWORD).status_code == 200
    assert_problem(login(user.email, DEFAULT_PASSWORD), 401, "authentication_failed")

    # The link was single use: opening it again no longer offers the form.
    page.goto(link)
    assert "not valid" in page.inner_text("body")
    assert page.locator("#new-password").count() == 0
