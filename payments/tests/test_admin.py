"""Payments in the back office: a read-only history with Stripe dashboard links, the order page's
payments section, and the order "Refund" action (same effects as the API's refund)."""

import re

import pytest
from django.core import mail
from django.test import Client
from djstripe.models import WebhookEndpoint

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from orders import services as order_services
from orders.models import Order, OrderEvent, OrderStatus
from payments import services
from payments.models import Payment, PaymentStatus
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db

ORDERS = "/admin/orders/order/"
PAYMENTS = "/admin/payments/payment/"


def paid_payment(fake, **kwargs):
    """A payment whose PaymentIntent succeeded, applied as the webhook applies it."""
    payment = payment_for_new_order(fake=fake, **kwargs)
    intent = fake.objects[payment.stripe_payment_intent_id]
    intent["status"] = "succeeded"
    services.payment_intent_apply(intent=intent)
    return Payment.objects.get(pk=payment.pk)


def refund_action(client, orders, *, confirmed=True):
    data = {"action": "action_order_refund", "_selected_action": [order.pk for order in orders]}
    if confirmed:
        data["confirmed"] = "yes"
    return client.post(ORDERS, data)


def payment_pages(fake, manager):
    refunded = paid_payment(fake)
    services.payment_refund(payment=refunded, actor=manager)
    refund = refunded.refunds.get()
    return [
        "/admin/payments/",
        PAYMENTS,
        f"{PAYMENTS}?status__exact=refunded",
        f"{PAYMENTS}?q={refunded.stripe_payment_intent_id}",
        f"{PAYMENTS}{refunded.pk}/change/",
        "/admin/payments/refund/",
        f"/admin/payments/refund/{refund.pk}/change/",
        f"{ORDERS}{refunded.order_id}/change/",
        f"{ORDERS}{paid_payment(fake).order_id}/confirm/action_order_refund/",
    ]


# --- Who gets in ------------------------------------------------------------------------------


def test_every_payment_page_loads_for_a_store_manager(fake, manager, manager_client):
    for url in payment_pages(fake, manager):
        assert manager_client.get(url).status_code == 200, url


def test_anonymous_visitors_and_customers_are_sent_to_the_login_page(fake, manager, client):
    customer = Client()
    customer.force_login(UserFactory())
    for url in payment_pages(fake, manager):
        for visitor in (client, customer):
            response = visitor.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


# --- The history --------------------------------------------------------------------------


