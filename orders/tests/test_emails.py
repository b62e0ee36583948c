from datetime import timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from core.models import OutboxEmail
from orders import services
from orders.models import Order
from orders.tests.factories import (
    TEST_ADDRESS,
    DiscountCodeFactory,
    ShippingMethodFactory,
    TaxRateFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run the block, then what its transactions left for after commit (the email sends)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def place(user=None, quantity=1, **kwargs):
    user = user or UserFactory(first_name="Ada")
    book = BookFactory(title="Dune", price=Decimal("9.50"), stock_quantity=5)
    return services.order_place(
        user=user, items=[{"book": book.pk, "quantity": quantity}], **kwargs
    )


def only_email():
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    return mail.outbox[0]


def html_of(message):
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def test_order_placed_email(committed):
    DiscountCodeFactory(code="TEN", value=Decimal("10"))
    with committed():
        order = place(quantity=2, discount_code="TEN")
    message = only_email()
    assert message.to == [order.user.email]
    assert order.number in message.subject
    assert message.body.startswith("Hello,\n") and "Hello Ada" not in message.body
    assert "2 x Dune: 19.00 USD" in message.body
    assert "Discount TEN: -1.90 USD" in message.body
    assert "Total: 17.10 USD" in message.body
    assert f"/pay/order/{order.payment_token}/" in message.body
    html = html_of(message)
    assert order.number in html and "17.10 USD" in html and "Pay for your order" in html
    assert OutboxEmail.objects.get().status == "sent"


def test_a_rolled_back_order_sends_nothing(committed):
    book = BookFactory(stock_quantity=1)
    with committed(), pytest.raises(ApplicationError):
        services.order_place(user=UserFactory(), items=[{"book": book.pk, "quantity": 2}])
    assert mail.outbox == []
    assert not OutboxEmail.objects.exists()


def test_paid_order_sends_a_receipt_and_tells_staff(committed):
    order = place()
    mail.outbox.clear()
    with committed():
        services.order_mark_paid(order_id=order.pk, reference="pi_123")
    receipt, staff = sorted(mail.outbox, key=lambda m: m.to[0] == settings.STAFF_EMAIL)
    assert receipt.to == [order.user.email]
    assert f"Receipt for order {order.number}" == receipt.subject
    assert "pi_123" in receipt.body and "Total: 9.50 USD" in receipt.body
    assert "pi_123" in html_of(receipt)
    assert staff.to == [settings.STAFF_EMAIL]
    assert order.number in staff.subject and "9.50 USD" in staff.subject
    with committed():
        services.order_mark_paid(order_id=order.pk, reference="pi_123")
    assert len(mail.outbox) == 2


def test_shipped_email(committed):
    order = place()
    services.order_mark_paid(order_id=order.pk)
    mail.outbox.clear()
    with committed():
        services.order_ship(order=order, actor=StaffFactory())
    message = only_email()
    assert message.subject == f"Order {order.number} is on its way"
    assert "has shipped" in message.body and "has shipped" in html_of(message)


def test_cancelled_and_expired_emails(committed):
    cancelled = place()
    expired = place()
    mail.outbox.clear()
    with committed():
        services.order_cancel(order=cancelled, actor=cancelled.user)
    message = only_email()
    assert message.subject == f"Order {cancelled.number} was cancelled"
    assert "Nothing was charged" in message.body
    mail.outbox.clear()
    Order.objects.filter(pk=expired.pk).update(
        hold_expires_at=timezone.now() - timedelta(minutes=1)
    )
    with committed():
        services.orders_expire_lapsed()
    message = only_email()
    assert message.subject == f"Order {expired.number} expired"
    assert "not paid in time" in html_of(message)


class BrokenSMTP:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


def test_a_mail_server_failure_never_fails_the_payment(committed):
    with committed():
        order = place()
    mail.outbox.clear()
    with mock.patch("django.core.mail.get_connection", return_value=BrokenSMTP()), committed():
        outcome, paid = services.order_mark_paid(order_id=order.pk, reference="pi_9")
    assert Order.objects.get(pk=order.pk).status == "paid"
    queued = OutboxEmail.objects.filter(kind="order_paid").get()
    assert (queued.status, queued.attempts) == ("pending", 1)
    assert "SMTP server down" in queued.last_error
    assert queued.next_attempt_at > timezone.now()
    assert mail.outbox == []

    out = StringIO()
    call_command("send_emails", stdout=out)
    assert "Sent 0" in out.getvalue()  # not due yet: backoff
    OutboxEmail.objects.update(next_attempt_at=timezone.now())
    call_command("send_emails", stdout=out)
    queued.refresh_from_db()
    assert queued.status == "sent"
    assert {m.subject for m in mail.outbox} == {
        f"Receipt for order {order.number}",
        f"Paid order {order.number}: 9.50 USD",
    }


def test_gives_up_after_the_last_attempt_and_staff_can_resend(committed):
    from core.outbox import MAX_ATTEMPTS, email_resend, email_send

    with committed():
        order = place()
    message = OutboxEmail.objects.get(order=order)
    OutboxEmail.objects.filter(pk=message.pk).update(status="pending", attempts=MAX_ATTEMPTS - 1)
    with mock.patch("django.core.mail.get_connection", return_value=BrokenSMTP()):
        email_send(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == "failed"
    mail.outbox.clear()
    with committed():
        email_resend(message=message)
    message.refresh_from_db()
    assert message.status == "sent"
    assert len(mail.outbox) == 1


@pytest.mark.parametrize(
    "kind",
    [
        "order_placed",
        "order_paid",
        "staff_order_paid",
        "payment_failed",
        "order_shipped",
        "order_closed",
        "refund_issued",
    ],
)
def test_every_template_renders_without_missing_variables(kind, settings):
    from django.template.loader import render_to_string

    marker = "MISSING-VARIABLE"
    settings.TEMPLATES = [
        {
            **settings.TEMPLATES[0],
            "OPTIONS": {**settings.TEMPLATES[0]["OPTIONS"], "string_if_invalid": marker},
        }
    ]
    DiscountCodeFactory(code="TEN", value=Decimal("10"))
    order = place(quantity=2, discount_code="TEN")
    services.order_mark_paid(order_id=order.pk)
    order.refresh_from_db()
    context = {
        "shop_name": "Bookstore",
        "site_url": "http://shop.test",
        "order": order,
        "items": list(order.items.all()),
        "currency": "USD",
        "pay_link": "http://shop.test/pay/order/x/",
        "reference": "pi_1",
        "reason": "Your card was declined.",
        "expired": False,
        "amount": Decimal("9.50"),
        "automatic": False,
    }
    for suffix in ("subject.txt", "txt", "html"):
        rendered = render_to_string(f"emails/{kind}.{suffix}", context)
        assert marker not in rendered, (kind, suffix, rendered)
        assert order.number in rendered


def test_placed_and_paid_emails_show_address_shipping_and_tax(committed):
    ShippingMethodFactory(code="express", name="Express", price=Decimal("14.99"))
    TaxRateFactory(country="US", region="NY", percent=Decimal("8.875"))
    with committed():
        order = place(
            quantity=2,
            shipping_address={**TEST_ADDRESS, "line2": "Apt 7"},
            shipping_method="express",
        )
    # 19.00 + 14.99 = 33.99; 8.875% of it = 3.0166... -> 3.02
    placed = only_email()
    for part in (placed.body, html_of(placed)):
        assert "Subtotal" in part and "19.00 USD" in part
        assert "Shipping (Express)" in part and "14.99 USD" in part
        assert "Tax (Tax US-NY 8.875%)" in part and "3.02 USD" in part
        assert "37.01 USD" in part
        assert "1 Library Way" in part and "Apt 7" in part and "United States" in part
    mail.outbox.clear()
    with committed():
        services.order_mark_paid(order_id=order.pk, reference="pi_123")
    receipt = next(m for m in mail.outbox if m.to == [order.user.email])
    assert "Shipping (Express): 14.99 USD" in receipt.body
    assert "Tax (Tax US-NY 8.875%): 3.02 USD" in receipt.body
    assert "Total: 37.01 USD" in receipt.body
    assert "Shipping to:" in receipt.body and "Albany, NY 12207" in receipt.body


def test_vat_inclusive_emails_say_the_tax_is_included(committed, settings):
    settings.PRICES_INCLUDE_TAX = True
    ShippingMethodFactory(code="standard", name="Standard", price=Decimal("0.50"))
    TaxRateFactory(country="DE", percent=Decimal("19"), name="MwSt")
    berlin = {
        "full_name": "B",
        "line1": "Unter den Linden 1",
        "city": "Berlin",
        "postal_code": "10117",
        "country": "DE",
    }
    with committed():
        place(shipping_address=berlin, shipping_method="standard")
    body = only_email().body
    # gross 9.50 + 0.50 = 10.00; included VAT 10.00 * 19 / 119 = 1.596... -> 1.60
    assert "Total: 10.00 USD" in body
    assert "Includes tax (MwSt DE 19%): 1.60 USD" in body
