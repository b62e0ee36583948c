"""The hosted pay page in a real (headless) Chromium, against the local Stripe server."""

import pytest

from catalog.tests.factories import BookFactory
from core.testing import ARTIFACTS
from orders.models import Order
from payments.tests.test_localstripe import (
    buyer_with_order,
    order_status,
    wait_for,
    webhook_received,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_customer_pays_on_the_hosted_page(shop, browser_page):
    book = BookFactory(title="Pay Page Book", stock_quantity=2)
    client, order_id = buyer_with_order(book)
    payment = client.post("/api/payments/", {"order": order_id}).json()

    page = browser_page
    page.goto(payment["payment_url"])
    assert "Pay Page Book" in page.content()
    page.fill("input[placeholder=number]", "4242424242424242")
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "34")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "10001")
    page.click("#pay-button")
    page.wait_for_url("**/result/", timeout=15_000)
    assert wait_for(lambda: Order.objects.get(pk=order_id).status == "paid")
    page.reload()
    page.wait_for_selector("#outcome[data-outcome=paid]", timeout=15_000)
    assert "Paid." in page.inner_text("#outcome")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pay-page-paid.png"))


def test_declined_card_shows_the_reason_and_stays_payable(shop, browser_page):
    book = BookFactory(stock_quantity=2)
    client, order_id = buyer_with_order(book)
    payment = client.post("/api/payments/", {"order": order_id}).json()

    page = browser_page
    page.goto(payment["payment_url"])
    page.fill("input[placeholder=number]", "4000000000000341")
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "34")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "10001")
    page.click("#pay-button")
    # A locator, not wait_for_function: the page's Content-Security-Policy forbids the eval
    # that a JavaScript predicate needs.
    page.locator("#card-errors", has_text="declined").wait_for(timeout=15_000)
    assert page.is_enabled("#pay-button")
    assert wait_for(webhook_received("payment_intent.payment_failed"))
    assert Order.objects.get(pk=order_id).status == "pending"


def _enter_card(page, number):
    page.fill("input[placeholder=number]", number)
    page.fill("input[placeholder=exp_month]", "12")
    page.fill("input[placeholder=exp_year]", "34")
    page.fill("input[placeholder=cvc]", "123")
    page.fill("input[placeholder=postal_code]", "10001")
    page.click("#pay-button")


def test_another_card_after_a_decline_pays_on_the_same_page(shop, browser_page):
    book = BookFactory(stock_quantity=2)
    client, order_id = buyer_with_order(book)
    payment = client.post("/api/payments/", {"order": order_id}).json()

    page = browser_page
    page.goto(payment["payment_url"])
    _enter_card(page, "4000000000000341")
    page.locator("#card-errors", has_text="declined").wait_for(timeout=15_000)
    assert order_status(order_id) == "pending"

    _enter_card(page, "4242424242424242")
    page.wait_for_url("**/result/", timeout=15_000)
    assert wait_for(lambda: order_status(order_id) == "paid"), "the second card did not pay"
    page.reload()
    page.wait_for_selector("#outcome[data-outcome=paid]", timeout=15_000)


def test_a_long_title_wraps_and_stays_out_of_the_quantity_column(shop, browser_page):
    book = BookFactory(title="A Very Long Title " + "Unbreakable" * 12, stock_quantity=2)
    client, order_id = buyer_with_order(book)
    payment = client.post("/api/payments/", {"order": order_id}).json()

    page = browser_page
    page.set_viewport_size({"width": 420, "height": 900})  # a phone
    page.goto(payment["payment_url"])
    title = page.locator("td.title").first.bounding_box()
    quantity = page.locator("td.qty").first.bounding_box()
    assert title["x"] + title["width"] <= quantity["x"] + 1
    one_line = page.locator("th.qty").bounding_box()["height"]
    assert title["height"] > 2 * one_line  # wrapped onto several lines
    assert page.locator("#shop-header .shop-name").inner_text() == "Bookstore"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "pay-page-long-title.png"), full_page=True)
