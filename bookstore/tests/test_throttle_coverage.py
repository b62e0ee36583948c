"""Every endpoint that checks a secret (a password, a discount code, a link's token, whether a
customer bought a book), sends mail, calls Stripe or counts over the whole catalogue (facets) is
throttled, and the throttle answers before the work: one row per endpoint and limit. A new
endpoint of that kind gets its row here (README, "Security": abuse cases)."""

import pytest
from django.test import Client

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient
from orders.tests.factories import with_shipping

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Sturdy-Paperback-42"


def order_body():
    book = BookFactory(stock_quantity=10)
    return with_shipping({"items": [{"book": book.pk, "quantity": 1}], "discount_code": "GUESS"})


def payment_body():
    from orders.services import order_place

    order = order_place(user=UserFactory(), items=[{"book": BookFactory().pk, "quantity": 1}])
    return {"order": order.pk}


def review_path():
    return f"/api/books/{BookFactory().pk}/reviews/"


def my_review_path():
    return f"{review_path()}mine/"


def alert_path():
    return f"/api/books/{BookFactory(stock_quantity=0).pk}/notify-me/"


REVIEW = {"rating": 5}
LOGIN = {"email": "a@example.com", "password": "guess"}
REGISTER = {"email": "a@example.com", "password": NEW_PASSWORD}
RESET = {"email": "a@example.com"}
LINK = {"uid": "MQ", "token": "guess"}
RESET_CONFIRM = {**LINK, "new_password": NEW_PASSWORD}
CLOSE = {"password": "guess"}
EMAIL_GUESS = {"email": "b@example.com", "password": "guess"}
EMAIL_CHANGE = {"email": "b@example.com", "password": DEFAULT_PASSWORD}
PASSWORD_CHANGE = {"current_password": "guess", "new_password": NEW_PASSWORD}

# Limits that cap the mail sent without refusing the request: three reset or registration
# requests from anywhere must not keep the address's owner from asking (the answer stays the
# same, no more mail goes out).
CAPS_WITHOUT_REFUSAL = {"password_reset_email", "register_email"}

# (what it guards, method, path, body or a function making it, the throttle scope, signed in)
ENDPOINTS = [
    ("password", "post", "/api/users/login/", LOGIN, "login", False),
    ("mail", "post", "/api/users/register/", REGISTER, "register", False),
    ("mail", "post", "/api/users/register/", REGISTER, "register_email", False),
    ("mail", "post", "/api/users/password-reset/", RESET, "password_reset", False),
    ("mail", "post", "/api/users/password-reset/", RESET, "password_reset_email", False),
    ("token", "post", "/api/users/password-reset/confirm/", RESET_CONFIRM, "account_link", False),
    ("token", "post", "/api/users/verify-email/", LINK, "account_link", False),
    ("token", "get", "/account/password-reset/", LINK, "account_link", False),
    ("token", "post", "/account/password-reset/", LINK, "account_link", False),
    ("token", "get", "/account/verify-email/", LINK, "account_link", False),
    ("token", "post", "/account/verify-email/", LINK, "account_link", False),
    ("mail", "post", "/api/users/verify-email/resend/", None, "verify_email_resend", True),
    ("password", "delete", "/api/users/me/", CLOSE, "current_password", True),
    ("password", "patch", "/api/users/me/", EMAIL_GUESS, "current_password", True),
    ("mail", "patch", "/api/users/me/", EMAIL_CHANGE, "email_change", True),
    ("password", "post", "/api/users/me/password/", PASSWORD_CHANGE, "current_password", True),
    ("code", "post", "/api/orders/", order_body, "discount", True),
    ("code", "post", "/api/orders/quote/", order_body, "discount", True),
    ("stripe", "post", "/api/payments/", payment_body, "payment_attempts", True),
    ("purchase", "post", review_path, REVIEW, "reviews", True),
    ("purchase", "put", my_review_path, REVIEW, "reviews", True),
    ("purchase", "delete", my_review_path, None, "reviews", True),
    ("mail", "post", alert_path, None, "alerts", True),
    ("cost", "get", "/api/users/me/export/", None, "data_export", True),
    ("cost", "get", "/api/books/", {"facets": "genre"}, "facets", False),
    ("cost", "get", "/api/books/", {"facets": "genre"}, "facets", True),
]


@pytest.mark.parametrize(
    ("guards", "method", "path", "body", "scope", "signed_in"),
    ENDPOINTS,
    ids=[
        f"{method} {getattr(path, '__name__', path)} {scope}"
        for _, method, path, _, scope, _ in ENDPOINTS
    ],
)
def test_each_endpoint_that_checks_a_secret_or_sends_mail_is_throttled(
    throttle_rates, guards, method, path, body, scope, signed_in
):
    throttle_rates(**{scope: "1/hour"})
    if callable(body):
        body = body()
    if callable(path):
        path = path()
    if path.startswith("/account/"):  # the pages that emailed links open
        client = Client(REMOTE_ADDR="10.1.2.3")
    else:
        client = ProblemCheckingAPIClient(REMOTE_ADDR="10.1.2.3")
        if signed_in:
            client.force_authenticate(UserFactory(email_verified=False))
    send = getattr(client, method)
    first = send(path, body) if body is not None else send(path)
    assert first.status_code != 429
    mails = OutboxEmail.objects.count()
    second = send(path, body) if body is not None else send(path)
    if scope in CAPS_WITHOUT_REFUSAL:
        assert second.status_code == first.status_code, (guards, second.content[:200])
    else:
        assert second.status_code == 429, (guards, second.content[:200])
        assert int(second["Retry-After"]) > 0
    assert OutboxEmail.objects.count() == mails  # refused, or capped, before any mail
