"""Back-in-stock alerts: subscribing while a book is sold out, and one email per waiting reader
(oldest first, through the outbox, after commit) whenever its available copies go from none to
some, whatever brought them back."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory as AnyUserFactory
from bookstore.dashboard import dashboard_figures
from catalog import inventory, services
from catalog.models import Book, StockAlert
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db


# Readers whose addresses are confirmed, as alerts need.
def UserFactory(**fields):
    return AnyUserFactory(**{"email_verified": True, **fields})


@pytest.fixture
def user():
    return UserFactory()


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block, then what its transactions left for after commit (the email sends)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def sold_out():
    return BookFactory(title="The Overstory", stock_quantity=0)


def wait_for(book, *users):
    for user in users:
        services.stock_alert_subscribe(user=user, book_id=book.pk)


def alert_emails():
    return [
        (message.to, message.subject)
        for message in mail.outbox
        if "Back in stock" in message.subject
    ]


# --- Subscribing ------------------------------------------------------------------------------


def test_subscribing_to_a_sold_out_book_is_accepted_once(sold_out, user):
    client = client_for(user)
    url = f"/api/books/{sold_out.pk}/notify-me/"
    first = client.post(url)
    assert first.status_code == 202
    assert first.json()["book"]["id"] == sold_out.pk
    assert client.post(url).status_code == 202
    assert StockAlert.objects.filter(user=user, book=sold_out).count() == 1
    listed = client.get("/api/users/me/alerts/").json()
    assert [alert["book"]["title"] for alert in listed["results"]] == ["The Overstory"]
    assert client.delete(url).status_code == 204
    assert_problem(client.delete(url), 404, "not_found")
    assert client.get("/api/users/me/alerts/").json()["count"] == 0


def test_only_a_confirmed_address_gets_alerts(sold_out):
    """An alert is an email to come: registering with someone else's address must not sign
    them up for the shop's mail."""
    unconfirmed = AnyUserFactory(email="someone.else@example.com")
    refused = client_for(unconfirmed).post(f"/api/books/{sold_out.pk}/notify-me/")
    assert_problem(refused, 403, "email_not_verified")
    assert "verify-email/resend" in refused.json()["detail"]
    assert not StockAlert.objects.exists()


def test_a_book_with_copies_available_answers_in_stock(user):
    book = BookFactory(stock_quantity=2)
    assert_problem(client_for(user).post(f"/api/books/{book.pk}/notify-me/"), 409, "in_stock")
    assert not StockAlert.objects.exists()


def test_copies_all_held_by_unpaid_orders_count_as_sold_out(user):
    book = BookFactory(stock_quantity=1)
    order_services.order_place(user=UserFactory(), items=[{"book": book.pk, "quantity": 1}])
    assert client_for(user).post(f"/api/books/{book.pk}/notify-me/").status_code == 202


def test_signing_in_is_needed_and_others_alerts_are_not_yours(sold_out, user):
    url = f"/api/books/{sold_out.pk}/notify-me/"
    assert_problem(ProblemCheckingAPIClient().post(url), 401, "not_authenticated")
    assert_problem(ProblemCheckingAPIClient().get("/api/users/me/alerts/"), 401)
    wait_for(sold_out, user)
    other = client_for(UserFactory())
    assert_problem(other.delete(url), 404, "not_found")
    assert other.get("/api/users/me/alerts/").json()["count"] == 0
    assert StockAlert.objects.filter(user=user).exists()


def test_unknown_and_archived_books_are_not_found(sold_out, user):
    client = client_for(user)
    assert_problem(client.post("/api/books/999999/notify-me/"), 404, "not_found")
    sold_out.is_active = False
    sold_out.save(update_fields=["is_active"])
    assert_problem(client.post(f"/api/books/{sold_out.pk}/notify-me/"), 404, "not_found")


# --- The three causes of copies coming back ----------------------------------------------------


