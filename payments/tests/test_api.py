from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors
from orders import services as order_services
from orders.models import Order
from payments.models import Payment, StripeCustomer
from payments.tests.factories import payment_for_new_order
from payments.tests.fake_stripe import card_declined

pytestmark = pytest.mark.django_db


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def new_order(user, *, price="19.99", quantity=1, stock=5):
    book = BookFactory(price=Decimal(price), stock_quantity=stock)
    return order_services.order_place(user=user, items=[{"book": book.pk, "quantity": quantity}])


# --- Starting a payment ----------------------------------------------------------------------


def test_start_payment_creates_an_intent_for_the_server_computed_total(fake, user_client):
    order = new_order(user_client.user, price="19.99", quantity=2)
    response = user_client.post("/api/payments/", {"order": order.pk, "amount": "0.01"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["order"], body["status"], body["amount"], body["currency"]) == (
        order.pk,
        "requires_payment",
        "39.98",
        "usd",
    )
    assert body["client_secret"].startswith("pi_")
    assert body["publishable_key"].startswith("pk_test_")
    payment = Payment.objects.get()
    assert body["payment_url"].endswith(f"/pay/{payment.token}/")
    (create,) = fake.calls_to("POST", "/v1/payment_intents")
    assert create[2]["amount"] == "3998"
    assert create[2]["currency"] == "usd"
    assert create[2]["metadata[order_id]"] == str(order.pk)
    assert StripeCustomer.objects.get().user == user_client.user


def test_the_open_payment_is_returned_instead_of_a_second(fake, user_client):
    order = new_order(user_client.user)
    first = user_client.post("/api/payments/", {"order": order.pk})
    second = user_client.post("/api/payments/", {"order": order.pk})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Payment.objects.count() == 1
    assert len(fake.calls_to("POST", "/v1/payment_intents")) == 1


def test_idempotency_key_replays_the_start(fake, user_client):
    order = new_order(user_client.user)
    first = user_client.post("/api/payments/", {"order": order.pk}, HTTP_IDEMPOTENCY_KEY="p1")
    again = user_client.post("/api/payments/", {"order": order.pk}, HTTP_IDEMPOTENCY_KEY="p1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    other = new_order(user_client.user)
    reused = user_client.post("/api/payments/", {"order": other.pk}, HTTP_IDEMPOTENCY_KEY="p1")
    assert_problem(reused, 422, "idempotency_key_reused")


def test_someone_elses_order_is_404(fake, user_client):
    order = new_order(UserFactory())
    assert_problem(user_client.post("/api/payments/", {"order": order.pk}), 404, "not_found")
    assert not Payment.objects.exists()


def test_non_pending_and_expired_orders_are_409(fake, user_client):
    cancelled = new_order(user_client.user)
    order_services.order_cancel(order=cancelled, actor=user_client.user)
    assert_problem(
        user_client.post("/api/payments/", {"order": cancelled.pk}), 409, "order_not_payable"
    )
    lapsed = new_order(user_client.user)
    Order.objects.filter(pk=lapsed.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))
    assert_problem(user_client.post("/api/payments/", {"order": lapsed.pk}), 409, "order_expired")
    assert not Payment.objects.exists()


@pytest.mark.parametrize("payload", [{}, {"order": "x"}, {"order": -1}, {"order": 10**30}])
def test_bad_start_input_is_400(fake, user_client, payload):
    body = assert_problem(user_client.post("/api/payments/", payload), 400, "validation_error")
    assert field_errors(body) == {"order"}


def test_stripe_outage_is_502_and_writes_nothing(fake, user_client):
    order = new_order(user_client.user)
    fake.next_errors = [(500, {"type": "api_error", "message": "Stripe is down"})] * 3
    response = user_client.post("/api/payments/", {"order": order.pk})
    assert_problem(response, 502, "payment_provider_error")
    assert not Payment.objects.exists()
    assert not StripeCustomer.objects.exists()


# --- Confirming ------------------------------------------------------------------------------


def test_confirm_attaches_the_card_and_applies_stripes_success_at_once(fake, user):
    payment = payment_for_new_order(fake=fake, user=user)
    response = client_for(user).post(
        f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["next_step"]) == ("succeeded", "succeeded")
    update = fake.calls_to("POST", f"/v1/payment_intents/{payment.stripe_payment_intent_id}")
    assert update[0][2] == {"payment_method": "pm_card_visa"}
    # No webhook needed: the order is paid (and its receipt queued) by the confirm itself.
    assert Order.objects.get(pk=payment.order_id).status == "paid"
    assert OutboxEmail.objects.filter(order=payment.order_id, kind="order_paid").count() == 1


def test_a_processing_answer_is_processing_until_stripe_settles(fake, user):
    payment = payment_for_new_order(fake=fake, user=user)
    fake.confirm_status = "processing"
    response = client_for(user).post(
        f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_card_visa"}
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["next_step"]) == (
        "processing",
        "processing",
    )
    assert Order.objects.get(pk=payment.order_id).status == "pending"


def test_decline_is_402_with_the_code_and_the_customer_may_retry(fake, user):
    payment = payment_for_new_order(fake=fake, user=user)
    client = client_for(user)
    fake.next_errors = [card_declined("insufficient_funds")]
    response = client.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_x"})
    body = assert_problem(response, 402, "payment_failed")
    assert body["decline_code"] == "insufficient_funds"
    payment.refresh_from_db()
    assert (payment.status, payment.last_error_code) == ("failed", "insufficient_funds")
    assert (
        client.get(f"/api/payments/{payment.pk}/").json()["last_error_code"] == "insufficient_funds"
    )
    retry = client.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_y"})
    assert retry.status_code == 200
    payment.refresh_from_db()
    assert (payment.status, payment.last_error_code) == ("succeeded", "")


@pytest.mark.parametrize("payment_method", ["", "card_123", "pm_" + "x" * 300, None])
def test_bad_payment_method_is_400(fake, user, payment_method):
    payment = payment_for_new_order(fake=fake, user=user)
    response = client_for(user).post(
        f"/api/payments/{payment.pk}/confirm/", {"payment_method": payment_method}, format="json"
    )
    assert field_errors(assert_problem(response, 400, "validation_error")) == {"payment_method"}


def test_other_users_payments_are_404(fake, user_client):
    payment = payment_for_new_order(fake=fake)
    assert_problem(user_client.get(f"/api/payments/{payment.pk}/"), 404, "not_found")
    assert_problem(
        user_client.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_x"}), 404
    )
    assert user_client.get("/api/payments/").json()["results"] == []


# --- Refunds ---------------------------------------------------------------------------------


def paid_payment(fake, **kwargs):
    from payments import services

    payment = payment_for_new_order(fake=fake, **kwargs)
    intent = fake.objects[payment.stripe_payment_intent_id]
    intent["status"] = "succeeded"
    services.payment_intent_apply(intent=intent)
    payment.refresh_from_db()
    return payment


def test_staff_full_refund_restocks_an_unshipped_order(fake, staff_client):
    book = BookFactory(stock_quantity=5)
    payment = paid_payment(fake, book=book, quantity=2)
    book.refresh_from_db()
    assert book.stock_quantity == 3
    response = staff_client.post(f"/api/payments/{payment.pk}/refund/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["amount_refunded"]) == ("refunded", body["amount"])
    assert body["refunds"][0]["status"] == "succeeded"
    assert Order.objects.get(pk=payment.order_id).status == "refunded"
    book.refresh_from_db()
    assert (book.stock_quantity, book.reserved_quantity) == (5, 0)


def test_partial_refunds_then_the_rest(fake, staff_client):
    payment = paid_payment(fake)  # 12.50
    partial = staff_client.post(f"/api/payments/{payment.pk}/refund/", {"amount": "2.50"})
    assert partial.json()["status"] == "partially_refunded"
    assert Order.objects.get(pk=payment.order_id).status == "paid"
    too_much = staff_client.post(f"/api/payments/{payment.pk}/refund/", {"amount": "10.01"})
    assert field_errors(assert_problem(too_much, 400, "validation_error")) == {"amount"}
    rest = staff_client.post(f"/api/payments/{payment.pk}/refund/")
    assert (rest.json()["status"], rest.json()["amount_refunded"]) == ("refunded", "12.50")
    assert [c[2]["amount"] for c in fake.calls_to("POST", "/v1/refunds")] == ["250", "1000"]
    assert Order.objects.get(pk=payment.order_id).status == "refunded"


def test_refund_of_an_unpaid_payment_is_409(fake, staff_client):
    payment = payment_for_new_order(fake=fake)
    assert_problem(
        staff_client.post(f"/api/payments/{payment.pk}/refund/"), 409, "invalid_status_transition"
    )


def test_customers_cannot_refund(fake, user):
    payment = paid_payment(fake, user=user)
    response = client_for(user).post(f"/api/payments/{payment.pk}/refund/")
    assert_problem(response, 403, "permission_denied")
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert not fake.calls_to("POST", "/v1/refunds")


# --- Reconciliation --------------------------------------------------------------------------


def test_reconcile_applies_a_lost_success(fake):
    book = BookFactory(stock_quantity=3)
    payment = payment_for_new_order(fake=fake, book=book)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    fake.objects[payment.stripe_payment_intent_id]["status"] = "succeeded"
    call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Order.objects.get(pk=payment.order_id).status == "paid"
    book.refresh_from_db()
    assert book.stock_quantity == 2


def test_reconcile_cancels_open_payments_of_expired_orders(fake):
    payment = payment_for_new_order(fake=fake)
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - timedelta(minutes=30))
    Order.objects.filter(pk=payment.order_id).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    order_services.orders_expire_lapsed()
    call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "canceled"
    assert fake.calls_to("POST", f"/v1/payment_intents/{payment.stripe_payment_intent_id}/cancel")


def test_reconcile_logs_a_failure_goes_on_and_exits_non_zero_at_the_end(fake, caplog):
    unknown = payment_for_new_order(fake=fake)
    del fake.objects[unknown.stripe_payment_intent_id]  # Stripe does not know this intent
    lost = payment_for_new_order(fake=fake)
    fake.objects[lost.stripe_payment_intent_id]["status"] = "succeeded"
    old = timezone.now() - timedelta(minutes=30)
    Payment.objects.filter(pk=unknown.pk).update(created_at=old - timedelta(minutes=5))
    Payment.objects.filter(pk=lost.pk).update(created_at=old)
    out = StringIO()
    with pytest.raises(CommandError, match=rf"1 payment\(s\) could not be checked.*{unknown.pk}"):
        call_command("reconcile_payments", stdout=out)
    assert "Checked 1 open payment(s)" in out.getvalue()
    lost.refresh_from_db()
    assert lost.status == "succeeded"
    assert Order.objects.get(pk=lost.order_id).status == "paid"
    unknown.refresh_from_db()
    assert unknown.status == "requires_payment"
    assert any(
        r.levelname == "ERROR" and f"payment {unknown.pk} " in r.getMessage()
        for r in caplog.records
    )


def test_reconcile_leaves_recent_payments_alone(fake):
    payment = payment_for_new_order(fake=fake)
    fake.objects[payment.stripe_payment_intent_id]["status"] = "succeeded"
    call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "requires_payment"


def test_reconcile_settles_a_processing_payment_after_a_minute(fake, user):
    payment = payment_for_new_order(fake=fake, user=user)
    fake.confirm_status = "processing"
    client_for(user).post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_x"})
    fake.objects[payment.stripe_payment_intent_id]["status"] = "succeeded"  # webhook lost

    call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "processing"  # confirmed just now: the webhook may still come

    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(seconds=61))
    call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert Order.objects.get(pk=payment.order_id).status == "paid"


