import pytest
from django.test import Client

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from orders import services
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    return client


def paid_order(book, quantity=1):
    order = services.order_place(
        user=UserFactory(email="buyer@example.com"), items=[{"book": book.pk, "quantity": quantity}]
    )
    services.order_mark_paid(order_id=order.pk)
    return order


def test_order_changelist_and_change_page_load(admin_client):
    order = paid_order(BookFactory())
    response = admin_client.get("/admin/orders/order/", {"q": "buyer@example.com"})
    assert response.status_code == 200
    assert order.number in response.content.decode()
    page = admin_client.get(f"/admin/orders/order/{order.pk}/change/")
    assert page.status_code == 200
    assert "timeline" in page.content.decode().lower()
    assert admin_client.get("/admin/orders/discountcode/").status_code == 200


def readonly_value(html, label):
    """The value the admin shows next to a read-only field's label."""
    import re

    found = re.search(
        rf"<label>{re.escape(label)}:</label>\s*<div class=\"readonly\">(.*?)</div>", html, re.S
    )
    assert found, f"no read-only field {label!r} on the page"
    return found.group(1).strip()


def test_order_page_says_it_as_a_person_would(admin_client):
    order = paid_order(BookFactory())
    staff = StaffFactory()
    services.order_ship(order=order, actor=staff, carrier="ups", tracking_number="1Z999AA1")
    html = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert readonly_value(html, "Prices included tax") == "no"
    assert "Prices include tax" not in html and "Prices were gross" not in html
    assert readonly_value(html, "Currency") == "USD"
    assert readonly_value(html, "Carrier") == "UPS"
    # Once paid there is no hold left to expire.
    assert readonly_value(html, "Hold expires at") == "-"
    assert html.count("Pending → Paid") == 1 and html.count("Paid → Shipped") == 1
    assert "-&gt;" not in html and f"{order.number}: paid" not in html

    listed = admin_client.get("/admin/orders/order/").content.decode()
    assert ">USD<" in listed and ">usd<" not in listed


def test_a_pending_order_shows_until_when_its_books_are_held(admin_client):
    order = services.order_place(
        user=UserFactory(), items=[{"book": BookFactory().pk, "quantity": 1}]
    )
    html = admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert readonly_value(html, "Hold expires at") != "-"


def test_ship_action_goes_through_the_service(admin_client):
    order = paid_order(BookFactory())
    response = admin_client.post(
        "/admin/orders/order/",
        # The confirmation page's answer: the action runs only once it is confirmed.
        {"action": "action_order_ship", "_selected_action": [order.pk], "confirmed": "yes"},
        follow=True,
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.events.last().to_status == "shipped"


def test_cancel_action_releases_stock_and_refuses_paid_orders(admin_client):
    book = BookFactory(stock_quantity=5)
    pending = services.order_place(user=UserFactory(), items=[{"book": book.pk, "quantity": 2}])
    paid = paid_order(book)
    response = admin_client.post(
        "/admin/orders/order/",
        {
            "action": "action_order_cancel",
            "_selected_action": [pending.pk, paid.pk],
            "confirmed": "yes",
        },
        follow=True,
    )
    assert paid.number in response.content.decode()  # the refusal is reported
    assert Order.objects.get(pk=pending.pk).status == "cancelled"
    assert Order.objects.get(pk=paid.pk).status == "paid"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (4, 0)


def test_status_is_not_editable_in_the_admin(admin_client):
    order = paid_order(BookFactory())
    admin_client.post(f"/admin/orders/order/{order.pk}/change/", {"status": "delivered"})
    order.refresh_from_db()
    assert order.status == "paid"


def test_outbox_admin_lists_and_resends(admin_client, django_capture_on_commit_callbacks):
    from django.core import mail

    from core.models import OutboxEmail

    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_place(
            user=UserFactory(), items=[{"book": BookFactory().pk, "quantity": 1}]
        )
    message = OutboxEmail.objects.get(order=order)
    assert admin_client.get("/admin/core/outboxemail/").status_code == 200
    assert (
        order.number in admin_client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/core/outboxemail/", {"action": "resend", "_selected_action": [message.pk]}
        )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == message.subject


def test_resending_email_needs_more_than_viewing_it(
    manager_client, django_capture_on_commit_callbacks
):
    """Store managers resend failed mail; staff who may only look at the outbox cannot send."""
    from django.contrib.auth.models import Permission
    from django.test import Client

    from accounts.tests.factories import StaffFactory
    from core.models import OutboxEmail

    with django_capture_on_commit_callbacks(execute=True):
        order = services.order_place(
            user=UserFactory(), items=[{"book": BookFactory().pk, "quantity": 1}]
        )
    message = OutboxEmail.objects.get(order=order)
    viewer = StaffFactory()
    viewer.user_permissions.add(Permission.objects.get(codename="view_outboxemail"))
    looking = Client()
    looking.force_login(viewer)
    resend = {"action": "resend", "_selected_action": [message.pk]}
    attempts = message.attempts
    looking.post("/admin/core/outboxemail/", resend)
    message.refresh_from_db()
    assert message.attempts == attempts and message.status == "sent"
    assert (
        "Send selected emails again" not in looking.get("/admin/core/outboxemail/").content.decode()
    )
    assert (
        "Send selected emails again"
        in manager_client.get("/admin/core/outboxemail/").content.decode()
    )


def test_a_discount_limit_below_its_uses_is_a_form_error_not_a_crash(manager_client):
    from orders.models import DiscountCode

    code = DiscountCode.objects.create(code="SPRING", kind="percent", value=10, times_redeemed=5)
    response = manager_client.post(
        f"/admin/orders/discountcode/{code.pk}/change/",
        {
            "code": "SPRING",
            "kind": "percent",
            "value": "10",
            "is_active": "on",
            "min_subtotal": "0",
            "max_redemptions": "2",
        },
    )
    assert response.status_code == 200  # the form again, with the error
    assert "used 5 times" in response.content.decode()
    code.refresh_from_db()
    assert code.max_redemptions is None
