"""The back office's front page (the dashboard) and what the site lets a store manager do."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import StaffFactory, UserFactory
from bookstore.dashboard import dashboard_figures
from catalog.tests.factories import BookFactory
from orders import services as order_services
from orders.models import Order, OrderStatus
from payments.models import Payment, PaymentStatus
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db


def place(*, quantity=1, price="12.50"):
    book = BookFactory(stock_quantity=100, price=Decimal(price))
    return order_services.order_place(
        user=UserFactory(), items=[{"book": book.pk, "quantity": quantity}]
    )


def paid(*, days_ago=0, price="12.50", refunded=False):
    order = place(price=price)
    order_services.order_mark_paid(order_id=order.pk)
    changes = {"paid_at": timezone.now() - timedelta(days=days_ago)}
    if refunded:
        changes["status"] = OrderStatus.REFUNDED
    Order.objects.filter(pk=order.pk).update(**changes)
    return order


def failed_payment(message, *, minutes_ago):
    payment = payment_for_new_order(status=PaymentStatus.FAILED, last_error_message=message)
    Payment.objects.filter(pk=payment.pk).update(
        updated_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return payment


# --- The figures ------------------------------------------------------------------------------


def test_sales_count_orders_paid_today_and_in_30_days_that_were_not_refunded():
    paid(price="10.00")
    paid(price="20.00")
    paid(days_ago=10, price="5.00")
    paid(days_ago=29, price="7.00")
    paid(days_ago=31, price="100.00")  # too long ago
    paid(price="50.00", refunded=True)  # the money went back
    place(price="80.00")  # not paid

    figures = dashboard_figures()

    assert (figures.sales_today.orders, figures.sales_today.revenue) == (2, Decimal("30.00"))
    assert (figures.sales_window.orders, figures.sales_window.revenue) == (4, Decimal("42.00"))
    assert figures.currency == settings.CURRENCY.upper()


def test_pending_orders_and_the_copies_they_hold():
    place(quantity=2)
    place(quantity=3)
    paid()  # paid: its copies left the shop, nothing held
    figures = dashboard_figures()
    assert (figures.pending_orders, figures.copies_held) == (2, 5)


def test_an_empty_shop_has_zero_everywhere():
    figures = dashboard_figures()
    assert figures.sales_today.orders == figures.sales_window.orders == 0
    assert figures.sales_today.revenue == figures.sales_window.revenue == Decimal("0")
    assert (figures.pending_orders, figures.copies_held) == (0, 0)
    assert (figures.low_stock_count, figures.low_stock_books, figures.failed_payments) == (
        0,
        [],
        [],
    )


def test_low_stock_lists_the_ten_active_books_with_fewest_available():
    for n in range(12):
        BookFactory(title=f"Low {n:02d}", stock_quantity=n % 5)  # 0..4 available
    held = BookFactory(title="Held", stock_quantity=6)
    order_services.order_place(user=UserFactory(), items=[{"book": held.pk, "quantity": 4}])
    BookFactory(title="Plenty", stock_quantity=5)
    BookFactory(title="Archived", stock_quantity=0, is_active=False)

    figures = dashboard_figures()

    assert figures.low_stock_count == 13
    assert len(figures.low_stock_books) == 10
    available = [book.available for book in figures.low_stock_books]
    assert available == sorted(available)
    assert available[:3] == [0, 0, 0]
    titles = {book.title for book in figures.low_stock_books}
    assert not titles & {"Plenty", "Archived"}


def test_failed_payments_newest_first_ten_at_most():
    for n in range(12):
        failed_payment(f"Declined {n}", minutes_ago=n)
    payment_for_new_order()  # still open: not a failure

    figures = dashboard_figures()

    messages = [payment.last_error_message for payment in figures.failed_payments]
    assert messages == [f"Declined {n}" for n in range(10)]


# --- The index page -------------------------------------------------------------------------


def a_busy_shop():
    paid()
    paid(days_ago=3)
    place(quantity=2)
    for n in range(3):
        BookFactory(title=f"Nearly Gone {n}", stock_quantity=n)
    for n in range(3):
        failed_payment(f"Card declined {n}", minutes_ago=n)


def test_the_index_shows_the_dashboard_above_the_apps(manager_client):
    a_busy_shop()
    page = manager_client.get("/admin/").content.decode()

    assert page.index('id="dashboard"') < page.index('class="app-catalog')
    assert "Paid today" in page and "Paid in the last 30 days" in page
    assert "Nearly Gone 0" in page
    assert "Card declined 0" in page
    assert f"{settings.SHOP_NAME} back office" in page


def test_the_index_with_the_dashboard_takes_at_most_12_queries(
    manager_client, django_assert_max_num_queries
):
    a_busy_shop()
    manager_client.get("/admin/")  # content types and the session are cached after the first

    with django_assert_max_num_queries(12) as captured:
        response = manager_client.get("/admin/")
    assert response.status_code == 200
    assert "dashboard" in response.context
    print(f"admin index with the dashboard: {len(captured)} queries")


def test_staff_who_may_not_see_orders_get_no_figures():
    staff = StaffFactory()
    staff.user_permissions.add(Permission.objects.get(codename="view_book"))
    client = Client()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert 'id="dashboard"' not in response.content.decode()
    assert "dashboard" not in response.context


def test_anonymous_visitors_and_customers_are_sent_to_the_login_page(client):
    customer = Client()
    customer.force_login(UserFactory())
    for visitor in (client, customer):
        response = visitor.get("/admin/")
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


# --- Users: a store manager looks, never changes ------------------------------------------


def test_a_store_manager_may_view_users_but_not_change_passwords_or_superuser(manager_client):
    customer = UserFactory()
    user_url = f"/admin/accounts/user/{customer.pk}/"

    assert manager_client.get("/admin/accounts/user/").status_code == 200
    page = manager_client.get(f"{user_url}change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert customer.email in html
    assert 'name="is_superuser"' not in html and 'name="_save"' not in html

    changed = manager_client.post(
        f"{user_url}change/", {"email": customer.email, "is_superuser": "on", "is_staff": "on"}
    )
    assert changed.status_code == 403
    password = {"password1": "a-new-secret-9876", "password2": "a-new-secret-9876"}
    assert manager_client.get(f"{user_url}password/").status_code == 403
    assert manager_client.post(f"{user_url}password/", password).status_code == 403
    assert manager_client.get("/admin/accounts/user/add/").status_code == 403

    customer = User.objects.get(pk=customer.pk)
    assert not (customer.is_superuser or customer.is_staff)
    assert not customer.check_password("a-new-secret-9876")
