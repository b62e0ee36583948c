"""A customer's data export, and closing an account (by the customer or staff)."""

import json
from decimal import Decimal
from io import StringIO

import pytest
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts import emails as account_emails
from accounts import services as account_services
from accounts.models import Address, User
from accounts.tests.factories import DEFAULT_PASSWORD, AddressFactory, StaffFactory, UserFactory
from catalog.models import Book
from catalog.tests.factories import BookFactory
from core.models import IdempotencyKey, OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem, field_errors
from orders import services as order_services
from orders.models import Order, OrderEvent, OrderStatus
from orders.tests.factories import TEST_ADDRESS, ShippingMethodFactory
from payments import gateway
from payments.models import Payment, Refund, StripeCustomer
from payments.tests.factories import payment_for_new_order

pytestmark = pytest.mark.django_db


def signed_in(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def customer(db):
    """A customer with a paid-and-partly-refunded order, a pending order holding 2 copies, a
    Stripe customer and emails."""
    user = UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
    payment = payment_for_new_order(user=user, book=BookFactory(title="Paid Book"))
    order_services.order_mark_paid(
        order_id=payment.order_id, reference=payment.stripe_payment_intent_id
    )
    Payment.objects.filter(pk=payment.pk).update(
        status="partially_refunded", amount_refunded="1.00"
    )
    Refund.objects.create(
        payment=payment, amount=Decimal("1.00"), stripe_refund_id="re_1", status="succeeded"
    )
    held = BookFactory(title="Held Book", stock_quantity=5)
    ShippingMethodFactory(code="post", name="Post", price=Decimal("3.00"))
    order_services.order_place(
        user=user,
        items=[{"book": held.pk, "quantity": 2}],
        shipping_address={
            **TEST_ADDRESS,
            "full_name": "Ada Lovelace",
            "line1": "12 Analytical Row",
        },
        shipping_method="post",
    )
    AddressFactory(user=user, full_name="Ada Lovelace", line1="12 Analytical Row")
    StripeCustomer.objects.create(user=user, stripe_id="cus_ada")
    IdempotencyKey.objects.create(user=user, scope="orders.create", key="k1", request_hash="h")
    user.held_book = held
    user.paid_payment = payment
    return user


def test_export_has_everything_kept_and_no_secrets(customer):
    response = signed_in(customer).get("/api/users/me/export/")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    data = response.json()
    assert data["profile"]["email"] == "ada@example.com"
    assert (data["profile"]["first_name"], data["profile"]["last_name"]) == ("Ada", "Lovelace")
    assert [o["status"] for o in data["orders"]] == ["paid", "pending"]
    paid = data["orders"][0]
    assert paid["items"][0]["title"] == "Paid Book"
    assert [e["to_status"] for e in paid["events"]] == ["pending", "paid"]
    assert paid["events"][0]["by"] == "you"
    [payment] = paid["payments"]
    assert payment["stripe_payment_intent"] == customer.paid_payment.stripe_payment_intent_id
    assert payment["refunds"][0]["amount"] == "1.00"
    assert {e["kind"] for e in data["emails"]} >= {"order_placed", "order_paid"}
    assert all(e["to"] == "ada@example.com" for e in data["emails"])
    [address] = data["addresses"]
    assert (address["full_name"], address["line1"], address["country"]) == (
        "Ada Lovelace",
        "12 Analytical Row",
        "US",
    )
    pending = data["orders"][1]
    assert pending["shipping_address"]["line1"] == "12 Analytical Row"
    assert (pending["shipping_method"], pending["shipping_amount"]) == ("Post", "3.00")
    text = json.dumps(data)
    assert "_secret" not in text  # neither the PaymentIntent's nor the SetupIntent's secret
    assert str(customer.paid_payment.token) not in text
    assert "staff_order_paid" not in text


def test_export_shows_only_ones_own_data(customer):
    other = UserFactory()
    data = signed_in(other).get("/api/users/me/export/").json()
    assert data["orders"] == [] and data["emails"] == []
    assert data["profile"]["email"] == other.email


def test_export_needs_a_signed_in_user():
    assert_problem(ProblemCheckingAPIClient().get("/api/users/me/export/"), 401)


def test_closing_needs_the_password(customer):
    response = signed_in(customer).delete("/api/users/me/", {"password": "wrong"})
    assert field_errors(assert_problem(response, 400, "validation_error")) == {"password"}
    missing = signed_in(customer).delete("/api/users/me/", {})
    assert field_errors(assert_problem(missing, 400, "validation_error")) == {"password"}
    customer.refresh_from_db()
    assert customer.is_active and customer.email == "ada@example.com"
    assert Order.objects.filter(status="pending").count() == 1


def check_closed(user_id, held_book):
    user = User.objects.get(pk=user_id)
    assert (user.email, user.first_name, user.last_name) == (
        f"closed-account-{user_id}@closed.invalid",
        "",
        "",
    )
    assert not user.is_active and not user.has_usable_password() and user.closed_at
    # Orders and payments stay, linked to the anonymised user; the pending one was cancelled.
    statuses = sorted(Order.objects.filter(user=user).values_list("status", flat=True))
    assert statuses == [OrderStatus.CANCELLED, OrderStatus.PAID]
    assert Payment.objects.filter(order__user=user).count() == 1
    assert Refund.objects.filter(payment__order__user=user).count() == 1
    assert Book.objects.get(pk=held_book.pk).reserved_quantity == 0
    # The paid order still has to be shipped: it keeps where to send it, and where to tell them.
    awaiting = Order.objects.get(user=user, status=OrderStatus.PAID)
    assert awaiting.fulfilment_email == "ada@example.com"
    # No personal data left in the order history, the other emails or idempotency records.
    assert not OrderEvent.objects.filter(actor_label__icontains="ada@").exists()
    for message in OutboxEmail.objects.exclude(order=awaiting):
        assert "ada@" not in message.to
        assert "Ada" not in message.text_body + message.html_body
    assert not OutboxEmail.objects.filter(status="pending", to=user.email).exists()
    assert not IdempotencyKey.objects.filter(user=user).exists()
    # The address book is gone; orders keep only the country and region their tax came from.
    assert not Address.objects.filter(user=user).exists()
    shipped_to = Order.objects.get(user=user, status=OrderStatus.CANCELLED).shipping_address
    assert shipped_to["country"] == "US" and shipped_to["region"] == "NY"
    assert "Analytical" not in json.dumps(shipped_to) and "Ada" not in json.dumps(shipped_to)
    assert not StripeCustomer.objects.filter(user=user).exists()
    return user


def test_customer_closes_the_account(customer, monkeypatch, django_capture_on_commit_callbacks):
    deleted = []
    monkeypatch.setattr(
        gateway, "customer_delete", lambda *, customer_id: deleted.append(customer_id)
    )
    tokens = (
        ProblemCheckingAPIClient()
        .post("/api/users/login/", {"email": customer.email, "password": DEFAULT_PASSWORD})
        .json()
    )
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete("/api/users/me/", {"password": DEFAULT_PASSWORD})
    assert response.status_code == 204
    paid = Order.objects.get(user=customer, status=OrderStatus.PAID)
    assert paid.fulfilment_email == customer.email
    check_closed(customer.pk, customer.held_book)
    assert deleted == ["cus_ada"]
    # Tokens revoked, login impossible.
    assert_problem(client.get("/api/users/me/"), 401)
    refreshed = ProblemCheckingAPIClient().post(
        "/api/users/token/refresh/", {"refresh": tokens["refresh"]}
    )
    assert_problem(refreshed, 401)
    assert not OutstandingToken.objects.filter(
        user=customer, blacklistedtoken__isnull=True
    ).exists()
    login = ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": "ada@example.com", "password": DEFAULT_PASSWORD}
    )
    assert_problem(login, 401)
    # The address may register again, as a new customer.
    again = ProblemCheckingAPIClient().post(
        "/api/users/register/", {"email": "ada@example.com", "password": "Sturdy-Paperback-42"}
    )
    assert again.status_code == 201
    assert User.objects.filter(email="ada@example.com", is_active=True).count() == 1


