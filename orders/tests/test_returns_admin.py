"""Returns in the back office: listed with their lines, and the same steps as the API."""

from decimal import Decimal

import pytest
from django.contrib.admin import helpers

from catalog.tests.factories import BookFactory
from orders import services
from orders.models import Return
from orders.tests.factories import shipped_order

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/orders/return/"


@pytest.fixture
def order_return(user):
    book = BookFactory(price=Decimal("9.00"), stock_quantity=4)
    order = shipped_order(user=user, lines={book: 2})
    return services.return_request(
        user=user, order_id=order.pk, items=[{"book": book.pk, "quantity": 2}], reason="Too big"
    )


def run(client, action, order_return, **extra):
    return client.post(
        CHANGELIST,
        {"action": action, helpers.ACTION_CHECKBOX_NAME: [order_return.pk], **extra},
        follow=True,
    )


def test_the_list_and_the_page_show_the_lines(manager_client, order_return):
    assert order_return.number in manager_client.get(CHANGELIST).content.decode()
    page = manager_client.get(f"{CHANGELIST}{order_return.pk}/change/").content.decode()
    assert "Too big" in page and order_return.lines.get().order_item.title in page


def test_the_page_reads_its_lines_in_one_query_however_many(manager_client, user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def page_queries(copies_of):
        books = [BookFactory(price=Decimal("9.00")) for _ in range(copies_of)]
        order = shipped_order(user=user, lines=dict.fromkeys(books, 1))
        order_return = services.return_request(
            user=user,
            order_id=order.pk,
            items=[{"book": book.pk, "quantity": 1} for book in books],
            reason="Too big",
        )
        with CaptureQueriesContext(connection) as captured:
            assert manager_client.get(f"{CHANGELIST}{order_return.pk}/change/").status_code == 200
        return len(captured)

    page_queries(1)  # the first page also fills per-process caches (content types)
    assert page_queries(5) == page_queries(1)


def test_approve_and_receive_without_restocking(manager_client, order_return):
    run(manager_client, "approve_returns", order_return)
    assert Return.objects.get().status == "approved"
    book = order_return.lines.get().order_item.book
    on_hand = type(book).objects.get(pk=book.pk).stock_quantity
    run(manager_client, "receive_returns_damaged", order_return)
    received = Return.objects.get()
    assert (received.status, received.restocked) == ("received", False)
    assert type(book).objects.get(pk=book.pk).stock_quantity == on_hand
    page = run(manager_client, "approve_returns", order_return).content.decode()
    assert "it cannot become approved" in page


def test_reject_needs_the_note(manager_client, order_return):
    page = run(manager_client, "reject_returns", order_return).content.decode()
    assert "Write why in the note" in page
    assert Return.objects.get().status == "requested"
    run(manager_client, "reject_returns", order_return, note="Worn covers")
    assert (Return.objects.get().status, Return.objects.get().staff_note) == (
        "rejected",
        "Worn covers",
    )


def test_staff_without_the_permission_see_no_returns(order_return):
    from django.test import Client

    from accounts.tests.factories import StaffFactory

    client = Client()
    client.force_login(StaffFactory())
    assert client.get(CHANGELIST).status_code == 403
