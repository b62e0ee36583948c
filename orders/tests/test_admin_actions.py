"""Orders in the back office, as a store manager runs them: pages, search, the lifecycle actions
behind their confirmation page (same effects as the API), and the change list's query budget."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from orders import services
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import DiscountCodeFactory
from orders.tests.helpers import assert_stock_invariant

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def pending_order(book=None, *, quantity=1, email=None):
    user = UserFactory(**({"email": email} if email else {}))
    book = book or BookFactory(stock_quantity=10)
    return services.order_place(user=user, items=[{"book": book.pk, "quantity": quantity}])


def paid_order(book=None, **kwargs):
    order = pending_order(book, **kwargs)
    services.order_mark_paid(order_id=order.pk)
    return Order.objects.get(pk=order.pk)


def shipped_order(actor, **kwargs):
    return services.order_ship(order=paid_order(**kwargs), actor=actor)


def run_action(client, action, orders, *, confirmed=True, **fields):
    data = {"action": action, "_selected_action": [order.pk for order in orders], **fields}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(ORDERS, data)


def status(order):
    return Order.objects.get(pk=order.pk).status


def history(order):
    """The order's status changes after it was placed (the first event names its customer)."""
    return [
        (event.from_status, event.to_status, event.actor_label, event.note)
        for event in OrderEvent.objects.filter(order=order)[1:]
    ]


def emails(order):
    return sorted(OutboxEmail.objects.filter(order=order).values_list("kind", "status"))


# --- Who gets in ------------------------------------------------------------------------------


def order_urls(manager):
    paid = paid_order(email="reader@example.com")
    pending = pending_order()
    shipped = shipped_order(manager)
    code = DiscountCodeFactory()
    message = OutboxEmail.objects.filter(order=paid).first()
    isbn = paid.items.get().book.isbn13 or ""
    return [
        "/admin/orders/",
        ORDERS,
        f"{ORDERS}?q=reader@example.com",
        f"{ORDERS}?q={paid.number}",
        f"{ORDERS}?q={isbn}",
        f"{ORDERS}?status__exact=paid",
        f"{ORDERS}?created_at__year={timezone.now().year}",
        f"{ORDERS}{paid.pk}/change/",
        f"{ORDERS}{paid.pk}/history/",
        f"{ORDERS}{paid.pk}/confirm/action_order_ship/",
        f"{ORDERS}{pending.pk}/confirm/action_order_cancel/",
        f"{ORDERS}{shipped.pk}/confirm/action_order_deliver/",
        "/admin/orders/discountcode/",
        "/admin/orders/discountcode/add/",
        f"/admin/orders/discountcode/{code.pk}/change/",
        "/admin/core/outboxemail/",
        f"/admin/core/outboxemail/{message.pk}/change/",
    ]


def test_every_order_page_loads_for_a_store_manager(manager_client, manager):
    for url in order_urls(manager):
        assert manager_client.get(url).status_code == 200, url


def test_anonymous_visitors_and_customers_are_sent_to_the_login_page(client, manager):
    customer = client_for(UserFactory())
    for url in order_urls(manager):
        for visitor in (client, customer):
            response = visitor.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


def test_orders_are_found_by_number_customer_email_and_isbn(manager_client):
    book = BookFactory(isbn13="9780441172719")
    wanted = paid_order(book, email="reader@example.com")
    other = paid_order()
    for query in (wanted.number, "reader@example.com", "9780441172719"):
        page = manager_client.get(ORDERS, {"q": query}).content.decode()
        assert wanted.number in page, query
        assert other.number not in page, query


def test_the_order_page_is_a_read_only_record_with_buttons_for_the_next_steps(manager_client):
    order = paid_order(email="reader@example.com")
    page = manager_client.get(f"{ORDERS}{order.pk}/change/").content.decode()

    assert order.number in page and "reader@example.com" in page
    assert "timeline" in page.lower() and "emails" in page.lower()
    assert f"{ORDERS}{order.pk}/confirm/action_order_ship/" in page
    assert "action_order_deliver" not in page  # a paid order is shipped before it is delivered
    assert 'name="_save"' not in page
    assert manager_client.post(f"{ORDERS}{order.pk}/change/", {}).status_code == 403
    assert status(order) == OrderStatus.PAID


# --- Lifecycle actions: asked first, then the same effects as the API ----------------------


def test_ship_asks_first_then_does_what_the_api_does(
    manager_client, manager_api, django_capture_on_commit_callbacks
):
    by_api, by_admin = paid_order(), paid_order()
    mail.outbox.clear()

    question = run_action(manager_client, "action_order_ship", [by_admin], confirmed=False)
    assert question.status_code == 200
    assert "Mark these orders shipped?" in question.content.decode()
    assert [order.pk for order in question.context["selected"]] == [by_admin.pk]
    assert status(by_admin) == OrderStatus.PAID

    with django_capture_on_commit_callbacks(execute=True):
        assert manager_api.post(f"/api/orders/{by_api.pk}/ship/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        answer = run_action(manager_client, "action_order_ship", [by_admin])

    assert answer.status_code == 302
    assert status(by_api) == status(by_admin) == OrderStatus.SHIPPED
    assert history(by_admin) == history(by_api)
    assert history(by_admin)[-1] == ("paid", "shipped", "manager@example.com", "")
    assert emails(by_admin) == emails(by_api)
    assert ("order_shipped", "sent") in emails(by_admin)
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [by_api.user.email, by_admin.user.email]
    )