def test_staff_close_an_account_from_the_admin(customer, monkeypatch):
    monkeypatch.setattr(gateway, "customer_delete", lambda *, customer_id: None)
    admin = StaffFactory(is_superuser=True)
    from django.test import Client

    browser = Client()
    browser.force_login(admin)
    form = {"action": "close_accounts", "_selected_action": [customer.pk]}
    question = browser.post("/admin/accounts/user/", form)
    assert question.status_code == 200 and b"Yes, close these accounts" in question.content
    assert User.objects.get(pk=customer.pk).is_active  # asking changed nothing
    done = browser.post("/admin/accounts/user/", {**form, "confirmed": "yes"})
    assert done.status_code == 302
    check_closed(customer.pk, customer.held_book)
    event = OrderEvent.objects.filter(order__user=customer, to_status="cancelled").get()
    assert event.actor_id == admin.pk


def test_store_managers_cannot_close_accounts(customer, manager_client):
    form = {"action": "close_accounts", "_selected_action": [customer.pk], "confirmed": "yes"}
    manager_client.post("/admin/accounts/user/", form)
    assert User.objects.get(pk=customer.pk).is_active


# --- Issue 24: mail belongs to a person; closing leaves nothing behind; fulfilment goes on ---


def test_mail_follows_the_person_not_the_address(django_capture_on_commit_callbacks):
    """Item 2: a customer who changed their address used to leave their mail (street, pay link,
    the notice naming the new address) to whoever registered the old address next."""
    first = UserFactory(email="old@example.com", first_name="Ada")
    ShippingMethodFactory(code="post")
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_place(
            user=first,
            items=[{"book": BookFactory(stock_quantity=3).pk, "quantity": 1}],
            shipping_address={**TEST_ADDRESS, "line1": "12 Analytical Row"},
            shipping_method="post",
        )
        changed = signed_in(first).patch(
            "/api/users/me/", {"email": "new@example.com", "password": DEFAULT_PASSWORD}
        )
        assert changed.status_code == 200
        registered = ProblemCheckingAPIClient().post(
            "/api/users/register/", {"email": "old@example.com", "password": "Sturdy-Paperback-42"}
        )
        assert registered.status_code == 201
    newcomer = User.objects.get(email="old@example.com")

    theirs = signed_in(newcomer).get("/api/users/me/export/").json()
    assert [e["kind"] for e in theirs["emails"]] == ["verify_email"]
    text = json.dumps(theirs)
    assert "Analytical" not in text and "new@example.com" not in text and "Ada" not in text
    mine = signed_in(first).get("/api/users/me/export/").json()
    assert {(e["kind"], e["to"]) for e in mine["emails"]} == {
        ("order_placed", "old@example.com"),
        ("email_changed", "old@example.com"),
        ("verify_email", "new@example.com"),
    }


