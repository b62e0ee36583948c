"""A return's refund at Stripe: exactly its refund_amount, once, within what was paid."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.tests.factories import StaffFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from core.models import OutboxEmail
from core.testing import assert_problem
from orders import services as order_services
from orders.models import Return
from payments import services
from payments.models import Refund
from payments.tests.factories import paid_payment

pytestmark = pytest.mark.django_db


def received_return(payment, lines, staff):
    order = payment.order
    order_return = order_services.return_request(
        user=order.user,
        order_id=order.pk,
        items=[{"book": book.pk, "quantity": quantity} for book, quantity in lines.items()],
        reason="Not what I expected",
    )
    order_services.return_approve(order_return=order_return, actor=staff)
    return order_services.return_receive(order_return=order_return, actor=staff, restock=True)


@pytest.fixture
def books():
    return BookFactory(price=Decimal("10.00")), BookFactory(price=Decimal("30.00"))


def test_refund_sends_exactly_the_amount_once_and_the_last_copies_refund_the_order(
    fake, books, staff_user
):
    first, second = books
    payment = paid_payment(fake=fake, lines={first: 1, second: 1})
    one = received_return(payment, {first: 1}, staff_user)
    services.return_refund(order_return=one, actor=staff_user)
    again = services.return_refund(order_return=one, actor=staff_user)  # a retried request
    assert again.status == "refunded"
    refunds = fake.calls_to("POST", "/v1/refunds")
    assert [call[2]["amount"] for call in refunds] == ["1000"]
    assert refunds[0][2]["payment_intent"] == payment.stripe_payment_intent_id
    payment.refresh_from_db()
    assert (payment.amount_refunded, payment.status) == (Decimal("10.00"), "partially_refunded")
    assert payment.order.status == "shipped"
    assert Refund.objects.get().order_return == one

    two = received_return(payment, {second: 1}, staff_user)
    services.return_refund(order_return=two, actor=staff_user)
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.amount_refunded, payment.status) == (Decimal("40.00"), "refunded")
    assert payment.order.status == "refunded"
    kinds = list(OutboxEmail.objects.filter(order=payment.order).values_list("kind", flat=True))
    assert kinds.count("return_refunded") == 2
    assert "refund_issued" not in kinds  # the return's own email tells of the money


def test_a_return_is_refunded_only_once_received(fake, books, staff_user):
    first, _ = books
    payment = paid_payment(fake=fake, lines={first: 1})
    order_return = order_services.return_request(
        user=payment.order.user,
        order_id=payment.order_id,
        items=[{"book": first.pk, "quantity": 1}],
        reason="x",
    )
    with pytest.raises(ApplicationError) as caught:
        services.return_refund(order_return=order_return, actor=staff_user)
    assert caught.value.code == "invalid_status_transition"
    assert not fake.calls_to("POST", "/v1/refunds")


def test_a_return_gives_back_only_what_staff_have_not_refunded_already(fake, books, staff_user):
    """The return is priced with the staff's refunds counted: its quote is what it pays."""
    first, second = books
    payment = paid_payment(fake=fake, lines={first: 1, second: 1})
    services.payment_refund(payment=payment, actor=staff_user, amount=Decimal("35.00"))
    quoted = order_services.return_quote(
        user=payment.order.user,
        order_id=payment.order_id,
        items=[{"book": second.pk, "quantity": 1}],
    )
    order_return = received_return(payment, {second: 1}, staff_user)
    assert quoted.refund_amount == order_return.refund_amount == Decimal("5.00")
    services.return_refund(order_return=order_return, actor=staff_user)
    payment.refresh_from_db()
    assert payment.amount_refunded == payment.amount == Decimal("40.00")
    assert [call[2]["amount"] for call in fake.calls_to("POST", "/v1/refunds")] == ["3500", "500"]


def test_the_last_copies_get_the_rest_after_a_partial_staff_refund(fake, books, staff_user):
    first, second = books
    payment = paid_payment(fake=fake, lines={first: 1, second: 1})
    services.payment_refund(payment=payment, actor=staff_user, amount=Decimal("4.00"))
    one = received_return(payment, {first: 1}, staff_user)
    assert one.refund_amount == Decimal("10.00")  # its share: the staff's refund left enough
    services.return_refund(order_return=one, actor=staff_user)
    two = received_return(payment, {second: 1}, staff_user)
    assert two.refund_amount == Decimal("26.00")  # 40 paid - 4 by staff - 10 for the first
    services.return_refund(order_return=two, actor=staff_user)
    payment.refresh_from_db()
    payment.order.refresh_from_db()
    assert (payment.amount_refunded, payment.order.status) == (Decimal("40.00"), "refunded")


