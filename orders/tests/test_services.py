from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.tests.factories import StaffFactory, UserFactory
from catalog.tests.factories import BookFactory
from core.errors import ApplicationError
from orders import checkout, services
from orders.models import ALLOWED_TRANSITIONS, DiscountCode, Order, OrderStatus
from orders.services import PaymentOutcome
from orders.tests.factories import DiscountCodeFactory
from orders.tests.helpers import assert_stock_invariant

pytestmark = pytest.mark.django_db


def stock(book):
    book.refresh_from_db()
    return book.stock_quantity, book.reserved_quantity


def place(user=None, lines=None, **kwargs):
    user = user or UserFactory()
    lines = lines or [(BookFactory(), 1)]
    return services.order_place(
        user=user, items=[{"book": b.pk, "quantity": q} for b, q in lines], **kwargs
    )


def lapse(order):
    Order.objects.filter(pk=order.pk).update(hold_expires_at=timezone.now() - timedelta(seconds=1))


# --- Placing ---------------------------------------------------------------------------------


def test_place_snapshots_prices_and_holds_stock():
    a = BookFactory(title="A", price=Decimal("10.00"), stock_quantity=5)
    b = BookFactory(title="B", price=Decimal("2.50"), stock_quantity=5)
    order = place(lines=[(a, 2), (b, 3)])
    assert order.status == OrderStatus.PENDING
    assert (order.subtotal, order.discount_amount, order.total) == (
        Decimal("27.50"),
        Decimal("0.00"),
        Decimal("27.50"),
    )
    assert sorted((i.title, i.unit_price, i.quantity) for i in order.items.all()) == [
        ("A", Decimal("10.00"), 2),
        ("B", Decimal("2.50"), 3),
    ]
    assert stock(a) == (5, 2)
    assert stock(b) == (5, 3)
    assert [(e.from_status, e.to_status) for e in order.events.all()] == [("", "pending")]
    assert order.hold_expires_at > timezone.now() + timedelta(minutes=29)
    # A later price change does not touch the order.
    a.price = Decimal("99.00")
    a.save()
    assert order.items.get(book=a).unit_price == Decimal("10.00")


def test_the_same_book_twice_is_one_line():
    book = BookFactory(stock_quantity=5)
    order = place(lines=[(book, 1), (book, 2)])
    assert [(i.book_id, i.quantity) for i in order.items.all()] == [(book.pk, 3)]
    assert stock(book) == (5, 3)


def test_insufficient_stock_creates_and_holds_nothing():
    plenty = BookFactory(stock_quantity=5)
    scarce = BookFactory(stock_quantity=1, title="Scarce")
    with pytest.raises(ApplicationError) as excinfo:
        place(lines=[(plenty, 1), (scarce, 2)])
    assert excinfo.value.code == "insufficient_stock"
    assert excinfo.value.extra["books"] == [
        {"book": scarce.pk, "title": "Scarce", "requested": 2, "available": 1}
    ]
    assert not Order.objects.exists()
    assert stock(plenty) == (5, 0)
    assert stock(scarce) == (1, 0)


def test_archived_book_cannot_be_ordered():
    book = BookFactory(is_active=False)
    with pytest.raises(ApplicationError) as excinfo:
        place(lines=[(book, 1)])
    assert excinfo.value.errors[0]["field"] == "items.0.book"
    assert not Order.objects.exists()


# --- Discounts -------------------------------------------------------------------------------


def test_percent_and_fixed_discounts():
    book = BookFactory(price=Decimal("20.00"))
    DiscountCodeFactory(code="TENOFF", kind="percent", value=Decimal("10"))
    DiscountCodeFactory(code="FIVER", kind="fixed", value=Decimal("5"))
    percent = place(lines=[(book, 2)], discount_code="tenoff")
    assert (percent.discount_amount, percent.total) == (Decimal("4.00"), Decimal("36.00"))
    fixed = place(lines=[(book, 1)], discount_code=" FIVER ")
    assert (fixed.discount_amount, fixed.total) == (Decimal("5.00"), Decimal("15.00"))
    assert DiscountCode.objects.get(code="TENOFF").times_redeemed == 1


