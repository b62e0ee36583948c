"""The shop's own address must not become a stranger's megaphone: every endpoint that sends mail
is throttled, and a name (the one text a customer puts into the shop's emails) stays on one
line and out of the shop's own sentences."""

import pytest

from accounts.addresses import address_lines
from accounts.models import Address, User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "Sturdy-Paperback-42"
FORGED = "customer,\n\nURGENT: your account is suspended, log in at https://evil.example/login"


def signed_in(user, ip="10.7.7.7"):
    client = ProblemCheckingAPIClient(REMOTE_ADDR=ip)
    client.force_authenticate(user)
    return client


def test_toggling_the_email_is_throttled_before_any_mail_goes_out(throttle_rates):
    throttle_rates(email_change="3/hour")
    user = UserFactory(email="me@example.com")
    client = signed_in(user)
    targets = ["victim@example.net", "me@example.com"] * 3
    statuses = [
        client.patch("/api/users/me/", {"email": email, "password": DEFAULT_PASSWORD}).status_code
        for email in targets
    ]
    assert statuses == [200, 200, 200, 429, 429, 429]
    # Three changes: each a verification to the new address and a notice to the old one.
    assert OutboxEmail.objects.filter(kind="verify_email").count() == 3
    assert OutboxEmail.objects.filter(kind="email_changed").count() == 3
    user.refresh_from_db()
    assert user.email == "victim@example.net"
    response = client.patch("/api/users/me/", {"email": "x@example.org", "password": "p"})
    assert_problem(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    # Editing the name sends nothing and is not held back.
    assert client.patch("/api/users/me/", {"first_name": "Ada"}).status_code == 200


def test_registration_mail_to_one_address_is_capped_whoever_asks_and_nobody_is_refused(
    throttle_rates,
):
    throttle_rates(register_email="3/hour")
    UserFactory(email="victim@example.com")
    answers = []
    for n, spelling in enumerate(["victim@example.com", "VICTIM@example.com"] * 3):
        client = ProblemCheckingAPIClient(REMOTE_ADDR=f"10.8.8.{n}")
        body = {"email": spelling, "password": STRONG_PASSWORD}
        response = client.post("/api/users/register/", body)
        answers.append((response.status_code, response.json()))
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)  # capped or not, one answer
    assert OutboxEmail.objects.filter(to="victim@example.com").count() == 3
    # An address nobody has: after someone else's three tries, its owner still registers (the
    # account exists; the verification email can be asked for again once signed in).
    for n in range(3):
        ProblemCheckingAPIClient(REMOTE_ADDR=f"10.9.8.{n}").post(
            "/api/users/register/", {"email": "new@example.com", "password": STRONG_PASSWORD}
        )
    assert User.objects.filter(email="new@example.com").count() == 1
    assert OutboxEmail.objects.filter(to="new@example.com").count() == 3
    owner = ProblemCheckingAPIClient(REMOTE_ADDR="10.9.9.9").post(
        "/api/users/register/", {"email": "new@example.com", "password": STRONG_PASSWORD}
    )
    assert owner.status_code == 201
    assert OutboxEmail.objects.filter(to="new@example.com").count() == 3


def test_refused_registrations_spend_none_of_an_addresss_mail(throttle_rates):
    """Weak passwords sent for someone's address send nothing, and must not use up the emails
    its owner's own registration will need."""
    throttle_rates(register_email="3/hour")
    for n in range(3):
        weak = ProblemCheckingAPIClient(REMOTE_ADDR=f"10.7.7.{n}").post(
            "/api/users/register/", {"email": "owner@example.com", "password": "password"}
        )
        assert weak.status_code == 400
    owner = ProblemCheckingAPIClient(REMOTE_ADDR="10.7.8.1").post(
        "/api/users/register/", {"email": "owner@example.com", "password": STRONG_PASSWORD}
    )
    assert owner.status_code == 201
    assert OutboxEmail.objects.filter(to="owner@example.com").count() == 1


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (FORGED, FORGED.replace("\n\n", " ")),
        ("Ada\r\nLovelace", "Ada Lovelace"),
        ("Ada\u2028\u2029Byron", "Ada Byron"),  # Unicode line and paragraph separators
        ("\u202eecilA", "ecilA"),  # a right-to-left override would show the text reversed
        ("Al\x07i\x1b[31mce\x7f", "Ali[31mce"),
        ("  Zo\u00eb  ", "Zo\u00eb"),
        (
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
            "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        ),
    ],
)
def test_names_are_kept_on_one_line_without_control_characters(typed, kept):
    client = ProblemCheckingAPIClient()
    body = {"email": "ada@example.com", "password": STRONG_PASSWORD, "first_name": typed}
    assert client.post("/api/users/register/", body).status_code == 201
    assert User.objects.get().first_name == kept
    user = User.objects.get()
    response = signed_in(user).patch("/api/users/me/", {"last_name": typed})
    assert response.status_code == 200 and response.json()["last_name"] == kept


def test_a_name_cannot_write_the_shops_emails():
    client = ProblemCheckingAPIClient()
    body = {"email": "ada@example.com", "password": STRONG_PASSWORD, "first_name": FORGED}
    assert client.post("/api/users/register/", body).status_code == 201
    user = User.objects.get()
    # Also a name stored before names were cleaned: nothing of it reaches the mail.
    User.objects.filter(pk=user.pk).update(first_name=FORGED)
    user.refresh_from_db()
    signed_in(user).patch(
        "/api/users/me/", {"email": "ada2@example.com", "password": DEFAULT_PASSWORD}
    )
    user.set_password(DEFAULT_PASSWORD)
    user.save()
    signed_in(user).patch(
        "/api/users/me/", {"email": "ada3@example.com", "password": DEFAULT_PASSWORD}
    )
    messages = list(OutboxEmail.objects.all())
    assert {m.kind for m in messages} >= {"verify_email", "email_changed"}
    for message in messages:
        for text in (message.subject, message.text_body, message.html_body):
            assert "evil.example" not in text and "URGENT" not in text
        assert message.text_body.startswith("Hello,\n")


def test_address_names_stay_on_one_line_on_input_and_on_labels():
    user = UserFactory()
    response = signed_in(user).post(
        "/api/users/me/addresses/",
        {
            "full_name": "Ada\nURGENT: call +1 555 0100",
            "line1": "1 Main St",
            "city": "Albany",
            "region": "NY",
            "postal_code": "12207",
            "country": "US",
        },
    )
    assert response.status_code == 201, response.json()
    assert Address.objects.get().full_name == "Ada URGENT: call +1 555 0100"
    # An order's snapshot kept from before: its label still prints one line per field.
    label = address_lines({"full_name": "Ada\n\nURGENT", "line1": "1 Main\r\nSt", "country": "US"})
    assert label[:2] == ["Ada URGENT", "1 Main St"]
    blank = signed_in(user).post(
        "/api/users/me/addresses/",
        {"full_name": "\x00\u202e", "line1": "1 Main St", "city": "Albany", "country": "GB"},
    )
    assert_problem(blank, 400, "validation_error")
