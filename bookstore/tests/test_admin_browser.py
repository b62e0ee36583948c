"""A store manager runs the shop from the admin in a real (headless) Chromium: logs in, adjusts
stock, finds a paid order by the customer's email, ships it through the confirmation page, and
sees the change in the order's timeline. Screenshots go to test-artifacts/."""

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from accounts.roles import STORE_MANAGERS_GROUP, store_managers_sync
from accounts.tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.testing import ARTIFACTS
from orders import services as order_services
from orders.models import Order, OrderStatus

pytestmark = pytest.mark.django_db(transaction=True)


def store_manager():
    store_managers_sync(apps)
    manager = StaffFactory(email="manager@example.com", first_name="Morgan")
    manager.groups.add(Group.objects.get(name=STORE_MANAGERS_GROUP))
    return manager


def run_action(page, action, selected_pk):
    page.check(f"input[name=_selected_action][value='{selected_pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_a_store_manager_adjusts_stock_and_ships_a_paid_order(live_server, browser_page):
    manager = store_manager()
    book = BookFactory(title="The Left Hand of Darkness", stock_quantity=3)
    BookFactory(title="A Wizard of Earthsea", stock_quantity=1)  # on the low-stock list
    customer = UserFactory(email="ursula.reader@example.com")
    order = order_services.order_place(user=customer, items=[{"book": book.pk, "quantity": 1}])
    order_services.order_mark_paid(order_id=order.pk, note="PaymentIntent pi_browser_test")
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser_page

    # The real login form, then the dashboard.
    page.goto(f"{live_server.url}/admin/")
    page.wait_for_url("**/admin/login/**")
    page.fill("#id_username", manager.email)
    page.fill("#id_password", DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#dashboard")
    assert "1 order" in page.inner_text("#sales-today")
    assert "A Wizard of Earthsea" in page.inner_text("#low-stock")
    # The last 30 days as a chart drawn on the server: 30 bars, today's the only one with height.
    chart = page.locator("#sales-chart")
    chart.wait_for(state="visible")
    assert chart.locator("rect.revenue").count() == 30
    box = chart.bounding_box()
    assert box["width"] > 400 and box["height"] > 100
    heights = chart.locator("rect.revenue").evaluate_all(
        "bars => bars.map(bar => bar.getBBox().height)"
    )
    assert heights[-1] > 0 and not any(heights[:-1])
    assert "Emails waiting to be sent" in page.inner_text("#outbox-backlog")
    assert "0" in page.inner_text("#webhook-failures .value")
    page.screenshot(path=str(ARTIFACTS / "admin-dashboard.png"), full_page=True)
    page.locator("#sales-chart-module").screenshot(path=str(ARTIFACTS / "admin-sales-chart.png"))

    # Adjust the book's stock through the action's form.
    page.goto(f"{live_server.url}/admin/catalog/book/?q=Left+Hand")
    run_action(page, "adjust_stock", book.pk)
    page.fill("#id_stock-delta", "5")
    page.fill("#id_stock-note", "Delivery from the distributor")
    page.click("input[name=apply_stock_adjustment]")
    page.wait_for_selector(".messagelist .success")
    assert "Stock +5" in page.inner_text(".messagelist")
    assert Book.objects.get(pk=book.pk).stock_quantity == 2 + 5  # one copy left with the order

    # Find the paid order by the customer's email and ship it, confirming on the way.
    page.goto(f"{live_server.url}/admin/orders/order/")
    page.fill("#searchbar", customer.email)
    page.press("#searchbar", "Enter")
    page.wait_for_url("**q=ursula.reader**")
    run_action(page, "action_order_ship", order.pk)
    page.wait_for_selector("#confirm-order-action")
    assert order.number in page.inner_text("#order-action-orders")
    assert Order.objects.get(pk=order.pk).status == OrderStatus.PAID  # only asked so far
    page.click("#confirm-order-action")
    page.wait_for_selector(".messagelist .success")
    assert f"Marked shipped: {order.number}" in page.inner_text(".messagelist")

    # The order's page shows the change in its timeline.
    page.click(f"#result_list a:text-is('{order.number}')")
    page.wait_for_selector("#events-group")
    timeline = page.inner_text("#events-group")
    assert "Paid → Shipped" in timeline and manager.email in timeline
    page.screenshot(path=str(ARTIFACTS / "admin-order.png"), full_page=True)
    assert Order.objects.get(pk=order.pk).status == OrderStatus.SHIPPED
