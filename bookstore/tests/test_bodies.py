"""Whatever body a client sends, every write endpoint answers a problem document, never a 500:
deeply nested JSON, bodies over the size limit, binary garbage, NUL characters. Client errors
never page the admins, and unknown /api/ addresses answer problem+json also with DEBUG on."""

import io
import logging
import os

import pytest
from django.core import mail
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.tests.factories import AddressFactory, StaffFactory
from catalog.models import Author, Genre
from catalog.tests.factories import AuthorFactory, BookFactory, GenreFactory
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders import carts as cart_services
from orders import services as order_services
from orders.models import Order
from orders.tests.factories import with_shipping
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
DEEP = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def write_routes():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return sorted(
        (method.upper(), path, "requestBody" in operation)
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if method in ("post", "put", "patch") and path.startswith("/api/")
    )


WRITE_ROUTES = write_routes()


@pytest.fixture
def fake(monkeypatch):
    from payments.tests import fake_stripe

    return fake_stripe.install(monkeypatch)


@pytest.fixture
def superuser_client(fake):
    """The most privileged caller, so that every endpoint gets as far as reading its body."""
    user = StaffFactory(is_superuser=True)
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    payment = payment_for_new_order(fake=fake, user=user, book=BookFactory(stock_quantity=50))
    book = BookFactory(authors=[AuthorFactory()], genres=[GenreFactory()])
    client.ids = {
        "orders": payment.order_id,
        "payments": payment.pk,
        "books": book.pk,
        "authors": book.authors.first().pk,
        "genres": book.genres.first().pk,
        "users": AddressFactory(user=user).pk,  # /api/users/me/addresses/{id}/
        "cart_id": cart_services.cart_of_customer(user=user).pk,
        "book_id": book.pk,
        "review_id": 1,  # the body is read before the review is looked up
    }
    cart_services.cart_line_add(
        cart=cart_services.cart_of_customer(user=user), book_id=book.pk, quantity=1
    )
    return client


def url_for(client, path):
    resource = path.split("/")[2]
    url = path.replace("{id}", str(client.ids.get(resource, 1)))
    for name in ("cart_id", "book_id", "review_id"):
        url = url.replace(f"{{{name}}}", str(client.ids[name]))
    return url


def send(client, method, path, body, content_type="application/json"):
    return getattr(client, method.lower())(url_for(client, path), body, content_type=content_type)


def assert_client_error(response, *statuses):
    assert response.status_code < 500, (response.status_code, response.content[:300])
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    if statuses:
        assert response.status_code in statuses, (response.status_code, response.content[:300])


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_deep_huge_binary_and_nul_bodies_are_client_errors(superuser_client, route, settings):
    method, path, reads_body = route
    # An action that takes no body (cancel, ship...) may ignore it; one that reads it says 400.
    refused = (400,) if reads_body else ()
    for body in (DEEP, DEEP_OBJECT, b"\xff\xfe\x00garbage\x80", b'{"name": "a\\u0000b"}'):
        assert_client_error(send(superuser_client, method, path, body), *refused)
    assert_client_error(send(superuser_client, method, path, b'{"x": NaN}'), *refused)
    huge = b'{"x": "' + b"a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + b'"}'
    body = assert_problem(send(superuser_client, method, path, huge), 413, "payload_too_large")
    assert "larger than" in body["detail"]


@pytest.mark.parametrize("route", WRITE_ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_random_bytes_never_cause_a_server_error(superuser_client, route):
    method, path, _ = route

    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        body=st.binary(max_size=512)
        | st.recursive(st.just(b"[]"), lambda s: s.map(lambda b: b"[" + b + b"]"), max_leaves=60)
    )
    def check(body):
        assert_client_error(send(superuser_client, method, path, body))

    check()


def test_a_50000_deep_body_on_token_refresh_is_400(api_client):
    body = assert_problem(
        api_client.post("/api/users/token/refresh/", DEEP, content_type="application/json"),
        400,
        "parse_error",
    )
    assert "nested too deeply" in body["detail"]


