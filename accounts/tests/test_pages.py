"""The pages that reset and verification links open share the API's link throttle: guessing
tokens there is no cheaper than through the API."""

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from accounts.tokens import password_reset_tokens, uid_encode
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

PAGES = ["/account/password-reset/", "/account/verify-email/"]


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("method", ["get", "post"])
def test_guessing_tokens_on_a_page_is_throttled(page, method, throttle_rates):
    throttle_rates(account_link="5/hour")
    client = Client(REMOTE_ADDR="10.5.5.5")
    statuses = [
        getattr(client, method)(page, {"uid": "MQ", "token": f"guess-{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200] * 5
    response = getattr(client, method)(page, {"uid": "MQ", "token": "guess-5"})
    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "Too many attempts" in response.content.decode()
    assert "<form" not in response.content.decode()
    # Another client is not held back.
    assert Client(REMOTE_ADDR="10.6.6.6").get(page).status_code == 200


def test_the_pages_and_the_api_count_against_one_budget(throttle_rates):
    throttle_rates(account_link="4/hour")
    user = UserFactory()
    page, api = Client(REMOTE_ADDR="10.5.5.5"), ProblemCheckingAPIClient(REMOTE_ADDR="10.5.5.5")
    assert page.get(PAGES[0], {"uid": "MQ", "token": "a"}).status_code == 200
    assert api.post("/api/users/verify-email/", {"uid": "MQ", "token": "b"}).status_code == 400
    assert page.post(PAGES[1], {"uid": "MQ", "token": "c"}).status_code == 200
    body = {"uid": "MQ", "token": "d", "new_password": "Sturdy-Paperback-42"}
    assert api.post("/api/users/password-reset/confirm/", body).status_code == 400
    # The budget is spent: even a real link is refused now, on the page and through the API.
    real = {"uid": uid_encode(user), "token": password_reset_tokens.make_token(user)}
    assert page.get(PAGES[0], real).status_code == 429
    assert_problem(
        api.post("/api/users/verify-email/", {"uid": "MQ", "token": "e"}), 429, "throttled"
    )