def test_a_staff_restock_emails_every_waiting_reader_oldest_first(sold_out, committed):
    first, second = UserFactory(email="first@example.com"), UserFactory(email="second@example.com")
    wait_for(sold_out, first, second)
    StockAlert.objects.filter(user=first).update(created_at=timezone.now() - timedelta(days=2))
    with committed():
        services.book_update(book=sold_out, stock_quantity=3)
        # Queued in the stock change's transaction, not sent before it commits.
        assert mail.outbox == []
        queued = list(OutboxEmail.objects.filter(kind="back_in_stock").order_by("pk"))
        assert [message.to for message in queued] == ["first@example.com", "second@example.com"]
    assert alert_emails() == [
        (["first@example.com"], "Back in stock: The Overstory"),
        (["second@example.com"], "Back in stock: The Overstory"),
    ]
    assert not StockAlert.objects.exists()  # the alerts end
    assert "The Overstory" in mail.outbox[0].body


def test_a_books_readers_are_queued_in_one_insert_however_many_wait(sold_out, committed):
    """The emails are queued while the book's row is locked, which holds up its checkouts:
    the work done there must not grow with the readers waiting."""
    other = BookFactory(title="Piranesi", stock_quantity=0)

    def restock_queries(readers):
        for number in range(readers):
            wait_for(sold_out, UserFactory(email=f"reader{readers}-{number}@example.com"))
            wait_for(other, UserFactory(email=f"other{readers}-{number}@example.com"))
        with CaptureQueriesContext(connection) as queries:
            inventory.stock_adjust(book_ids=[sold_out.pk, other.pk], delta=2)
        Book.objects.filter(pk__in=[sold_out.pk, other.pk]).update(stock_quantity=0)
        return len(queries)

    with committed():
        few, many = restock_queries(2), restock_queries(40)
    assert many == few
    queued = OutboxEmail.objects.filter(kind="back_in_stock")
    assert queued.count() == 84
    assert {message.subject for message in queued} == {
        "Back in stock: The Overstory",
        "Back in stock: Piranesi",
    }
    readers_in_order = [
        message.to for message in queued.filter(subject__endswith="Overstory").order_by("pk")
    ]
    assert readers_in_order[2:5] == [f"reader40-{n}@example.com" for n in range(3)]
    assert not StockAlert.objects.exists()


def test_the_subject_shows_the_title_as_written(committed, user):
    """A subject is a header, not HTML: no entities, and no line of its own for a title."""
    title = "Pride & Prejudice: O'Brien's\nBcc: evil@example.com"
    book = BookFactory(title=title, stock_quantity=0)
    wait_for(book, user)
    with committed():
        services.book_update(book=book, stock_quantity=1)
    message = OutboxEmail.objects.get(kind="back_in_stock")
    assert message.subject == ("Back in stock: Pride & Prejudice: O'Brien's Bcc: evil@example.com")
    assert "&amp;" in message.html_body and "&amp;" not in message.text_body


def test_restocking_an_archived_book_emails_no_one_and_keeps_the_alerts(sold_out, user, committed):
    """Customers can neither see nor order an archived book: "order yours" would be a lie."""
    wait_for(sold_out, user)
    Book.objects.filter(pk=sold_out.pk).update(is_active=False)
    with committed():
        inventory.stock_adjust(book_ids=[sold_out.pk], delta=3)
    assert not OutboxEmail.objects.filter(kind="back_in_stock").exists()
    assert StockAlert.objects.filter(user=user, book=sold_out).exists()


@pytest.mark.parametrize("how", ["book_update", "set_active", "api"])
def test_putting_a_book_with_copies_back_on_sale_tells_its_readers(
    sold_out, user, committed, how, manager_api
):
    wait_for(sold_out, user)
    Book.objects.filter(pk=sold_out.pk).update(is_active=False, stock_quantity=3)
    book = Book.objects.get(pk=sold_out.pk)
    with committed():
        if how == "book_update":
            services.book_update(book=book, is_active=True)
        elif how == "set_active":
            services.books_set_active(book_ids=[book.pk], active=True)
        else:
            answer = manager_api.patch(f"/api/books/{book.pk}/", {"is_active": True})
            assert answer.status_code == 200, answer.content
    assert alert_emails() == [([user.email], "Back in stock: The Overstory")]
    assert not StockAlert.objects.exists()


