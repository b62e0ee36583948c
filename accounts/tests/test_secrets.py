"""No secret that acts on an account or an order (a password reset or verification token, an
order's pay-page key) is in the data export, in any stored email, or in a response other than
the one meant to hand it out (issue 24, item 1). The emails carry their links; the outbox table,
and so the export and the admin, never do (core/outbox.py builds them when sending)."""

import json
import re

import pytest
from django.core import mail

from accounts import emails
from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tokens import uid_encode
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.outbox import LINK_NOT_KEPT, email_send
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders import services as order_services
from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory
from payments import notifications as payment_notifications

pytestmark = pytest.mark.django_db

ATTACKER_PASSWORD = "Attacker-Owns-This-Now-77"
# The shop's secrets as they appear in links: Django's reset/verification token
# ("<timestamp base36>-<hex hmac>") after `token=`, and the pay page's key.
TOKEN_PATTERNS = [
    re.compile(r"token=[0-9a-z]+-[0-9a-f]{20,}"),
    re.compile(r"\b[0-9a-z]{1,13}-[0-9a-f]{32}\b"),  # a token, wherever it is
    re.compile(r"/pay/order/[0-9a-f-]{32,36}"),
    re.compile(r"uid=[\w-]+"),
]


def secrets_in(text):
    return [match.group(0) for pattern in TOKEN_PATTERNS for match in pattern.finditer(text)]


def login(email, password):
    return ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": email, "password": password}
    )


def bearer(access):
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_a_stolen_access_token_cannot_become_a_takeover(django_capture_on_commit_callbacks):
    """The attack in the issue: with only a stolen 15-minute access token, ask for a reset
    email, read it in the export, confirm the reset. It must fail: the export has no link."""
    victim = UserFactory(email="victim@example.com")
    attacker = bearer(login(victim.email, DEFAULT_PASSWORD).json()["access"])

    with django_capture_on_commit_callbacks(execute=True):
        asked = attacker.post("/api/users/password-reset/", {"email": victim.email})
    assert asked.status_code == 202
    export = attacker.get("/api/users/me/export/")
    assert export.status_code == 200
    text = json.dumps(export.json())

    # Everything that looks like a reset link in the export, tried as the attacker would.
    found = re.findall(r"uid=([\w-]+)&(?:amp;)?token=([\w-]+)", text)
    tokens = re.findall(r"\b[0-9a-z]{1,13}-[0-9a-f]{32}\b", text)
    tried = [*found, *((uid_encode(victim), token) for token in tokens)]
    for uid, token in tried:
        ProblemCheckingAPIClient().post(
            "/api/users/password-reset/confirm/",
            {"uid": uid, "token": token, "new_password": ATTACKER_PASSWORD},
        )
    assert login(victim.email, DEFAULT_PASSWORD).status_code == 200, "the victim was locked out"
    assert_problem(login(victim.email, ATTACKER_PASSWORD), 401)
    assert tried == []
    # The export says the email was sent, and that its link is only in the email itself.
    [reset] = [e for e in export.json()["emails"] if e["kind"] == "password_reset"]
    assert reset["status"] == "sent" and LINK_NOT_KEPT in reset["text"]
    # The real email, in the victim's inbox, has the working link.
    [email] = mail.outbox
    assert email.to == [victim.email] and "token=" in email.body


def test_the_export_and_the_stored_emails_hold_no_verification_or_pay_link(
    django_capture_on_commit_callbacks,
):
    """A verification link (it would satisfy REQUIRE_VERIFIED_EMAIL_TO_ORDER without the
    inbox), a pay-page link (order_placed, payment_failed) and a reset link in
    "someone tried to register with your address": none in the export or in the outbox."""
    with django_capture_on_commit_callbacks(execute=True):
        registered = ProblemCheckingAPIClient().post(
            "/api/users/register/",
            {"email": "reader@example.com", "password": "Sturdy-Paperback-42"},
        )
        ProblemCheckingAPIClient().post(
            "/api/users/register/",
            {"email": "reader@example.com", "password": "Another-Paperback-43"},
        )
    assert registered.status_code == 201
    user = User.objects.get(email="reader@example.com")
    ShippingMethodFactory(code="post")
    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.order_place(
            user=user,
            items=[{"book": BookFactory(stock_quantity=3).pk, "quantity": 1}],
            shipping_address=TEST_ADDRESS,
            shipping_method="post",
        )
        payment_notifications.payment_failed(order=order, attempt_key="a1", reason="declined")

    kinds = set(OutboxEmail.objects.filter(status="sent").values_list("kind", flat=True))
    assert kinds == {"verify_email", "account_exists", "order_placed", "payment_failed"}
    # The emails as sent carry the links...
    sent = "\n".join(email.body + email.alternatives[0][0] for email in mail.outbox)
    assert str(order.payment_token) in sent
    assert "/account/verify-email/?uid=" in sent and "/account/password-reset/?uid=" in sent
    # ...the export and the outbox table do not.
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    export = json.dumps(client.get("/api/users/me/export/").json())
    assert {e["kind"] for e in json.loads(export)["emails"]} == kinds
    stored = json.dumps(list(OutboxEmail.objects.values()), default=str)
    for text in (export, stored):
        assert secrets_in(text) == []
        assert str(order.payment_token) not in text
        assert "/pay/" not in text and "verify-email" not in text and "password-reset" not in text


def test_a_verification_email_for_an_address_changed_since_is_dropped():
    """The link is made when the email is sent: one queued for the old address must not carry a
    token that verifies the new one."""
    user = UserFactory(email="first@example.com", email_verified=False)
    emails.email_verification(user=user)
    message = OutboxEmail.objects.get(kind="verify_email")
    User.objects.filter(pk=user.pk).update(email="second@example.com")
    assert email_send(message_id=message.pk) is False
    message.refresh_from_db()
    assert message.status == "dropped"
    assert mail.outbox == []
