"""One spelling of an address (accounts.models.normalize_email: NFKC, lower case, ASCII only)
for storage, lookups, the unique constraint, throttles and the lockout. PostgreSQL folds "ſ"
onto "s" and "ı" onto "i" when it compares without case; Python's str.lower() does not: before,
each look-alike spelling was a fresh lockout and throttle budget, a second account, or a 500."""

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User, normalize_email
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem

STRONG_PASSWORD = "Sturdy-Paperback-42"
LONG_S = "\u017f"  # ſ, LATIN SMALL LETTER LONG S: NFKC makes it "s"
DOTLESS_I = "\u0131"  # ı, LATIN SMALL LETTER DOTLESS I: no ASCII form, PostgreSQL folds it to I


def register(email, client=None):
    client = client or ProblemCheckingAPIClient()
    return client.post("/api/users/register/", {"email": email, "password": STRONG_PASSWORD})


def login(email, password=DEFAULT_PASSWORD, ip="10.3.3.3"):
    client = ProblemCheckingAPIClient(REMOTE_ADDR=ip)
    return client.post("/api/users/login/", {"email": email, "password": password})


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (f"Bu{LONG_S}ine{LONG_S}{LONG_S}@Example.COM", "business@example.com"),
        ("\uff42ook@example.com", "book@example.com"),  # a full-width b
        ("  reader@example.com ", "reader@example.com"),
    ],
)
def test_spellings_normalise_to_one_ascii_address(typed, stored):
    assert normalize_email(typed) == stored


@pytest.mark.django_db
def test_a_long_s_spelling_is_the_same_account():
    UserFactory(email="business@example.com")
    assert register(f"bu{LONG_S}ine{LONG_S}{LONG_S}@example.com").status_code == 201
    assert User.objects.count() == 1  # the owner was told instead
    assert OutboxEmail.objects.filter(kind="account_exists").count() == 1
    response = login(f"BU{LONG_S}INE{LONG_S}{LONG_S}@example.com")
    assert response.status_code == 200 and "access" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "email", [f"b{DOTLESS_I}g@example.com", "caf\u00e9@example.com", "big@b\u00fccher.example"]
)
def test_addresses_without_an_ascii_spelling_are_refused_with_a_clear_400(email):
    UserFactory(email="big@example.com")
    body = assert_problem(register(email), 400, "validation_error")
    assert [(e["field"], e["code"]) for e in body["errors"]] == [("email", "non_ascii")]
    assert "ASCII" in body["errors"][0]["message"]
    assert User.objects.count() == 1
    user = User.objects.get()
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    response = client.patch("/api/users/me/", {"email": email, "password": DEFAULT_PASSWORD})
    assert_problem(response, 400, "validation_error")
    user.refresh_from_db()
    assert user.email == "big@example.com"


@pytest.mark.django_db
def test_a_look_alike_login_is_refused_and_never_a_500():
    UserFactory(email="big@example.com")
    # A row kept from before addresses were normalised, which PostgreSQL's case folding
    # matches as well: a case-insensitive lookup would have found two accounts.
    User.objects.bulk_create([User(email=f"b{DOTLESS_I}g@example.com")])
    for spelling in ["big@example.com", "BIG@example.com", f"b{DOTLESS_I}g@example.com"]:
        response = login(spelling, password="wrong")
        assert response.status_code == 401, response.content
    assert login("BIG@example.com").status_code == 200
    assert login(f"B{DOTLESS_I}G@example.com").status_code == 401


@pytest.mark.django_db
def test_the_lockout_cannot_be_dodged_by_spelling(settings):
    UserFactory(email="business@example.com")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        assert login("business@example.com", password="wrong").status_code == 401
    for spelling in [
        f"bu{LONG_S}ine{LONG_S}{LONG_S}@example.com",
        "BUSINESS@EXAMPLE.COM",
        "\uff42usiness@example.com",
    ]:
        assert_problem(login(spelling), 429, "login_locked")
    # Spellings with no ASCII form never reach an account, locked or not.
    assert login(f"bus{DOTLESS_I}ness@example.com").status_code == 401


@pytest.mark.django_db
def test_the_reset_limit_per_address_cannot_be_dodged_by_spelling():
    UserFactory(email="business@example.com")
    spellings = [
        "business@example.com",
        f"bu{LONG_S}iness@example.com",
        f"busine{LONG_S}s@example.com",
        f"bu{LONG_S}ine{LONG_S}{LONG_S}@example.com",
        "BUSINESS@example.com",
        "\uff42usiness@example.com",
        "business@EXAMPLE.com",
    ]
    for n, spelling in enumerate(spellings):
        client = ProblemCheckingAPIClient(REMOTE_ADDR=f"10.4.4.{n}")
        client.post("/api/users/password-reset/", {"email": spelling})
    assert OutboxEmail.objects.filter(kind="password_reset").count() == 3


@pytest.mark.django_db
def test_the_database_refuses_a_second_row_for_one_address():
    UserFactory(email="business@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="BUSINESS@example.com")])


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
@pytest.mark.parametrize("round_number", range(3))
def test_racing_registrations_of_two_spellings_make_one_account(round_number):
    from orders.tests.test_concurrency import run_together

    spellings = [
        f"business{round_number}@example.com",
        f"bu{LONG_S}ine{LONG_S}{LONG_S}{round_number}@example.com",
        f"BUSINESS{round_number}@example.com",
    ]
    statuses = run_together(
        [lambda email=email: register(email).status_code for email in spellings]
    )
    assert statuses == [201, 201, 201]  # the same answer for all: nothing tells who won
    assert list(User.objects.values_list("email", flat=True)) == [spellings[0]]
    for spelling in spellings:
        assert login(spelling, password=STRONG_PASSWORD).status_code == 200