def test_putting_a_book_back_on_sale_on_its_admin_page_tells_its_readers(
    sold_out, user, committed, manager_client
):
    """The admin's form sets the flag on its copy of the book before saving: whether the book
    was archived is read as stored."""
    wait_for(sold_out, user)
    Book.objects.filter(pk=sold_out.pk).update(is_active=False, stock_quantity=3)
    with committed():
        saved = manager_client.post(
            f"/admin/catalog/book/{sold_out.pk}/change/",
            {
                "title": sold_out.title,
                "price": str(sold_out.price),
                "is_active": "on",
                "stock_quantity": "3",
                "language": sold_out.language,
                "book_authors-TOTAL_FORMS": "0",
                "book_authors-INITIAL_FORMS": "0",
            },
        )
    assert saved.status_code == 302, saved.content
    assert Book.objects.get(pk=sold_out.pk).is_active
    assert alert_emails() == [([user.email], "Back in stock: The Overstory")]


def test_an_address_changed_since_the_alert_gets_no_email(sold_out, user, committed):
    """A changed address is unconfirmed until its link is opened, and may be someone else's."""
    wait_for(sold_out, user)
    type(user).objects.filter(pk=user.pk).update(
        email="someone.else@example.com", email_verified=False
    )
    with committed():
        services.book_update(book=sold_out, stock_quantity=2)
    assert alert_emails() == []
    assert not StockAlert.objects.exists()  # the book is back: the alert has ended


def test_putting_a_sold_out_book_back_on_sale_keeps_its_alerts(sold_out, user, committed):
    wait_for(sold_out, user)
    Book.objects.filter(pk=sold_out.pk).update(is_active=False)
    with committed():
        services.books_set_active(book_ids=[sold_out.pk], active=True)
    assert not OutboxEmail.objects.filter(kind="back_in_stock").exists()
    assert StockAlert.objects.filter(user=user, book=sold_out).exists()


def test_the_alert_email_names_no_one(sold_out, committed):
    """A first name is the customer's text, not the shop's words (as every other email)."""
    reader = UserFactory(first_name="customer,\n\nURGENT: log in at https://evil.example/")
    wait_for(sold_out, reader)
    with committed():
        services.book_update(book=sold_out, stock_quantity=1)
    message = OutboxEmail.objects.get(kind="back_in_stock")
    for text in (message.subject, message.text_body, message.html_body):
        assert "evil.example" not in text and "URGENT" not in text
    assert message.text_body.startswith("Hello,")


@pytest.mark.parametrize("how", ["adjust", "admin_list"])
def test_other_staff_stock_changes_fire_too(sold_out, user, committed, how, manager_client):
    wait_for(sold_out, user)
    with committed():
        if how == "adjust":
            inventory.stock_adjust(book_ids=[sold_out.pk], delta=4)
        else:
            manager_client.post(
                "/admin/catalog/book/",
                {
                    "form-TOTAL_FORMS": "1",
                    "form-INITIAL_FORMS": "1",
                    "form-0-id": str(sold_out.pk),
                    "form-0-stock_quantity": "2",
                    "_save": "Save",
                },
            )
    assert alert_emails() == [([user.email], "Back in stock: The Overstory")]


@pytest.mark.parametrize("how", ["expired", "cancelled"])
def test_a_released_hold_fires_the_alerts(user, committed, how):
    book = BookFactory(title="Piranesi", stock_quantity=1)
    holder = UserFactory()
    order = order_services.order_place(user=holder, items=[{"book": book.pk, "quantity": 1}])
    wait_for(book, user)
    with committed():
        if how == "expired":
            Order.objects.filter(pk=order.pk).update(
                hold_expires_at=timezone.now() - timedelta(seconds=1)
            )
            assert order_services.orders_expire_lapsed() == 1
        else:
            order_services.order_cancel(order=order, actor=holder)
    assert alert_emails() == [([user.email], "Back in stock: Piranesi")]
    assert not StockAlert.objects.exists()


def test_a_restocked_copy_fires_the_alerts(user, committed):
    """inventory.stock_restock: a refund before shipping here, a received return later."""
    book = BookFactory(title="Circe", stock_quantity=1)
    buyer = UserFactory()
    order = order_services.order_place(user=buyer, items=[{"book": book.pk, "quantity": 1}])
    order_services.order_mark_paid(order_id=order.pk)
    wait_for(book, user)
    with committed():
        order_services.order_refund(order_id=order.pk, actor_label="staff")
    assert alert_emails() == [([user.email], "Back in stock: Circe")]
    with committed():
        inventory.stock_restock(lines={book.pk: 1})  # more copies: nobody waits any more
    assert len(alert_emails()) == 1