def test_cancel_releases_the_hold_as_the_api_does(
    manager_client, manager_api, django_capture_on_commit_callbacks
):
    book = BookFactory(stock_quantity=5)
    by_api = pending_order(book, quantity=2)
    by_admin = pending_order(book, quantity=2)
    book.refresh_from_db()
    assert book.reserved_quantity == 4
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        manager_api.post(f"/api/orders/{by_api.pk}/cancel/")
    with django_capture_on_commit_callbacks(execute=True):
        run_action(manager_client, "action_order_cancel", [by_admin])

    assert status(by_api) == status(by_admin) == OrderStatus.CANCELLED
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (5, 0)
    assert_stock_invariant()
    assert history(by_admin) == history(by_api)
    assert emails(by_admin) == emails(by_api)
    assert ("order_closed", "sent") in emails(by_admin)
    assert len(mail.outbox) == 2


def test_deliver_follows_shipping(manager_client, manager, manager_api):
    by_api, by_admin = shipped_order(manager), shipped_order(manager)
    manager_api.post(f"/api/orders/{by_api.pk}/deliver/")
    run_action(manager_client, "action_order_deliver", [by_admin])
    assert status(by_api) == status(by_admin) == OrderStatus.DELIVERED
    assert history(by_admin) == history(by_api)


def test_the_confirmation_lists_what_will_be_skipped_and_why(manager_client):
    paid, pending = paid_order(), pending_order()
    response = run_action(manager_client, "action_order_ship", [paid, pending], confirmed=False)
    page = response.content.decode()

    assert [order.pk for order in response.context["selected"]] == [paid.pk]
    assert "it is pending; a pending order cannot become shipped" in page
    # Only the orders that will change are posted back.
    assert f'name="_selected_action" value="{paid.pk}"' in page
    assert f'name="_selected_action" value="{pending.pk}"' not in page


def test_nothing_to_confirm_when_no_order_qualifies(manager_client):
    pending = pending_order()
    response = run_action(manager_client, "action_order_deliver", [pending], confirmed=False)
    page = response.content.decode()
    assert "nothing was done" in page
    assert 'id="confirm-order-action"' not in page


def test_an_order_that_changed_meanwhile_is_refused_by_the_service(manager_client):
    order = pending_order()
    response = run_action(manager_client, "action_order_ship", [order])
    messages = [str(message) for message in response.wsgi_request._messages]
    assert messages == [
        f"{order.number}: Order {order.number} is pending; it cannot become shipped."
    ]
    assert status(order) == OrderStatus.PENDING


def test_the_button_on_the_order_page_confirms_and_returns_to_the_order(manager_client):
    order = paid_order()
    page = manager_client.get(f"{ORDERS}{order.pk}/confirm/action_order_ship/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'action="{ORDERS}"' in html and f'value="{ORDERS}{order.pk}/change/"' in html

    response = run_action(
        manager_client, "action_order_ship", [order], next=f"{ORDERS}{order.pk}/change/"
    )
    assert response.status_code == 302
    assert response["Location"] == f"{ORDERS}{order.pk}/change/"
    assert status(order) == OrderStatus.SHIPPED


def test_the_order_confirmation_url_refuses_unknown_orders_and_actions(manager_client):
    order = paid_order()
    assert manager_client.get(f"{ORDERS}not-a-number/confirm/action_order_ship/").status_code == 404
    assert manager_client.get(f"{ORDERS}{order.pk}/confirm/delete_selected/").status_code == 403


def test_a_next_url_elsewhere_is_ignored(manager_client):
    order = paid_order()
    response = run_action(
        manager_client, "action_order_ship", [order], next="https://evil.example.com/"
    )
    assert response["Location"] == ORDERS


def test_staff_who_may_only_view_orders_get_no_lifecycle_actions(client):
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_order"))
    viewer_client = client_for(viewer)
    order = paid_order()

    page = viewer_client.get(ORDERS).content.decode()
    assert "action_order_ship" not in page
    assert viewer_client.get(f"{ORDERS}{order.pk}/confirm/action_order_ship/").status_code == 403
    run_action(viewer_client, "action_order_ship", [order])
    assert status(order) == OrderStatus.PAID


# --- Query budget --------------------------------------------------------------------------


def test_the_order_list_of_100_orders_takes_at_most_10_queries(
    manager_client, django_assert_max_num_queries
):
    customers = [UserFactory() for _ in range(5)]
    Order.objects.bulk_create(
        Order(
            user=customers[n % 5],
            currency="usd",
            subtotal=Decimal("10.00"),
            total=Decimal("10.00"),
            status=OrderStatus.PAID if n % 2 else OrderStatus.PENDING,
        )
        for n in range(100)
    )
    manager_client.get(ORDERS)  # the session and content types are cached after the first

    with django_assert_max_num_queries(10) as captured:
        response = manager_client.get(ORDERS, {"all": ""})
    assert response.status_code == 200
    assert response.content.decode().count('name="_selected_action"') == 100
    print(f"order change list, 100 orders: {len(captured)} queries")