def test_payments_are_a_read_only_history(fake, manager_client):
    payment = paid_payment(fake)
    page = manager_client.get(f"{PAYMENTS}{payment.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert payment.stripe_payment_intent_id in page
    response = manager_client.post(f"{PAYMENTS}{payment.pk}/change/", {"status": "refunded"})
    assert response.status_code == 403
    assert Payment.objects.get(pk=payment.pk).status == PaymentStatus.SUCCEEDED


def test_stripe_ids_link_to_the_dashboard_in_test_or_live_mode(fake, manager_client, settings):
    payment = paid_payment(fake)
    intent = payment.stripe_payment_intent_id
    test_link = f'href="https://dashboard.stripe.com/test/payments/{intent}"'
    assert test_link in manager_client.get(PAYMENTS).content.decode()

    settings.STRIPE_LIVE_MODE = True
    live_link = f'href="https://dashboard.stripe.com/payments/{intent}"'
    assert live_link in manager_client.get(PAYMENTS).content.decode()


def test_the_order_page_lists_its_payments_and_refunds(fake, manager, manager_client):
    payment = paid_payment(fake)
    services.payment_refund(payment=payment, actor=manager, amount=payment.amount / 2)
    refund = payment.refunds.get()

    page = manager_client.get(f"{ORDERS}{payment.order_id}/change/").content.decode()

    assert "payments and refunds" in page.lower()
    assert payment.stripe_payment_intent_id in page
    assert "partially_refunded" in page or "Partially refunded" in page
    assert f"/admin/payments/refund/{refund.pk}/change/" in page
    assert f"{ORDERS}{payment.order_id}/confirm/action_order_refund/" in page  # the rest


# --- Refunds through the order admin --------------------------------------------------------


def test_refund_asks_first_then_does_what_the_api_does(
    fake, manager_client, manager_api, django_capture_on_commit_callbacks
):
    book = BookFactory(stock_quantity=6)
    by_api = paid_payment(fake, book=book, quantity=2)
    by_admin = paid_payment(fake, book=book, quantity=2)
    book.refresh_from_db()
    assert book.stock_quantity == 2
    mail.outbox.clear()

    question = refund_action(manager_client, [by_admin.order], confirmed=False)
    assert question.status_code == 200
    assert "Refund these orders in full?" in question.content.decode()
    assert not fake.calls_to("POST", "/v1/refunds")

    with django_capture_on_commit_callbacks(execute=True):
        manager_api.post(f"/api/payments/{by_api.pk}/refund/")
    with django_capture_on_commit_callbacks(execute=True):
        answer = refund_action(manager_client, [by_admin.order])

    assert answer.status_code == 302
    for payment in (by_api, by_admin):
        payment.refresh_from_db()
        assert (payment.status, payment.amount_refunded) == ("refunded", payment.amount)
        assert Order.objects.get(pk=payment.order_id).status == OrderStatus.REFUNDED
        last_event = OrderEvent.objects.filter(order=payment.order_id).last()
        assert (last_event.to_status, last_event.actor_label) == ("refunded", "manager@example.com")
        kinds = set(
            OutboxEmail.objects.filter(order=payment.order_id).values_list("kind", "status")
        )
        assert ("refund_issued", "sent") in kinds
    amounts = [call[2]["amount"] for call in fake.calls_to("POST", "/v1/refunds")]
    assert amounts == ["2500", "2500"]  # 2 x 12.50, in full
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (6, 0)  # not shipped: back on hand
    assert len(mail.outbox) == 2


def test_refund_skips_orders_without_captured_money(fake, manager_client):
    pending = payment_for_new_order(fake=fake).order
    paid_elsewhere = order_services.order_place(
        user=UserFactory(), items=[{"book": BookFactory().pk, "quantity": 1}]
    )
    order_services.order_mark_paid(order_id=paid_elsewhere.pk)

    response = refund_action(manager_client, [pending, paid_elsewhere], confirmed=False)
    page = response.content.decode()

    assert response.context["selected"] == []
    assert "it is pending; a pending order cannot become refunded" in page
    assert "it has no captured payment to refund" in page
    assert "nothing was done" in page

    refund_action(manager_client, [paid_elsewhere])  # posted anyway: refused, not crashed
    assert Order.objects.get(pk=paid_elsewhere.pk).status == OrderStatus.PAID
    assert not fake.calls_to("POST", "/v1/refunds")


# --- The admin index: what staff see of Stripe ----------------------------------------------

STAFF_STRIPE_PAGES = {
    "/admin/payments/payment/",
    "/admin/payments/refund/",
    "/admin/payments/stripecustomer/",
    "/admin/payments/dispute/",
    "/admin/djstripe/event/",
    "/admin/djstripe/webhookendpoint/",
}


def index_links(client):
    """The model pages the admin index links to, and its "Add" links."""
    html = client.get("/admin/").content.decode()
    links = set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', html))
    adds = set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/add/)"', html))
    return links, adds


def test_the_superusers_index_lists_only_the_stripe_records_that_matter(webhook_endpoint):
    client = Client()
    client.force_login(StaffFactory(is_superuser=True))
    links, adds = index_links(client)
    stripe_links = {link for link in links if link.startswith("/admin/djstripe/")}
    assert stripe_links == {
        "/admin/djstripe/event/",
        "/admin/djstripe/webhookendpoint/",
        "/admin/djstripe/webhookeventtrigger/",  # raw deliveries: superusers only
    }
    assert links >= STAFF_STRIPE_PAGES
    assert not {link for link in adds if "/djstripe/" in link or "/payments/" in link}
    assert not {link for link in links if "/token_blacklist/" in link}
    assert len(links) <= 25, sorted(links)  # was about 70 with dj-stripe's own admin


def test_a_store_manager_sees_the_stripe_records_read_only(manager_client, webhook_endpoint):
    links, adds = index_links(manager_client)
    assert links >= STAFF_STRIPE_PAGES
    assert "/admin/djstripe/webhookeventtrigger/" not in links
    assert not {link for link in adds if "/djstripe/" in link or "/payments/" in link}
    for page in STAFF_STRIPE_PAGES:
        assert manager_client.get(page).status_code == 200, page
    endpoint = WebhookEndpoint.objects.get()
    page = manager_client.get(f"/admin/djstripe/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200
    assert endpoint.secret and endpoint.secret not in page.content.decode()
    assert manager_client.get("/admin/djstripe/webhookendpoint/add/").status_code == 403
    assert manager_client.get("/admin/djstripe/customer/").status_code == 404