def test_a_received_return_put_back_on_sale_fires_the_alerts(user, committed):
    """The third cause, end to end: a reader sends back the last copy, staff receive it fit to
    sell again, and whoever waits for the book is told."""
    from accounts.tests.factories import StaffFactory
    from orders.tests.factories import shipped_order

    book = BookFactory(title="Piranesi", stock_quantity=1)
    buyer, staff = UserFactory(), StaffFactory()
    order = shipped_order(user=buyer, lines={book: 1})
    wait_for(book, user)
    order_return = order_services.return_request(
        user=buyer, order_id=order.pk, items=[{"book": book.pk, "quantity": 1}], reason="A gift"
    )
    order_return = order_services.return_approve(order_return=order_return, actor=staff)
    with committed():
        order_services.return_receive(order_return=order_return, actor=staff, restock=True)
    assert alert_emails() == [([user.email], "Back in stock: Piranesi")]
    assert not StockAlert.objects.filter(book=book).exists()


def test_a_damaged_returned_copy_fires_nothing(user, committed):
    from accounts.tests.factories import StaffFactory
    from orders.tests.factories import shipped_order

    book = BookFactory(title="Piranesi", stock_quantity=1)
    buyer, staff = UserFactory(), StaffFactory()
    order = shipped_order(user=buyer, lines={book: 1})
    wait_for(book, user)
    order_return = order_services.return_request(
        user=buyer, order_id=order.pk, items=[{"book": book.pk, "quantity": 1}], reason="Torn"
    )
    order_return = order_services.return_approve(order_return=order_return, actor=staff)
    with committed():
        order_services.return_receive(order_return=order_return, actor=staff, restock=False)
    assert alert_emails() == []
    assert StockAlert.objects.filter(book=book).exists()


def test_only_a_change_from_none_to_some_fires(user, committed):
    book = BookFactory(stock_quantity=2)
    StockAlert.objects.create(user=user, book=book)  # from before it came back
    with committed():
        inventory.stock_adjust(book_ids=[book.pk], delta=3)  # 2 -> 5: nothing new
        inventory.stock_set(book_id=book.pk, on_hand=0)  # sold out again: nothing to tell
    assert alert_emails() == []
    assert StockAlert.objects.exists()


def test_a_change_that_is_rolled_back_sends_nothing(sold_out, user, committed):
    wait_for(sold_out, user)
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        inventory.stock_adjust(book_ids=[sold_out.pk], delta=2)
        raise RuntimeError("the staff action failed after the restock")
    assert alert_emails() == []
    assert StockAlert.objects.exists() and not OutboxEmail.objects.exists()


def test_one_book_back_among_several_fires_only_its_alerts(user, committed):
    back, still_out = BookFactory(stock_quantity=0), BookFactory(stock_quantity=0)
    wait_for(back, user)
    wait_for(still_out, user)
    with committed():
        inventory.stock_restock(lines={back.pk: 1})
    assert len(alert_emails()) == 1
    assert list(StockAlert.objects.values_list("book", flat=True)) == [still_out.pk]


def test_a_closed_account_waits_no_more(sold_out, user):
    wait_for(sold_out, user)
    from accounts.services import user_close

    user_close(user=user, actor=user)
    assert not StockAlert.objects.exists()


# --- What staff see ----------------------------------------------------------------------------


def test_the_admin_and_dashboard_show_how_many_readers_wait(sold_out, manager_client):
    other = BookFactory(title="Less awaited", stock_quantity=0)
    wait_for(sold_out, UserFactory(), UserFactory())
    wait_for(other, UserFactory())
    listed = manager_client.get("/admin/catalog/book/").content.decode()
    assert "Readers waiting" in listed
    change = manager_client.get(f"/admin/catalog/book/{sold_out.pk}/change/").content.decode()
    assert "Readers waiting" in change
    figures = dashboard_figures()
    assert [(book.title, book.waiting) for book in figures.most_awaited_books] == [
        ("The Overstory", 2),
        ("Less awaited", 1),
    ]
    index = manager_client.get("/admin/").content.decode()
    assert "Most awaited" in index and "The Overstory" in index
