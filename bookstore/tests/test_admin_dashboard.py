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
from payments.models import Dispute, Payment, PaymentStatus
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


def disputed(reason, *, due_in_days, outcome=""):
    payment = payment_for_new_order(status=PaymentStatus.SUCCEEDED)
    return Dispute.objects.create(
        payment=payment,
        stripe_dispute_id=f"dp_{payment.pk}",
        amount=payment.amount,
        currency=payment.currency,
        reason=reason,
        stripe_status=outcome or "needs_response",
        outcome=outcome,
        evidence_due_by=timezone.now() + timedelta(days=due_in_days),
    )


def test_open_disputes_soonest_deadline_first():
    disputed("fraudulent", due_in_days=5)
    disputed("duplicate", due_in_days=2)
    disputed("product_not_received", due_in_days=1, outcome="won")

    figures = dashboard_figures()

    assert figures.open_disputes_count == 2
    assert [d.reason for d in figures.open_disputes] == ["duplicate", "fraudulent"]


# --- The index page -------------------------------------------------------------------------


def test_the_chart_has_every_day_of_the_last_30_with_its_paid_orders_and_revenue():
    paid(price="10.00")
    paid(price="20.00")
    paid(days_ago=3, price="5.00")
    paid(days_ago=29, price="7.00")
    paid(days_ago=30, price="100.00")  # before the window
    paid(days_ago=3, price="50.00", refunded=True)

    chart = dashboard_figures().sales_chart

    today = timezone.localdate()
    assert [d.day for d in chart.days] == [today - timedelta(days=n) for n in range(29, -1, -1)]
    per_day = {d.day: (d.orders, d.revenue) for d in chart.days}
    assert per_day[today] == (2, Decimal("30.00"))
    assert per_day[today - timedelta(days=3)] == (1, Decimal("5.00"))
    assert per_day[today - timedelta(days=29)] == (1, Decimal("7.00"))
    assert sum(o for o, _ in per_day.values()) == 4
    # Bars scale to a round maximum (30 -> 50): today's bar is 30/50 of the plot's height.
    assert (chart.revenue_max, chart.orders_max) == (Decimal(50), 2)
    plot_height = chart.bottom - chart.top
    today_bar = chart.days[-1]
    assert float(today_bar.bar_height) == pytest.approx(plot_height * 30 / 50, abs=0.1)
    assert float(today_bar.dot_y) == pytest.approx(chart.top, abs=0.1)  # 2 of 2 orders
    assert float(chart.days[1].bar_height) == 0


def test_outbox_backlog_and_webhook_failures_are_counted():
    from djstripe.models import WebhookEventTrigger

    from core.models import OutboxEmail

    def email(n, status, minutes_ago=0):
        message = OutboxEmail.objects.create(
            kind="order_paid",
            dedupe_key=f"d-{n}",
            to="a@example.com",
            subject="s",
            text_body="t",
            html_body="h",
            status=status,
        )
        OutboxEmail.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )

    email(1, "pending", minutes_ago=45)
    email(2, "pending", minutes_ago=5)
    email(3, "sent", minutes_ago=500)
    email(4, "failed", minutes_ago=600)

    def trigger(*, valid=True, exception="", days_ago=0):
        row = WebhookEventTrigger.objects.create(
            remote_ip="127.0.0.1", headers={}, body="{}", valid=valid, exception=exception
        )
        WebhookEventTrigger.objects.filter(pk=row.pk).update(
            created=timezone.now() - timedelta(days=days_ago)
        )

    trigger()
    trigger(valid=False)  # bad signature
    trigger(exception="KeyError")  # applying it raised
    trigger(valid=False, days_ago=31)  # too long ago

    figures = dashboard_figures()

    assert (figures.outbox_pending, figures.outbox_failed) == (2, 1)
    assert figures.outbox_oldest_minutes == 45
    assert (figures.webhooks_received, figures.webhooks_failed) == (3, 2)


def test_the_index_draws_the_chart_as_inline_svg(manager_client):
    paid(price="10.00")
    page = manager_client.get("/admin/").content.decode()
    start = page.index('<svg id="sales-chart"')
    svg = page[start : page.index("</svg>", start)]
    assert svg.count('<rect class="revenue"') == 30
    assert svg.count('<circle class="orders"') == 30
    assert "10.00 " + settings.CURRENCY.upper() + ", 1 order" in svg
    assert "http" not in svg.replace("http://www.w3.org/2000/svg", "")  # nothing fetched
    assert 'id="outbox-backlog"' in page and 'id="webhook-failures"' in page


def a_busy_shop():
    paid()
    paid(days_ago=3)
    place(quantity=2)
    for n in range(3):
        BookFactory(title=f"Nearly Gone {n}", stock_quantity=n)
    for n in range(3):
        failed_payment(f"Card declined {n}", minutes_ago=n)
    disputed("fraudulent", due_in_days=6)


def test_the_index_shows_the_dashboard_above_the_apps(manager_client):
    a_busy_shop()
    page = manager_client.get("/admin/").content.decode()

    assert page.index('id="dashboard"') < page.index('class="app-catalog')
    assert "Paid today" in page and "Paid in the last 30 days" in page
    assert "Nearly Gone 0" in page
    assert "Card declined 0" in page
    assert "Open disputes (1)" in page and "https://dashboard.stripe.com/test/disputes/dp_" in page
    assert f"{settings.SHOP_NAME} back office" in page


def test_the_index_with_the_dashboard_takes_at_most_14_queries(
    manager_client, django_assert_max_num_queries
):
    a_busy_shop()
    manager_client.get("/admin/")  # content types and the session are cached after the first

    with django_assert_max_num_queries(14) as captured:
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
