"""Returns: what may come back, what it refunds, and each step of the lifecycle."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from core.models import OutboxEmail
from orders import services
from orders.models import OrderEvent, Return
from orders.tests.factories import DiscountCodeFactory, TaxRateFactory, shipped_order

pytestmark = pytest.mark.django_db


def request(order, items, reason="Wrong edition"):
    return services.return_request(
        user=order.user,
        order_id=order.pk,
        items=[{"book": book.pk, "quantity": quantity} for book, quantity in items.items()],
        reason=reason,
    )


def raises(code, call, *args, **kwargs):
    with pytest.raises(ApplicationError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.detail
    return caught.value


@pytest.fixture
def books():
    return BookFactory(price=Decimal("10.00")), BookFactory(price=Decimal("25.00"))


def test_each_copy_refunds_its_share_after_discount_with_tax_and_the_last_adds_shipping(books):
    first, second = books
    TaxRateFactory(country="US", region="", percent=Decimal("10"), shipping_taxed=True)
    DiscountCodeFactory(code="TENOFF", value=Decimal("10"))
    order = shipped_order(
        user=UserFactory(),
        lines={first: 2, second: 1},
        shipping_price=Decimal("5.00"),
        discount_code="TENOFF",
    )
    # subtotal 45, discount 4.50, goods 40.50, shipping 5, tax 10 % of 45.50 = 4.55
    assert (order.subtotal, order.discount_amount, order.tax_amount) == (
        Decimal("45.00"),
        Decimal("4.50"),
        Decimal("4.55"),
    )
    one = request(order, {first: 1})
    # 10 of 45 of the goods paid (40.50 + 4.05 tax = 44.55): 9.90; no shipping
    assert one.refund_amount == Decimal("9.90")
    rest = request(order, {first: 1, second: 1})
    assert rest.refund_amount == order.total - Decimal("9.90")  # the rest, shipping included
    assert one.refund_amount + rest.refund_amount == order.total


def test_a_book_without_tax_or_discount_refunds_its_price(books):
    first, second = books
    order = shipped_order(user=UserFactory(), lines={first: 1, second: 1})
    assert request(order, {second: 1}).refund_amount == Decimal("25.00")


def test_quantities_are_checked_against_what_was_shipped_less_earlier_returns(books):
    first, second = books
    order = shipped_order(user=UserFactory(), lines={first: 2})
    request(order, {first: 1})
    error = raises("validation_error", request, order, {first: 2})
    assert error.errors[0]["field"] == "items.0.quantity"
    error = raises("validation_error", request, order, {second: 1})
    assert error.errors[0]["field"] == "items.0.book"


def test_a_rejected_returns_copies_may_be_asked_for_again(books):
    first, _ = books
    order = shipped_order(user=UserFactory(), lines={first: 1})
    staff = StaffFactory()
    services.return_reject(order_return=request(order, {first: 1}), actor=staff, note="Used")
    again = request(order, {first: 1})
    assert again.refund_amount == order.total


def test_the_quote_answers_the_same_figure_and_creates_nothing(books):
    first, second = books
    order = shipped_order(user=UserFactory(), lines={first: 1, second: 1})
    items = [{"book": second.pk, "quantity": 1}]
    quote = services.return_quote(user=order.user, order_id=order.pk, items=items)
    assert not Return.objects.exists()
    assert quote.refund_amount == request(order, {second: 1}).refund_amount


def test_only_shipped_or_delivered_orders_within_the_window(books, settings):
    first, _ = books
    user = UserFactory()
    pending = services.order_place(user=user, items=[{"book": first.pk, "quantity": 1}])
    raises("return_not_allowed", request, pending, {first: 1})
    order = shipped_order(user=user, lines={first: 1})
    order.shipped_at = timezone.now() - timedelta(days=settings.RETURN_WINDOW_DAYS, minutes=1)
    order.save()
    raises("return_not_allowed", request, order, {first: 1})
    settings.RETURN_WINDOW_DAYS = 60
    assert request(order, {first: 1}).status == "requested"


def test_someone_elses_order_is_not_found(books):
    first, _ = books
    order = shipped_order(user=UserFactory(), lines={first: 1})
    with pytest.raises(ApplicationError) as caught:
        services.return_request(
            user=UserFactory(),
            order_id=order.pk,
            items=[{"book": first.pk, "quantity": 1}],
            reason="x",
        )
    assert caught.value.code == "not_found"


def test_lifecycle_events_and_emails(books):
    first, _ = books
    order = shipped_order(user=UserFactory(), lines={first: 3})
    staff = StaffFactory()
    order_return = request(order, {first: 2})
    assert set(OutboxEmail.objects.filter(order=order).values_list("kind", flat=True)) >= {
        "return_requested",
        "staff_return_requested",
    }
    services.return_approve(order_return=order_return, actor=staff)
    raises(
        "invalid_status_transition", services.return_approve, order_return=order_return, actor=staff
    )
    raises(
        "invalid_status_transition",
        services.return_reject,
        order_return=order_return,
        actor=staff,
        note="late",
    )
    first.refresh_from_db()
    on_hand = first.stock_quantity
    services.return_receive(order_return=order_return, actor=staff, restock=True)
    first.refresh_from_db()
    assert first.stock_quantity == on_hand + 2
    raises(
        "invalid_status_transition",
        services.return_receive,
        order_return=order_return,
        actor=staff,
        restock=True,
    )
    kinds = list(
        OrderEvent.objects.filter(order=order).exclude(kind="").values_list("kind", flat=True)
    )
    assert kinds == ["return_requested", "return_approved", "return_received"]
    assert "return_approved" in OutboxEmail.objects.filter(order=order).values_list(
        "kind", flat=True
    )


def test_damaged_copies_are_not_restocked_and_a_reject_emails_the_note(books):
    first, second = books
    order = shipped_order(user=UserFactory(), lines={first: 1, second: 1})
    staff = StaffFactory()
    damaged = request(order, {first: 1})
    services.return_approve(order_return=damaged, actor=staff)
    first.refresh_from_db()
    on_hand = first.stock_quantity
    received = services.return_receive(order_return=damaged, actor=staff, restock=False)
    first.refresh_from_db()
    assert (first.stock_quantity, received.restocked) == (on_hand, False)
    rejected = services.return_reject(
        order_return=request(order, {second: 1}), actor=staff, note="Bought more than 60 days ago"
    )
    assert rejected.status == "rejected"
    email = OutboxEmail.objects.get(order=order, kind="return_rejected")
    assert "Bought more than 60 days ago" in email.text_body


def test_events_of_returns_are_not_counted_as_status_changes(books):
    from orders.selectors import order_totals

    first, _ = books
    order = shipped_order(user=UserFactory(), lines={first: 1})
    before = order_totals()
    request(order, {first: 1})
    assert order_totals() == before


def test_a_delivered_order_may_return_and_each_book_is_listed_once(books):
    first, _ = books
    order = shipped_order(user=UserFactory(), lines={first: 2})
    services.order_deliver(order=order, actor=StaffFactory())
    error = raises(
        "validation_error",
        services.return_request,
        user=order.user,
        order_id=order.pk,
        items=[{"book": first.pk, "quantity": 1}, {"book": first.pk, "quantity": 1}],
        reason="Two",
    )
    assert error.errors[0]["field"] == "items.1.book"
    assert request(order, {first: 2}).refund_amount == order.total