def test_a_body_over_the_limit_is_413_before_anything_is_stored(user_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    book = BookFactory(stock_quantity=5)
    padding = " " * 1000
    body = f'{{"items": [{{"book": {book.pk}, "quantity": 1}}]{padding}}}'
    response = user_client.post("/api/orders/", body, content_type="application/json")
    assert_problem(response, 413, "payload_too_large")
    assert not Order.objects.exists()


def test_the_parser_counts_what_it_reads(settings):
    """Also a body that declared no length (or a wrong one) stops at the limit."""
    from core.parsers import JSONParser, PayloadTooLarge

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    with pytest.raises(PayloadTooLarge):
        JSONParser().parse(io.BytesIO(b'{"x": "' + b"a" * 200 + b'"}'))
    assert JSONParser().parse(io.BytesIO(b'{"x": "a"}')) == {"x": "a"}


def test_nul_in_author_and_genre_names_is_400_and_stores_nothing(manager_api):
    for path in ("/api/authors/", "/api/genres/"):
        assert_problem(manager_api.post(path, {"name": "Nul\x00Name"}), 400)
    assert not Author.objects.exists() and not Genre.objects.exists()


def test_nul_on_the_pay_page_confirm_is_400(fake, user):
    payment = payment_for_new_order(fake=fake, user=user, book=BookFactory(stock_quantity=5))
    client = ProblemCheckingAPIClient()
    url = f"/pay/{payment.token}/confirm/"
    for body in (DEEP, b'{"payment_method": "pm_\\u0000"}', b"\xff"):
        assert_problem(client.post(url, body, content_type="application/json"), 400)


def test_order_placement_still_reads_ordinary_json(user_client):
    book = BookFactory(stock_quantity=5)
    response = user_client.post(
        "/api/orders/", with_shipping({"items": [{"book": book.pk, "quantity": 1}]}), format="json"
    )
    assert response.status_code == 201
    order_services.order_cancel(order=Order.objects.get(), actor=user_client.user)


# --- Client errors never page the admins -----------------------------------------------------


@pytest.fixture
def security_log(monkeypatch):
    """What the `django.security` loggers write, through the handlers the settings give them."""
    stream = io.StringIO()
    for handler in logging.getLogger("django.security").handlers:
        if isinstance(handler, logging.StreamHandler):
            monkeypatch.setattr(handler, "stream", stream)
    return stream


def test_a_bad_host_header_is_logged_as_a_warning_and_not_mailed(client, settings, security_log):
    settings.ADMINS = [("Ops", "ops@example.com")]
    response = client.get("/api/health/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert mail.outbox == []
    logged = security_log.getvalue()
    assert "evil.example.com" in logged and "WARNING" in logged and "ERROR" not in logged


def test_no_handler_of_djangos_mails_the_admins():
    from django.utils.log import AdminEmailHandler

    for name in ("django", "django.request", "django.security", "django.security.DisallowedHost"):
        logger = logging.getLogger(name)
        while logger:
            assert not any(isinstance(h, AdminEmailHandler) for h in logger.handlers), name
            logger = logger.parent if logger.propagate else None


# --- Unknown /api/ addresses -----------------------------------------------------------------


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_api_addresses_answer_problem_json_in_every_mode(client, settings, debug):
    settings.DEBUG = debug
    for path in ("/api/nothing-here/", "/api/books/1/nothing/", "/api/"):
        assert_problem(client.get(path), 404, "not_found")
    assert_problem(client.post("/api/nothing-here/", {}), 404, "not_found")
    # Also for a browser-like client that enforces CSRF: a 404, not an HTML 403.
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    assert_problem(strict.put("/api/authors/0.5/", {}), 404, "not_found")


def test_a_large_upload_is_refused_anywhere_but_the_book_import(client, manager_client, settings):
    """Django would stream a multipart body's files to disk before any view (or the CSRF
    check) ran: only the import page, which takes a file, may receive one past the limit."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = SimpleUploadedFile("books.csv", b"book_id,title\n" + b"1,x\n" * 5_000)
    refused = client.post("/admin/login/", {"file": big})
    assert refused.status_code == 413
    big.seek(0)
    taken = manager_client.post("/admin/catalog/book/import/", {"csv_file": big})
    assert taken.status_code != 413