def test_closing_touches_only_the_closing_customers_own_mail(settings, monkeypatch):
    """Item 2: closing an account used to rewrite every email to its address: another person's
    earlier mail to it, and the shop's notices to STAFF_EMAIL when that was the address."""
    monkeypatch.setattr(gateway, "customer_delete", lambda *, customer_id: None)
    settings.STAFF_EMAIL = "shop@example.com"
    buyer = UserFactory(email="buyer@example.com", first_name="Bea")
    payment = payment_for_new_order(user=buyer)
    order_services.order_mark_paid(order_id=payment.order_id, reference="pi_ref")
    mover = UserFactory(email="shared@example.com", first_name="Mo")
    account_emails.email_verification(user=mover)
    User.objects.filter(pk=mover.pk).update(email="moved@example.com")
    others = {
        message.pk: (message.to, message.status, message.text_body)
        for message in OutboxEmail.objects.exclude(user=buyer)
    }
    assert set(OutboxEmail.objects.values_list("kind", flat=True)) >= {
        "staff_order_paid",
        "verify_email",
    }
    # Two customers take those addresses, then close their accounts.
    for address in ("shop@example.com", "shared@example.com"):
        squatter = UserFactory(email=address)
        services_close(squatter)

    after = {
        message.pk: (message.to, message.status, message.text_body)
        for message in OutboxEmail.objects.filter(pk__in=others)
    }
    assert after == others
    assert "buyer@example.com" in OutboxEmail.objects.get(kind="staff_order_paid").text_body


def services_close(user):
    return account_services.user_close(user=user, actor=user)


