import re
import statistics
import time

import pytest
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from accounts.tests.helpers import link_from_outbox
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Brand-New-Paperback-81"


def request_reset(email, client=None):
    client = client or ProblemCheckingAPIClient()
    return client.post("/api/users/password-reset/", {"email": email})


def confirm(**payload):
    return ProblemCheckingAPIClient().post("/api/users/password-reset/confirm/", payload)


def login(email, password):
    return ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": email, "password": password}
    )


def test_known_and_unknown_addresses_get_the_same_answer(django_capture_on_commit_callbacks):
    user = UserFactory(email="known@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        known = request_reset("KNOWN@example.com")
        unknown = request_reset("nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert set(known.headers) == set(unknown.headers)
    # The known address got its email, linked to its account; the unknown one's was dropped.
    [sent] = mail.outbox
    assert sent.to == [user.email] and "password" in sent.subject.lower()
    assert "/account/password-reset/?uid=" in sent.alternatives[0][0]
    assert "&amp;token=" in sent.alternatives[0][0]  # escaped in HTML, as the template would
    messages = {m.to: m for m in OutboxEmail.objects.filter(kind="password_reset")}
    assert (messages[user.email].status, messages[user.email].user) == ("sent", user)
    assert (messages["nobody@example.com"].status, messages["nobody@example.com"].user) == (
        "dropped",
        None,
    )


def test_inactive_accounts_get_no_reset_email(django_capture_on_commit_callbacks):
    UserFactory(email="gone@example.com", is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert request_reset("gone@example.com").status_code == 202
    assert mail.outbox == []
    assert OutboxEmail.objects.get(kind="password_reset").status == "dropped"


@override_settings(EMAIL_OUTBOX_FLUSH_ON_COMMIT=False)
def test_known_and_unknown_addresses_do_the_same_work():
    """Issue 24, item 7: the request does the same for both (the sender tells them apart, later,
    off the request): the same queries, in the same order, and one queued email each."""
    UserFactory(email="known@example.com")

    def queries_for(email):
        cache.clear()  # the throttles are not what is compared
        with CaptureQueriesContext(connection) as captured:
            assert request_reset(email).status_code == 202
        # Compare the statements' shapes: values (the address, a random key, times) and
        # savepoint names differ from one request to the next.
        return [
            re.sub(r"'[^']*'|\"s\d+_x\d+\"|\d+", "?", query["sql"])
            for query in captured.captured_queries
        ]

    known, unknown = queries_for("known@example.com"), queries_for("nobody@example.com")
    assert known == unknown
    assert not any("accounts_user" in sql for sql in known)  # no lookup of the account at all
    queued = OutboxEmail.objects.filter(kind="password_reset", status="pending")
    assert sorted(queued.values_list("to", flat=True)) == [
        "known@example.com",
        "nobody@example.com",
    ]


@override_settings(EMAIL_OUTBOX_FLUSH_ON_COMMIT=False)
def test_known_and_unknown_addresses_take_similar_time():
    UserFactory(email="known@example.com")

    def median_seconds(email):
        timings = []
        for _ in range(7):
            cache.clear()  # the throttles are not what is measured
            started = time.perf_counter()
            assert request_reset(email).status_code == 202
            timings.append(time.perf_counter() - started)
        return statistics.median(timings)

    known, unknown = median_seconds("known@example.com"), median_seconds("nobody@example.com")
    # Both queue the email alike. Generous bounds: a shared machine.
    assert abs(known - unknown) < 0.05 + 0.5 * max(known, unknown)


def test_reset_sets_the_new_password_and_revokes_every_token(django_capture_on_commit_callbacks):
    user = UserFactory(email="reader@example.com")
    tokens = login(user.email, DEFAULT_PASSWORD).json()
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)

    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(uid=link["uid"], token=link["token"], new_password=NEW_PASSWORD)
    assert response.status_code == 204

    assert login(user.email, NEW_PASSWORD).status_code == 200
    assert_problem(login(user.email, DEFAULT_PASSWORD), 401, "authentication_failed")
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert_problem(client.get("/api/users/me/"), 401, "token_not_valid")
    refreshed = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": tokens["refresh"]}
    )
    assert_problem(refreshed, 401, "token_not_valid")
    user.refresh_from_db()
    assert user.email_verified  # the link proved the inbox


def test_a_reset_link_works_once():
    user = UserFactory()
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)
    assert (
        confirm(uid=link["uid"], token=link["token"], new_password=NEW_PASSWORD).status_code == 204
    )
    again = confirm(uid=link["uid"], token=link["token"], new_password="Yet-Another-Paperback-5")
    body = assert_problem(again, 400, "validation_error")
    assert field_errors(body) == {"token"}
    assert login(user.email, NEW_PASSWORD).status_code == 200