def test_fixed_discount_never_makes_the_total_negative():
    DiscountCodeFactory(code="BIG", kind="fixed", value=Decimal("500"))
    order = place(lines=[(BookFactory(price=Decimal("12.00")), 1)], discount_code="BIG")
    assert (order.discount_amount, order.total) == (Decimal("12.00"), Decimal("0.00"))


@pytest.mark.parametrize(
    ("code_kwargs", "fragment"),
    [
        ({"is_active": False}, "not a valid"),
        ({"valid_until": timezone.now() - timedelta(days=1)}, "expired"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "not valid yet"),
        ({"min_subtotal": Decimal("100")}, "subtotal"),
        ({"max_redemptions": 1, "times_redeemed": 1}, "used up"),
    ],
)
def test_discount_rules_refuse_with_invalid_discount_code(code_kwargs, fragment, caplog):
    DiscountCodeFactory(code="RULE", **code_kwargs)
    book = BookFactory(stock_quantity=3)
    with caplog.at_level("INFO", logger="orders.checkout"), pytest.raises(ApplicationError) as e:
        place(lines=[(book, 1)], discount_code="RULE")
    excinfo = e
    assert excinfo.value.code == "invalid_discount_code"
    # The customer learns only that the code cannot be used; the reason goes to the log.
    assert excinfo.value.detail == checkout.DISCOUNT_REFUSED_MESSAGE
    assert "RULE" not in excinfo.value.detail
    assert any(fragment in getattr(record, "reason", "") for record in caplog.records)
    assert not Order.objects.exists()
    assert stock(book) == (3, 0)


def test_unknown_discount_code_answers_like_every_other_refusal():
    with pytest.raises(ApplicationError) as excinfo:
        place(discount_code="NOPE")
    assert excinfo.value.code == "invalid_discount_code"
    assert excinfo.value.detail == checkout.DISCOUNT_REFUSED_MESSAGE


def test_per_user_limit_counts_live_orders_only():
    DiscountCodeFactory(code="ONCE", max_per_user=1)
    user = UserFactory()
    first = place(user=user, discount_code="ONCE")
    with pytest.raises(ApplicationError):
        place(user=user, discount_code="ONCE")
    place(discount_code="ONCE")  # another customer may
    services.order_cancel(order=first, actor=user)
    place(user=user, discount_code="ONCE")  # the cancelled use was given back


def test_cancel_and_expiry_give_the_redemption_back():
    code = DiscountCodeFactory(code="TWO", max_redemptions=2)
    user = UserFactory()
    a = place(user=user, discount_code="TWO")
    b = place(user=user, discount_code="TWO")
    code.refresh_from_db()
    assert code.times_redeemed == 2
    services.order_cancel(order=a, actor=user)
    lapse(b)
    services.orders_expire_lapsed()
    code.refresh_from_db()
    assert code.times_redeemed == 0


# --- Lifecycle -------------------------------------------------------------------------------

ALL = list(OrderStatus)


def order_in(status):
    order = place()
    Order.objects.filter(pk=order.pk).update(status=status)
    order.refresh_from_db()
    return order


@pytest.mark.parametrize(
    ("current", "target"),
    [(c, t) for c in ALL for t in ALL],
)
def test_set_status_follows_the_transition_table(current, target):
    order = order_in(current)
    allowed = target in ALLOWED_TRANSITIONS.get(current, set())
    if allowed:
        event = order.set_status(target, actor_label="system")
        assert (event.from_status, event.to_status) == (current, target)
        order.refresh_from_db()
        assert order.status == target
    else:
        with pytest.raises(ApplicationError) as excinfo:
            order.set_status(target, actor_label="system")
        assert excinfo.value.code == "invalid_status_transition"
        order.refresh_from_db()
        assert order.status == current


def test_cancel_releases_the_hold():
    book = BookFactory(stock_quantity=4)
    user = UserFactory()
    order = place(user=user, lines=[(book, 3)])
    services.order_cancel(order=order, actor=user)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert stock(book) == (4, 0)
    assert order.events.last().actor_label == user.email


def test_paid_order_cannot_be_cancelled(manager):
    user = UserFactory()
    order = place(user=user)
    services.order_mark_paid(order_id=order.pk)
    with pytest.raises(ApplicationError) as excinfo:
        services.order_cancel(order=order, actor=manager)
    assert excinfo.value.code == "invalid_status_transition"