def test_closing_scrubs_the_shops_copies_of_stripe_data_and_the_lockout(customer, monkeypatch):
    """Item 9: dj-stripe's Customer, the PaymentIntent's shipping, the events about them and
    the webhook requests that brought them, and the lockout's records named the customer."""
    from axes.models import AccessAttempt, AccessFailureLog
    from djstripe.models import Customer, Event, PaymentIntent, WebhookEventTrigger

    monkeypatch.setattr(gateway, "customer_delete", lambda *, customer_id: None)
    person = {
        "name": "Ada Lovelace",
        "phone": "+1 555 0100",
        "address": {"line1": "12 Analytical Row", "city": "Albany", "country": "US"},
    }
    intent_id = customer.paid_payment.stripe_payment_intent_id

    def intent(pk, customer_id):
        return {
            "id": pk,
            "object": "payment_intent",
            "amount": 1200,
            "customer": customer_id,
            "receipt_email": "ada@example.com",
            "shipping": person,
            "metadata": {"order_id": "1"},
        }

    Customer.objects.create(
        id="cus_ada",
        email="ada@example.com",
        stripe_data={"id": "cus_ada", "email": "ada@example.com", "name": "Ada Lovelace"},
    )
    PaymentIntent.objects.create(id=intent_id, stripe_data=intent(intent_id, "cus_ada"))
    PaymentIntent.objects.create(id="pi_someone_else", stripe_data=intent("pi_someone_else", "x"))
    events = [
        Event.objects.create(
            id=f"evt_{n}",
            type="payment_intent.succeeded",
            data={"object": intent(pk, customer_id)},
            stripe_data={"data": {"object": intent(pk, customer_id)}},
        )
        for n, (pk, customer_id) in enumerate([(intent_id, "cus_ada"), ("pi_someone_else", "x")])
    ]
    for event in events:
        WebhookEventTrigger.objects.create(
            remote_ip="127.0.0.1", headers={}, body=json.dumps(event.data), event=event
        )
    AccessAttempt.objects.create(
        username="ada@example.com", ip_address="203.0.113.9", user_agent="x", failures_since_start=3
    )
    AccessFailureLog.objects.create(
        username="ada@example.com", ip_address="203.0.113.9", user_agent="x"
    )
    AccessAttempt.objects.create(
        username="other@example.com",
        ip_address="203.0.113.9",
        user_agent="y",
        failures_since_start=1,
    )

    services_close(customer)

    stored = json.dumps(
        [
            list(Customer.objects.values("email", "stripe_data")),
            list(PaymentIntent.objects.filter(id=intent_id).values("stripe_data")),
            list(Event.objects.filter(id="evt_0").values("data", "stripe_data")),
            list(WebhookEventTrigger.objects.filter(event=events[0]).values("body")),
            list(AccessAttempt.objects.values("username")),
            list(AccessFailureLog.objects.values("username")),
        ]
    )
    for personal in ("ada@", "Ada", "Lovelace", "Analytical", "555 0100"):
        assert personal not in stored
    # What the books and metrics read stays; other customers' records are untouched.
    kept = PaymentIntent.objects.get(id=intent_id).stripe_data
    assert (kept["amount"], kept["metadata"], kept["shipping"]) == (1200, {"order_id": "1"}, None)
    assert Event.objects.get(id="evt_0").data["object"]["id"] == intent_id
    assert PaymentIntent.objects.get(id="pi_someone_else").stripe_data["shipping"] == person
    assert Event.objects.get(id="evt_1").data["object"]["shipping"] == person
    assert WebhookEventTrigger.objects.get(event=events[1]).body
    assert AccessAttempt.objects.filter(username="other@example.com").exists()


def test_a_paid_unshipped_order_keeps_what_delivery_needs_until_it_ships(
    monkeypatch, staff_user, django_capture_on_commit_callbacks
):
    """Also found: closing used to blank the address the book still had to go to, and sent the
    shipping notice to closed-account-…@closed.invalid. Kept until shipped (or refunded or
    delivered), then removed by the release_closed_account_orders job."""
    from django.core import mail
    from django.core.management import call_command

    monkeypatch.setattr(gateway, "customer_delete", lambda *, customer_id: None)
    user = UserFactory(email="ada@example.com", first_name="Ada")
    ShippingMethodFactory(code="post")
    with django_capture_on_commit_callbacks(execute=True):
        order = order_services.order_place(
            user=user,
            items=[{"book": BookFactory(stock_quantity=3).pk, "quantity": 1}],
            shipping_address={**TEST_ADDRESS, "full_name": "Ada Lovelace", "line1": "12 Row"},
            shipping_method="post",
        )
        order_services.order_mark_paid(order_id=order.pk, reference="pi_ref")
        closed = signed_in(user).delete("/api/users/me/", {"password": DEFAULT_PASSWORD})
    assert closed.status_code == 204
    order.refresh_from_db()
    assert order.shipping_address["line1"] == "12 Row"
    assert order.fulfilment_email == "ada@example.com"
    assert order_services.orders_closed_accounts_release() == 0  # not shipped yet

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        order_services.order_ship(
            order=order, actor=staff_user, carrier="ups", tracking_number="1Z"
        )
    [notice] = mail.outbox
    assert notice.to == ["ada@example.com"] and "12 Row" in notice.body

    out = StringIO()
    call_command("release_closed_account_orders", stdout=out)
    assert "Anonymised 1 order(s)" in out.getvalue()
    order.refresh_from_db()
    assert order.fulfilment_email == ""
    assert order.shipping_address["full_name"] == "Closed account"
    assert "12 Row" not in json.dumps(order.shipping_address)
    for message in OutboxEmail.objects.filter(order=order):
        assert "ada@" not in message.to
        assert "Ada" not in message.text_body + message.html_body
    assert order_services.orders_closed_accounts_release() == 0  # done once


