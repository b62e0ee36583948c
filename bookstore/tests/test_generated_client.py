"""A client generated from our OpenAPI schema by openapi-python-client (pinned in
requirements-dev.txt), with no hand patches, buys a book from a live server: register, log in,
search, save an address, quote, order, pay with a card on the local Stripe server, paid.

If the schema under-describes an answer (an untyped status, an undeclared problem, a public read
that demands a token), the generated code fails to call or to parse it, and so does this test.
"""

import importlib
import inspect
import json
import shutil
import subprocess
import sys
import time
import typing
from decimal import Decimal
from pathlib import Path

import pytest
from drf_spectacular.generators import SchemaGenerator

from catalog.tests.factories import BookFactory
from orders.tests.factories import ShippingMethodFactory
from payments.tests.conftest import local_stripe_url, shop  # noqa: F401 (fixtures)
from payments.tests.localstripe import card_payment_method

pytestmark = pytest.mark.django_db(transaction=True)

PACKAGE = "generated_bookstore_client"
GENERATOR = shutil.which("openapi-python-client") or shutil.which(
    "openapi-python-client", path=str(Path(sys.executable).parent)
)


@pytest.fixture
def generated(tmp_path, monkeypatch):
    if GENERATOR is None:
        pytest.skip("openapi-python-client is not installed (pip install -r requirements-dev.txt)")
    schema_path = tmp_path / "openapi.json"
    schema = SchemaGenerator().get_schema(request=None, public=True)
    schema_path.write_text(json.dumps(schema, default=str))
    config = tmp_path / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatting pass: ruff need not be on PATH
    subprocess.run(  # nosec B603: the pinned generator on our own schema
        [GENERATOR, "generate", "--path", str(schema_path), "--meta", "none"]
        + ["--output-path", str(tmp_path / PACKAGE), "--config", str(config)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield lambda name: importlib.import_module(f"{PACKAGE}.{name}" if name else PACKAGE)
    for module in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[module]


def test_a_generated_client_buys_a_book(generated, shop, local_stripe_url):  # noqa: F811
    book = BookFactory(title="The Left Hand of Darkness", price=Decimal("12.50"), stock_quantity=3)
    ShippingMethodFactory(code="standard", name="Standard", price=Decimal("4.99"))
    client_module = generated("")
    models = generated("models")

    def call(tag, operation, *args, **kwargs):
        return generated(f"api.{tag}.{operation}").sync(*args, **kwargs)

    anonymous = client_module.Client(base_url=shop.url, raise_on_unexpected_status=True)

    registered = call(
        "users",
        "users_register_create",
        client=anonymous,
        body=models.RegisterRequest(
            email="reader@example.com", password="Sturdy-Paperback-42", first_name="Ursula"
        ),
    )
    assert isinstance(registered, models.Registered), registered
    tokens = call(
        "users",
        "users_login_create",
        client=anonymous,
        body=models.LoginRequest(email="reader@example.com", password="Sturdy-Paperback-42"),
    )
    assert isinstance(tokens, models.TokenPair), tokens
    customer = client_module.AuthenticatedClient(
        base_url=shop.url, token=tokens.access, raise_on_unexpected_status=True
    )

    # A public read, without a token: the generated functions take a plain client.
    for tag, operation in [("books", "books_list"), ("books", "books_retrieve")]:
        signature = inspect.signature(generated(f"api.{tag}.{operation}").sync)
        accepted = signature.parameters["client"].annotation
        assert client_module.Client in typing.get_args(accepted), accepted
    found = call(
        "books",
        "books_list",
        client=anonymous,
        search="left hand darkness",
        ordering="-price,title",
    )
    assert [result.id for result in found.results] == [book.pk]
    assert isinstance(found.results[0].stock_quantity, generated("types").Unset)  # staff only
    faceted = call(
        "books", "books_list", client=anonymous, search="left hand darkness", facets="price,genre"
    )
    assert [(bucket.min_, bucket.max_, bucket.count) for bucket in faceted.facets.price] == [
        ("0.00", "10.00", 0),
        ("10.00", "20.00", 1),
        ("20.00", "50.00", 0),
        ("50.00", None, 0),
    ]

    address = call(
        "addresses",
        "users_me_addresses_create",
        client=customer,
        body=models.AddressBookInputRequest(
            full_name="Ursula Reader",
            line1="1 Library Way",
            city="Albany",
            region="NY",
            postal_code="12207",
            country=models.CountryEnum.US,
        ),
    )
    assert isinstance(address, models.Address), address
    order_body = {
        "items": [models.OrderLineInputRequest(book=book.pk, quantity=2)],
        "shipping_address": address.id,
        "shipping_method": "standard",
    }
    quote = call(
        "orders",
        "orders_quote_create",
        client=customer,
        body=models.OrderQuoteInputRequest(**order_body),
    )
    assert quote.total == "29.99" and quote.problems == []

    # A declared problem, parsed with its extra members.
    too_many = call(
        "orders",
        "orders_create",
        client=customer,
        body=models.OrderCreateRequest(
            **{**order_body, "items": [models.OrderLineInputRequest(book=book.pk, quantity=5)]}
        ),
    )
    assert isinstance(too_many, models.Problem), too_many
    assert (too_many.status, too_many.code) == (409, "insufficient_stock")
    assert too_many.books[0].book == book.pk and too_many.books[0].available == 3

    order = call(
        "orders", "orders_create", client=customer, body=models.OrderCreateRequest(**order_body)
    )
    assert isinstance(order, models.Order), order
    assert order.status == models.OrderStatusEnum.PENDING and order.total == "29.99"

    payment = call(
        "payments",
        "payments_create",
        client=customer,
        body=models.PaymentStartRequest(order=order.id),
    )
    assert isinstance(payment, models.Payment), payment
    card = card_payment_method(
        local_stripe_url,
        setup_client_secret=payment.setup_intent_client_secret,
        publishable_key=payment.publishable_key,
        number="4242424242424242",
    )
    confirmed = call(
        "payments",
        "payments_confirm_create",
        payment.id,
        client=customer,
        body=models.PaymentConfirmRequest(payment_method=card),
    )
    assert isinstance(confirmed, models.PaymentConfirmResult), confirmed
    assert confirmed.next_step == models.NextStepEnum.SUCCEEDED

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        status = call("orders", "orders_retrieve", order.id, client=customer).status
        if status == models.OrderStatusEnum.PAID:
            break
        time.sleep(0.3)
    assert status == models.OrderStatusEnum.PAID, "the webhook never marked the order paid"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (1, 0)
