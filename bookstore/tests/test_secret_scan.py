"""No secret of the shop in any answer that is not meant to carry it.

A customer with the usual history (an account with pending verification and reset emails, an
email change, orders, a payment in progress) reads every main endpoint; each answer, and the
logs written meanwhile, are scanned for the shop's token shapes. Where a secret belongs (the
owner's pay link on a pending order, a payment's client secret for its owner), only that
endpoint may carry it."""

import logging
import re

import pytest
from django.core import mail

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient
from orders.tests.factories import DiscountCodeFactory, with_shipping
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db

SECRET_SHAPES = {
    "jwt": re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}"),
    # Django's reset and verification tokens: "<timestamp base 36>-<32 hex digits>".
    "account_link_token": re.compile(r"\b[0-9a-z]{2,8}-[0-9a-f]{32}\b"),
    "account_link": re.compile(r"[?&]uid=[\w-]+&(amp;)?token="),
    "pay_link": re.compile(
        r"/pay/(order/)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    ),
    "stripe_client_secret": re.compile(r"\b(pi|seti)_\w+_secret_\w+"),
}

# Where a secret is the point of the answer; everywhere else, none.
EXPECTED = {
    "place": {"pay_link"},
    "orders": {"pay_link"},  # a pending order's payment_url, for its owner
    "order": {"pay_link"},
    "payments": {"pay_link", "stripe_client_secret"},  # the owner resumes paying
    "payment": {"pay_link", "stripe_client_secret"},
}


def secrets_in(text):
    return {name for name, shape in SECRET_SHAPES.items() if shape.search(text)}


@pytest.fixture
def customer_with_history(settings, django_capture_on_commit_callbacks):
    settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER = False
    user = UserFactory(email="reader@example.com")
    client = ProblemCheckingAPIClient(REMOTE_ADDR="10.2.2.2")
    tokens = client.post(
        "/api/users/login/", {"email": user.email, "password": DEFAULT_PASSWORD}
    ).json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    anonymous = ProblemCheckingAPIClient(REMOTE_ADDR="10.2.2.3")
    DiscountCodeFactory(code="TEN")
    book = BookFactory(stock_quantity=10)
    order_body = with_shipping(
        {"items": [{"book": book.pk, "quantity": 1}], "discount_code": "TEN"}
    )
    answers = {}
    with django_capture_on_commit_callbacks(execute=True):
        answers["register"] = anonymous.post(
            "/api/users/register/", {"email": "new@example.com", "password": "Sturdy-Paperback-42"}
        )
        answers["register_existing"] = anonymous.post(
            "/api/users/register/", {"email": user.email, "password": "Sturdy-Paperback-42"}
        )
        answers["reset"] = anonymous.post("/api/users/password-reset/", {"email": user.email})
        answers["resend"] = client.post("/api/users/verify-email/resend/")
        answers["quote"] = client.post("/api/orders/quote/", order_body, format="json")
        answers["place"] = client.post("/api/orders/", order_body, format="json")
        payment = payment_for_new_order(user=user, book=book)
        answers["email_change"] = client.patch(
            "/api/users/me/", {"email": "reader2@example.com", "password": DEFAULT_PASSWORD}
        )
    order_id = answers["place"].json()["id"]
    reads = {
        "me": "/api/users/me/",
        "addresses": "/api/users/me/addresses/",
        "orders": "/api/orders/",
        "order": f"/api/orders/{order_id}/",
        "payments": "/api/payments/",
        "payment": f"/api/payments/{payment.pk}/",
        "shipping_methods": "/api/shipping-methods/",
        "books": "/api/books/",
        "export": "/api/users/me/export/",
    }
    for name, path in reads.items():
        answers[name] = client.get(path)
    return answers


def test_no_answer_carries_a_secret_it_is_not_for(customer_with_history):
    misplaced = {}
    for name, response in customer_with_history.items():
        assert response.status_code < 400, (name, response.content[:300])
        if name == "export":
            continue  # its own test, below
        found = secrets_in(response.content.decode()) - EXPECTED.get(name, set())
        if found:
            misplaced[name] = found
    assert misplaced == {}


def test_the_data_export_carries_no_secret(customer_with_history):
    assert secrets_in(customer_with_history["export"].content.decode()) == set()


def test_the_scan_recognises_each_secret(customer_with_history):
    """The shapes match the real thing: each secret the history created is found where it is
    expected, so a scan that finds nothing elsewhere means something."""
    assert "pay_link" in secrets_in(customer_with_history["order"].content.decode())
    payment = customer_with_history["payment"].content.decode()
    assert "stripe_client_secret" in secrets_in(payment)
    # The links exist only in the mail as sent (the outbox stores none, core/outbox.py).
    sent = " ".join(message.body for message in mail.outbox)
    assert {"account_link", "account_link_token"} <= secrets_in(sent)
    login = ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": "reader2@example.com", "password": DEFAULT_PASSWORD}
    )
    assert "jwt" in secrets_in(login.content.decode())


@pytest.fixture
def every_log_line(caplog):
    caplog.set_level(logging.DEBUG)
    return caplog


def test_no_log_line_carries_a_secret(every_log_line, customer_with_history):
    records = every_log_line.get_records("setup")  # the history is made in the fixture
    assert records  # and was logged at all
    logged = "\n".join(record.getMessage() for record in records)
    assert secrets_in(logged) == set()