def test_a_reset_link_expires(settings):
    user = UserFactory()
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = confirm(uid=link["uid"], token=link["token"], new_password=NEW_PASSWORD)
    assert_problem(response, 400, "validation_error")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    "uid, token",
    [("MQ", "bad-token"), ("!!", "x"), ("", ""), ("OTk5OTk5", "abc-def"), ("x" * 64, "y" * 128)],
)
def test_bad_links_are_refused_and_change_nothing(uid, token):
    user = UserFactory()
    response = confirm(uid=uid, token=token, new_password=NEW_PASSWORD)
    assert_problem(response, 400, "validation_error")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_validators_apply():
    user = UserFactory()
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)
    response = confirm(uid=link["uid"], token=link["token"], new_password="12345")
    body = assert_problem(response, 400, "validation_error")
    assert field_errors(body) == {"new_password"}
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    # The link was not used up by the refused attempt.
    assert (
        confirm(uid=link["uid"], token=link["token"], new_password=NEW_PASSWORD).status_code == 204
    )


def test_reset_emails_are_capped_per_address_without_refusing_the_owner():
    """Issue 24, item 8: three requests from anywhere used to make the owner's own request 429
    for an hour. The cap limits the emails an address gets; every request answers 202."""
    UserFactory(email="target@example.com")
    answers = []
    for index in range(3):
        client = ProblemCheckingAPIClient(REMOTE_ADDR=f"10.0.0.{index + 1}")
        answers.append(request_reset("target@example.com", client))
    owner = request_reset("Target@example.com", ProblemCheckingAPIClient(REMOTE_ADDR="10.0.0.9"))
    assert [a.status_code for a in answers] == [202, 202, 202] and owner.status_code == 202
    assert owner.json() == answers[0].json()
    assert "Retry-After" not in owner.headers
    assert OutboxEmail.objects.filter(kind="password_reset").count() == 3  # the cap held
    # Unknown addresses are capped the same way (no difference to observe).
    for _ in range(4):
        assert request_reset("unknown@example.com").status_code == 202
    assert OutboxEmail.objects.filter(kind="password_reset", to="unknown@example.com").count() == 3


def test_requests_are_throttled_per_client():
    client = ProblemCheckingAPIClient()
    answers = [request_reset(f"person{n}@example.com", client).status_code for n in range(11)]
    assert answers == [202] * 10 + [429]


def test_reset_page_sets_the_password(client):
    user = UserFactory()
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)
    page = client.get(f"/account/password-reset/?uid={link['uid']}&token={link['token']}")
    assert page.status_code == 200
    assert b'name="new_password"' in page.content
    assert "no-store" in page["Cache-Control"]
    done = client.post(
        "/account/password-reset/",
        {
            "uid": link["uid"],
            "token": link["token"],
            "new_password": NEW_PASSWORD,
            "repeat": NEW_PASSWORD,
        },
    )
    assert b"password-changed" in done.content
    assert login(user.email, NEW_PASSWORD).status_code == 200


def test_reset_page_shows_errors_and_changes_nothing(client):
    user = UserFactory()
    invalid = client.get("/account/password-reset/?uid=MQ&token=nope")
    assert b"not valid" in invalid.content and b'name="new_password"' not in invalid.content
    request_reset(user.email)
    link = link_from_outbox("password_reset", user.email)
    weak = client.post(
        "/account/password-reset/",
        {"uid": link["uid"], "token": link["token"], "new_password": "123", "repeat": "123"},
    )
    assert weak.status_code == 200 and b"too short" in weak.content
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert User.objects.count() == 1