# --- Cancelling while paying -----------------------------------------------------------------


def test_an_order_whose_payment_is_processing_cannot_be_cancelled(fake, user, staff_client):
    book = BookFactory(stock_quantity=3)
    payment = payment_for_new_order(fake=fake, user=user, book=book)
    fake.confirm_status = "processing"
    client = client_for(user)
    client.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_x"})

    for canceller in (client, staff_client):
        refused = canceller.post(f"/api/orders/{payment.order_id}/cancel/")
        body = assert_problem(refused, 409, "payment_in_progress")
        assert body["payment"] == payment.pk
    assert Order.objects.get(pk=payment.order_id).status == "pending"
    book.refresh_from_db()
    assert book.reserved_quantity == 1
    assert not fake.calls_to("POST", "/v1/refunds")

    # Once Stripe says the payment failed, the order may be cancelled.
    intent = fake.objects[payment.stripe_payment_intent_id]
    intent["status"] = "requires_payment_method"
    intent["last_payment_error"] = {"code": "card_declined", "message": "Declined"}
    from payments import services

    services.payment_intent_apply(intent=intent)
    assert client.post(f"/api/orders/{payment.order_id}/cancel/").status_code == 200
    assert Order.objects.get(pk=payment.order_id).status == "cancelled"
    book.refresh_from_db()
    assert book.reserved_quantity == 0