def test_refund_api_answers_the_return_and_hides_others(fake, books, staff_client, user_client):
    first, _ = books
    payment = paid_payment(fake=fake, user=user_client.user, lines={first: 1})
    order_return = received_return(payment, {first: 1}, StaffFactory())
    response = staff_client.post(f"/api/returns/{order_return.pk}/refund/")
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["refund_amount"]) == ("refunded", "10.00")
    assert staff_client.post(f"/api/returns/{order_return.pk}/refund").status_code == 200
    assert len(fake.calls_to("POST", "/v1/refunds")) == 1
    assert_problem(staff_client.post("/api/returns/987654/refund/"), 404, "not_found")
    order = user_client.get(f"/api/orders/{payment.order_id}/").json()
    assert (order["status"], order["amount_refunded"]) == ("refunded", "10.00")
    assert order["returns"][0]["status"] == "refunded"


def test_refunding_a_return_needs_the_refund_permission_too(fake, books):
    """Deciding returns is not sending money: a role that may only move returns along gets a
    403 from the API and nothing from the admin's action."""
    from django.contrib.admin import helpers
    from django.contrib.auth.models import Permission

    from core.testing import ProblemCheckingAPIClient

    first, _ = books
    payment = paid_payment(fake=fake, lines={first: 1})
    order_return = received_return(payment, {first: 1}, StaffFactory())
    clerk = StaffFactory()
    clerk.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="orders", codename__in=["view_return", "change_return"]
        )
    )
    client = ProblemCheckingAPIClient()
    client.force_authenticate(clerk)
    assert_problem(client.post(f"/api/returns/{order_return.pk}/refund/"), 403, "permission_denied")
    client.force_login(clerk)
    client.post(
        "/admin/orders/return/",
        {
            "action": "refund_returns",
            helpers.ACTION_CHECKBOX_NAME: [order_return.pk],
            "confirmed": "yes",
        },
    )
    assert Return.objects.get().status == "received"
    assert fake.calls_to("POST", "/v1/refunds") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_return_refund_and_a_staff_refund_at_once_never_exceed_what_was_paid(fake, books):
    first, second = books
    staff = StaffFactory()
    payment = paid_payment(fake=fake, lines={first: 1, second: 1})
    order_return = received_return(payment, {second: 1}, staff)
    barrier = threading.Barrier(2)
    outcomes = []

    def run(call):
        try:
            barrier.wait(timeout=10)
            call()
            outcomes.append("ok")
        except ApplicationError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [
        threading.Thread(
            target=run,
            args=(lambda: services.return_refund(order_return=order_return, actor=staff),),
        ),
        threading.Thread(
            target=run,
            args=(
                lambda: services.payment_refund(
                    payment=payment, actor=staff, amount=Decimal("35.00")
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    payment.refresh_from_db()
    assert payment.amount_refunded <= payment.amount
    refunded = sum(Refund.objects.filter(payment=payment).values_list("amount", flat=True))
    assert refunded == payment.amount_refunded
    assert sorted(outcomes) in (["ok", "return_not_allowed"], ["ok", "validation_error"])


def test_the_admin_refunds_a_received_return_once(fake, books, manager, manager_client):
    from django.contrib.admin import helpers

    first, _ = books
    payment = paid_payment(fake=fake, lines={first: 1})
    order_return = received_return(payment, {first: 1}, manager)
    selected = {"action": "refund_returns", helpers.ACTION_CHECKBOX_NAME: [order_return.pk]}
    asked = manager_client.post("/admin/orders/return/", selected)
    page = asked.content.decode()
    assert asked.status_code == 200 and "Yes, refund them" in page
    assert order_return.number in page and f"{order_return.refund_amount} USD" in page
    assert Return.objects.get().status == "received" and not fake.calls_to("POST", "/v1/refunds")
    for _ in range(2):
        manager_client.post("/admin/orders/return/", {**selected, "confirmed": "yes"})
    assert Return.objects.get().status == "refunded"
    assert len(fake.calls_to("POST", "/v1/refunds")) == 1
    again = manager_client.post("/admin/orders/return/", selected).content.decode()
    assert "it is refunded already" in again and "Yes, refund them" not in again


def test_the_shops_automatic_refund_of_a_second_payment_leaves_returns_their_money(
    fake, books, staff_user
):
    """Paid twice (the pay page and the API at once): the second payment goes back by itself,
    and is not money the customer got back for this order's books."""
    from payments.models import Payment

    first, second = books
    payment = paid_payment(fake=fake, lines={first: 1, second: 1})
    # What the webhook of the second success leaves (payments/tests/test_webhooks.py).
    twice = Payment.objects.create(
        order=payment.order,
        amount=payment.amount,
        amount_refunded=payment.amount,
        status="refunded",
        currency=payment.currency,
        stripe_payment_intent_id="pi_paid_twice",
        stripe_client_secret="pi_paid_twice_secret",
    )
    Refund.objects.create(
        payment=twice, amount=twice.amount, stripe_refund_id="re_twice", automatic=True
    )
    quoted = order_services.return_quote(
        user=payment.order.user,
        order_id=payment.order_id,
        items=[{"book": first.pk, "quantity": 1}],
    )
    assert quoted.refund_amount == Decimal("10.00")