def test_staff_without_the_permission_cannot_cancel_someone_elses_order():
    order = place(user=UserFactory())
    with pytest.raises(ApplicationError) as excinfo:
        services.order_cancel(order=order, actor=StaffFactory())
    assert excinfo.value.code == "not_found"
    order.refresh_from_db()
    assert order.status == OrderStatus.PENDING


def test_payment_commits_the_stock_once():
    book = BookFactory(stock_quantity=4)
    order = place(lines=[(book, 3)])
    outcome, paid = services.order_mark_paid(order_id=order.pk, note="pi_123")
    assert outcome is PaymentOutcome.PAID
    assert paid.paid_at is not None
    assert stock(book) == (1, 0)
    outcome, _ = services.order_mark_paid(order_id=order.pk)
    assert outcome is PaymentOutcome.ALREADY_PAID
    assert stock(book) == (1, 0)
    assert paid.events.last().actor_label == "stripe"


def test_payment_after_expiry_is_not_payable():
    book = BookFactory(stock_quantity=2)
    order = place(lines=[(book, 1)])
    lapse(order)
    assert services.orders_expire_lapsed() == 1
    outcome, _ = services.order_mark_paid(order_id=order.pk)
    assert outcome is PaymentOutcome.NOT_PAYABLE
    assert stock(book) == (2, 0)


def test_payment_arriving_after_the_hold_lapsed_but_before_expiry_wins():
    book = BookFactory(stock_quantity=2)
    order = place(lines=[(book, 1)])
    lapse(order)
    outcome, _ = services.order_mark_paid(order_id=order.pk)
    assert outcome is PaymentOutcome.PAID
    assert services.orders_expire_lapsed() == 0
    assert stock(book) == (1, 0)


def test_ship_deliver_refund_after_shipping_does_not_restock():
    book = BookFactory(stock_quantity=3)
    staff = StaffFactory()
    order = place(lines=[(book, 2)])
    services.order_mark_paid(order_id=order.pk)
    services.order_ship(order=order, actor=staff)
    services.order_deliver(order=order, actor=staff)
    services.order_refund(order_id=order.pk, actor=staff)
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED
    assert stock(book) == (1, 0)
    assert [e.to_status for e in order.events.all()] == [
        "pending",
        "paid",
        "shipped",
        "delivered",
        "refunded",
    ]


def test_refund_before_shipping_restocks():
    book = BookFactory(stock_quantity=3)
    order = place(lines=[(book, 2)])
    services.order_mark_paid(order_id=order.pk)
    assert stock(book) == (1, 0)
    services.order_refund(order_id=order.pk, actor_label="stripe")
    assert stock(book) == (3, 0)


def test_expire_orders_command_expires_only_lapsed_orders():
    book = BookFactory(stock_quantity=5)
    lapsed = place(lines=[(book, 2)])
    fresh = place(lines=[(book, 1)])
    lapse(lapsed)
    assert Order.objects.get(pk=lapsed.pk).display_status == "expired"  # before the job runs
    from io import StringIO

    out = StringIO()
    call_command("expire_orders", stdout=out)
    assert "Expired 1 order(s)." in out.getvalue()
    lapsed.refresh_from_db()
    fresh.refresh_from_db()
    assert (lapsed.status, fresh.status) == ("expired", "pending")
    assert stock(book) == (5, 1)
    assert lapsed.events.last().actor_label == "system"
    assert_stock_invariant()


@pytest.mark.parametrize("step", ["status", "record"])
def test_a_long_note_is_kept_to_what_the_timeline_holds(user, step):
    """A status change and a step of another kind write their event alike: a note longer than
    the column (a staff note, Stripe's words) is cut, not a database error."""
    from orders.models import OrderEventKind

    order = services.order_place(user=user, items=[{"book": BookFactory().pk, "quantity": 1}])
    note = "n" * 700
    if step == "status":
        event = Order.objects.get(pk=order.pk).set_status(OrderStatus.CANCELLED, note=note)
    else:
        event = order.record(OrderEventKind.REFUND_FAILED, actor_label="stripe", note=note)
    event.refresh_from_db()
    assert event.note == "n" * 500
    assert event.actor_label == ("system" if step == "status" else "stripe")