def test_the_export_has_the_customers_cart_without_its_key(customer):
    from orders import carts

    book = BookFactory(title="Cart Book", price=Decimal("7.50"))
    cart = carts.cart_of_customer(user=customer)
    carts.cart_line_add(cart=cart, book_id=book.pk, quantity=2)
    someone_elses = carts.cart_of_customer(user=UserFactory())

    response = signed_in(customer).get("/api/users/me/export/")

    exported = response.json()["cart"]
    assert [
        (line["title"], line["quantity"], line["unit_price"]) for line in exported["lines"]
    ] == [("Cart Book", 2, "7.50")]
    assert cart.pk not in response.content.decode()
    assert someone_elses.pk not in response.content.decode()
    assert signed_in(UserFactory()).get("/api/users/me/export/").json()["cart"] is None


def test_every_section_of_the_export_is_documented(customer, api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    documented = schema["components"]["schemas"]
    data = signed_in(customer).get("/api/users/me/export/").json()
    assert set(documented["DataExport"]["properties"]) == set(data)
    assert set(documented["ExportOrder"]["properties"]) == set(data["orders"][0])


def test_the_export_has_returns_and_closing_keeps_their_amounts_not_their_words(customer):
    from orders.models import Return, ReturnLine

    order = Order.objects.get(pk=customer.paid_payment.order_id)
    order_return = Return.objects.create(
        order=order, reason="The cover was torn", staff_note="Seen by Ann", refund_amount="5.00"
    )
    ReturnLine.objects.create(order_return=order_return, order_item=order.items.get(), quantity=1)

    exported = signed_in(customer).get("/api/users/me/export/").json()
    [paid] = [o for o in exported["orders"] if o["number"] == order.number]
    [listed] = paid["returns"]
    assert (listed["reason"], listed["refund_amount"]) == ("The cover was torn", "5.00")
    assert listed["lines"] == [{"book": order.items.get().book_id, "quantity": 1}]
    assert paid["payments"][0]["disputes"] == []

    account_services.user_close(user=customer, actor=customer, password=DEFAULT_PASSWORD)

    order_return.refresh_from_db()
    assert (order_return.reason, order_return.staff_note) == ("", "")
    assert order_return.refund_amount == Decimal("5.00") and order_return.lines.count() == 1


def test_the_export_has_the_customers_reviews_wishlist_and_alerts_without_staff_notes(customer):
    from catalog import services as catalog_services
    from catalog.models import Review, StockAlert

    paid_book = Order.objects.get(pk=customer.paid_payment.order_id).items.get().book
    review = catalog_services.review_create(
        user=customer, book_id=paid_book.pk, rating=4, title="Fine", body="A good read"
    )
    Review.objects.filter(pk=review.pk).update(is_hidden=True, moderation_reason="Staff only")
    wished = BookFactory(title="Wished For")
    catalog_services.wishlist_add(user=customer, book_id=wished.pk)
    sold_out = BookFactory(title="Sold Out", stock_quantity=0)
    StockAlert.objects.create(user=customer, book=sold_out)
    catalog_services.wishlist_add(user=UserFactory(), book_id=sold_out.pk)  # someone else's

    response = signed_in(customer).get("/api/users/me/export/")

    data = response.json()
    [exported] = data["reviews"]
    assert (exported["book_title"], exported["rating"], exported["body"]) == (
        paid_book.title,
        4,
        "A good read",
    )
    assert exported["hidden"] is True and "Staff only" not in response.content.decode()
    assert [entry["title"] for entry in data["wishlist"]] == ["Wished For"]
    assert [entry["title"] for entry in data["back_in_stock_alerts"]] == ["Sold Out"]
