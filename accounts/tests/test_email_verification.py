import pytest
from django.core import mail

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import link_from_outbox
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.outbox import email_send
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors
from orders.models import Order
from orders.tests.factories import with_shipping

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Sturdy-Paperback-42"


def register(email="reader@example.com"):
    return ProblemCheckingAPIClient().post(
        "/api/users/register/", {"email": email, "password": STRONG_PASSWORD, "first_name": "Ada"}
    )


def verify(**payload):
    return ProblemCheckingAPIClient().post("/api/users/verify-email/", payload)


def signed_in(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def test_registration_sends_a_verification_email_in_text_and_html():
    assert register().status_code == 201
    message = OutboxEmail.objects.get(kind="verify_email")
    assert message.to == "reader@example.com"
    assert message.user == User.objects.get()
    # The greeting names no one: a name is the customer's text, not the shop's words.
    assert message.text_body.startswith("Hello,\n") and "Hello," in message.html_body
    assert "Ada" not in message.text_body and "Ada" not in message.html_body
    # The outbox keeps no link: it is made when the email is sent.
    assert "/account/verify-email/" not in message.text_body + message.html_body
    email_send(message_id=message.pk)
    [sent] = mail.outbox
    assert "/account/verify-email/?uid=" in sent.body
    assert '<a href="http' in sent.alternatives[0][0]
    assert not User.objects.get().email_verified


def test_verification_link_marks_the_address_verified_once():
    register()
    link = link_from_outbox("verify_email", "reader@example.com")
    assert verify(uid=link["uid"], token=link["token"]).status_code == 204
    assert User.objects.get().email_verified
    # Opened again, the link says the address is already confirmed (no error, nothing changes).
    again = verify(uid=link["uid"], token=link["token"])
    assert again.status_code == 200
    assert again.json() == {"detail": "This email address is already confirmed."}
    assert User.objects.get().email_verified


def test_a_used_link_of_another_account_or_a_forged_one_is_still_refused():
    register("first@example.com")
    register("second@example.com")
    first = link_from_outbox("verify_email", "first@example.com")
    second = link_from_outbox("verify_email", "second@example.com")
    assert verify(uid=first["uid"], token=first["token"]).status_code == 204
    # The first account's used token with the second account's uid: not a link of the second.
    assert_problem(verify(uid=second["uid"], token=first["token"]), 400, "validation_error")
    assert_problem(verify(uid=first["uid"], token="1-forged"), 400, "validation_error")
    assert not User.objects.get(email="second@example.com").email_verified


@pytest.mark.parametrize("uid, token", [("MQ", "nope"), ("", ""), ("%%", "1-2")])
def test_bad_verification_links_change_nothing(uid, token):
    register()
    body = assert_problem(verify(uid=uid, token=token), 400, "validation_error")
    assert field_errors(body) <= {"uid", "token"}
    assert not User.objects.get().email_verified


def test_a_reset_link_is_not_a_verification_link():
    user = UserFactory()
    ProblemCheckingAPIClient().post("/api/users/password-reset/", {"email": user.email})
    link = link_from_outbox("password_reset", user.email)
    assert_problem(verify(uid=link["uid"], token=link["token"]), 400, "validation_error")
    user.refresh_from_db()
    assert not user.email_verified


def test_resend_sends_a_new_link_and_is_throttled():
    user = UserFactory()
    client = signed_in(user)
    answers = [client.post("/api/users/verify-email/resend/").status_code for _ in range(4)]
    assert answers == [202, 202, 202, 429]
    assert OutboxEmail.objects.filter(kind="verify_email", to=user.email).count() == 3


def test_resend_for_a_verified_address_sends_nothing():
    user = UserFactory(email_verified=True)
    assert signed_in(user).post("/api/users/verify-email/resend/").status_code == 202
    assert not OutboxEmail.objects.filter(kind="verify_email").exists()


def test_resend_needs_a_signed_in_user():
    response = ProblemCheckingAPIClient().post("/api/users/verify-email/resend/")
    assert_problem(response, 401, "not_authenticated")


def test_verify_page_confirms_on_post_only(client):
    register()
    link = link_from_outbox("verify_email", "reader@example.com")
    page = client.get(f"/account/verify-email/?uid={link['uid']}&token={link['token']}")
    assert page.status_code == 200 and b'id="verify"' in page.content
    assert not User.objects.get().email_verified  # opening the link alone changes nothing
    done = client.post("/account/verify-email/", {"uid": link["uid"], "token": link["token"]})
    assert b'data-outcome="verified"' in done.content
    assert User.objects.get().email_verified


def test_the_verify_page_of_a_used_link_says_the_address_is_already_confirmed(client):
    register()
    link = link_from_outbox("verify_email", "reader@example.com")
    client.post("/account/verify-email/", {"uid": link["uid"], "token": link["token"]})
    for reopened in (
        client.get(f"/account/verify-email/?uid={link['uid']}&token={link['token']}"),
        client.post("/account/verify-email/", {"uid": link["uid"], "token": link["token"]}),
    ):
        html = reopened.content.decode()
        assert reopened.status_code == 200
        assert 'data-outcome="already-verified"' in html and "already confirmed" in html
        assert "not valid" not in html and 'id="verify"' not in html
    forged = client.get(f"/account/verify-email/?uid={link['uid']}&token=1-forged").content
    assert b"not valid or has expired" in forged


@pytest.fixture
def book(db):
    return BookFactory(stock_quantity=5)


def place_order(user, book):
    return signed_in(user).post(
        "/api/orders/", with_shipping({"items": [{"book": book.pk, "quantity": 1}]})
    )


def test_unverified_customers_may_not_order_when_required(settings, book):
    settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER = True
    user = UserFactory(email_verified=False)
    assert_problem(place_order(user, book), 403, "email_not_verified")
    assert not Order.objects.exists()
    assert Book.objects.get(pk=book.pk).reserved_quantity == 0
    user.email_verified = True
    user.save()
    assert place_order(user, book).status_code == 201


def test_unverified_customers_may_order_when_not_required(settings, book):
    settings.REQUIRE_VERIFIED_EMAIL_TO_ORDER = False
    assert place_order(UserFactory(email_verified=False), book).status_code == 201


def test_changing_email_needs_the_password_and_a_new_verification():
    user = UserFactory(email="old@example.com", email_verified=True)
    client = signed_in(user)
    no_password = client.patch("/api/users/me/", {"email": "new@example.com"})
    assert field_errors(assert_problem(no_password, 400, "validation_error")) == {"password"}
    wrong = client.patch("/api/users/me/", {"email": "new@example.com", "password": "wrong-one"})
    assert field_errors(assert_problem(wrong, 400, "validation_error")) == {"password"}
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("old@example.com", True)

    response = client.patch(
        "/api/users/me/", {"email": "New@Example.com", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["email_verified"]) == (
        "new@example.com",
        False,
    )
    sent = set(OutboxEmail.objects.values_list("kind", "to"))
    assert sent == {("verify_email", "new@example.com"), ("email_changed", "old@example.com")}
    link = link_from_outbox("verify_email", "new@example.com")
    assert verify(uid=link["uid"], token=link["token"]).status_code == 204
    user.refresh_from_db()
    assert (user.email, user.email_verified) == ("new@example.com", True)


def test_a_verification_link_for_the_old_address_stops_working_after_a_change():
    register("old@example.com")
    old_link = link_from_outbox("verify_email", "old@example.com")
    user = User.objects.get()
    signed_in(user).patch(
        "/api/users/me/", {"email": "new@example.com", "password": STRONG_PASSWORD}
    )
    assert_problem(verify(uid=old_link["uid"], token=old_link["token"]), 400, "validation_error")


def test_changing_to_an_address_in_use_is_refused():
    UserFactory(email="taken@example.com")
    user = UserFactory(email="mine@example.com")
    response = signed_in(user).patch(
        "/api/users/me/", {"email": "taken@example.com", "password": DEFAULT_PASSWORD}
    )
    assert field_errors(assert_problem(response, 400, "validation_error")) == {"email"}
    user.refresh_from_db()
    assert user.email == "mine@example.com"


def test_same_email_with_other_case_needs_no_password():
    user = UserFactory(email="mine@example.com", email_verified=True)
    response = signed_in(user).patch("/api/users/me/", {"email": "MINE@example.com"})
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.email_verified


def test_link_confirmations_are_throttled_per_client():
    client = ProblemCheckingAPIClient()
    answers = [
        client.post("/api/users/verify-email/", {"uid": "MQ", "token": "guess"}).status_code
        for _ in range(21)
    ]
    assert answers == [400] * 20 + [429]
    reset = client.post(
        "/api/users/password-reset/confirm/",
        {"uid": "MQ", "token": "guess", "new_password": "Sturdy-Paperback-42"},
    )
    assert_problem(reset, 429, "throttled")