@pytest.mark.parametrize(
    "status, error",
    [
        (
            400,
            {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "param": "payment_method",
                "message": "No such PaymentMethod: 'pm_doesnotexist'",
            },
        ),
        (404, {"type": "invalid_request_error", "message": "Not Found"}),  # the local server
    ],
    ids=["stripe", "local server"],
)
def test_a_card_id_stripe_does_not_know_is_the_clients_error(fake, user, status, error):
    from core.testing import ProblemCheckingAPIClient
    from payments.tests.factories import payment_for_new_order

    payment = payment_for_new_order(fake=fake, user=user)
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    fake.next_errors.append((status, error))
    response = client.post(
        f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_doesnotexist"}
    )
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == "payment_method"
    payment.refresh_from_db()
    assert payment.status == "requires_payment"


def test_stripe_refusing_anything_else_is_still_the_providers_error(fake, user):
    from core.testing import ProblemCheckingAPIClient
    from payments.tests.factories import payment_for_new_order

    payment = payment_for_new_order(fake=fake, user=user)
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    fake.next_errors.append(
        (400, {"type": "invalid_request_error", "param": "amount", "message": "Bad amount"})
    )
    response = client.post(f"/api/payments/{payment.pk}/confirm/", {"payment_method": "pm_card"})
    assert response.status_code == 502 and response.json()["code"] == "payment_provider_error"
