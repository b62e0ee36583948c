"""Order lifecycle. Each service locks the order row, changes it through Order.set_status()
and sends the domain signal that lets the catalog move stock, all in one transaction.

Lock order, everywhere: the order, then its discount code, then books (by primary key).
"""

import enum
import logging
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import User, closed_account_email
from accounts.services import user_check_may_order
from bookstore.errors import ApplicationError, field_error
from catalog.models import Book
from core.models import IdempotencyKey, OutboxEmail

from . import notifications, signals
from .models import (
    REDEEMING_STATUSES,
    SHIPPED_STATUSES,
    STRIPE,
    SYSTEM,
    UNPAID_CLOSED_STATUSES,
    DiscountCode,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
)
from .pricing import order_totals

logger = logging.getLogger(__name__)

MAX_ITEMS = 100


OrderLines = Sequence[Mapping[str, Any]]  # [{"book": id, "quantity": n}, ...] as validated


def _merge_lines(items: OrderLines) -> dict[int, int]:
    """[{book, quantity}, ...] -> {book id: quantity}; a book listed twice is one line."""
    lines: dict[int, int] = {}
    for item in items:
        lines[item["book"]] = lines.get(item["book"], 0) + item["quantity"]
    return lines


def _active_books(items: OrderLines, lines: Mapping[int, int]) -> dict[int, Book]:
    books = Book.objects.active().only("pk", "title", "price").in_bulk(list(lines))
    for index, item in enumerate(items):
        if item["book"] not in books:
            raise field_error(
                f"items.{index}.book", "does_not_exist", f"No book for sale with id {item['book']}."
            )
    return books


def _redeem_discount(*, user: User, code: str, subtotal: Decimal) -> DiscountCode:
    """Lock the code, check every rule, count the redemption. Returns the locked code."""
    now = timezone.now()
    discount = DiscountCode.objects.select_for_update().filter(code__iexact=code.strip()).first()
    if discount is None or not discount.is_active:
        problem = "is not a valid discount code"
    elif discount.valid_from and now < discount.valid_from:
        problem = "is not valid yet"
    elif discount.valid_until and now >= discount.valid_until:
        problem = "has expired"
    elif subtotal < discount.min_subtotal:
        problem = f"needs a subtotal of at least {discount.min_subtotal}"
    elif (
        discount.max_redemptions is not None and discount.times_redeemed >= discount.max_redemptions
    ):
        problem = "has been used up"
    elif (
        discount.max_per_user is not None
        and Order.objects.filter(
            user=user, discount_code=discount, status__in=REDEEMING_STATUSES
        ).count()
        >= discount.max_per_user
    ):
        problem = "has already been used by you as often as allowed"
    else:
        DiscountCode.objects.filter(pk=discount.pk).update(times_redeemed=F("times_redeemed") + 1)
        return discount
    raise field_error(
        "discount_code", "invalid", f"The code {code.strip()!r} {problem}.", "invalid_discount_code"
    )


def _give_back_discount(order: Order) -> None:
    if order.discount_code_id:
        DiscountCode.objects.select_for_update().filter(pk=order.discount_code_id).update(
            times_redeemed=F("times_redeemed") - 1
        )


@transaction.atomic
def order_place(*, user: User, items: OrderLines, discount_code: str | None = None) -> Order:
    """Create a pending order and hold its copies. All of it, or nothing."""
    user_check_may_order(user=user)
    if not items:
        raise field_error("items", "empty", "An order needs at least one item.")
    if len(items) > MAX_ITEMS:
        raise field_error("items", "max_length", f"An order may have at most {MAX_ITEMS} lines.")
    lines = _merge_lines(items)
    books = _active_books(items, lines)
    priced = [(books[book_id].price, quantity) for book_id, quantity in lines.items()]

    discount = None
    subtotal, _, _ = order_totals(lines=priced)
    if discount_code:
        discount = _redeem_discount(user=user, code=discount_code, subtotal=subtotal)
    subtotal, discount_amount, total = order_totals(
        lines=priced,
        discount_kind=discount.kind if discount else None,
        discount_value=discount.value if discount else None,
    )
    order = Order.objects.create(
        user=user,
        currency=settings.CURRENCY,
        subtotal=subtotal,
        discount_amount=discount_amount,
        total=total,
        discount_code=discount,
    )
    OrderItem.objects.bulk_create(
        [
            OrderItem(
                order=order,
                book_id=book_id,
                title=books[book_id].title,
                unit_price=books[book_id].price,
                quantity=quantity,
            )
            for book_id, quantity in lines.items()
        ]
    )
    event = OrderEvent.objects.create(
        order=order,
        from_status="",
        to_status=OrderStatus.PENDING,
        actor=user,
        actor_label=user.email,
    )
    signals.order_placed.send(sender=Order, order=order, lines=lines)
    notifications.order_placed(order=order, event=event)
    return order


def _locked(order_id: int) -> Order:
    return Order.objects.select_for_update().prefetch_related("items").get(pk=order_id)


def _locked_unless_busy(order_id: int) -> Order | None:
    """The order, locked; None when another transaction holds it."""
    return (
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk=order_id)
        .prefetch_related("items")
        .first()
    )


@transaction.atomic
def order_cancel(*, order: Order, actor: User) -> Order:
    """The owner cancels a pending order, or staff do. Paid orders are refunded instead."""
    order = _locked(order.pk)
    if not actor.is_staff and order.user_id != actor.pk:
        raise ApplicationError("not_found", "Not found.")
    event = order.set_status(OrderStatus.CANCELLED, actor=actor)
    _give_back_discount(order)
    signals.order_cancelled.send(sender=Order, order=order, lines=order.lines)
    notifications.order_closed(order=order, event=event)
    return order


class PaymentOutcome(enum.Enum):
    PAID = "paid"  # this call marked the order paid
    ALREADY_PAID = "already_paid"  # an earlier call did: nothing more to do
    NOT_PAYABLE = "not_payable"  # expired or cancelled first: the money must go back


@transaction.atomic
def order_mark_paid(
    *, order_id: int, note: str = "", reference: str = ""
) -> tuple["PaymentOutcome", Order]:
    """Stripe says the order's money arrived. Exactly one of this and expiry wins the row lock;
    the caller refunds the payment when the answer is NOT_PAYABLE."""
    order = _locked(order_id)
    if order.status == OrderStatus.PENDING:
        event = order.set_status(OrderStatus.PAID, actor_label=STRIPE, note=note)
        signals.order_paid.send(sender=Order, order=order, lines=order.lines)
        notifications.order_paid(order=order, event=event, reference=reference or note)
        return PaymentOutcome.PAID, order
    if order.status in UNPAID_CLOSED_STATUSES:
        return PaymentOutcome.NOT_PAYABLE, order
    return PaymentOutcome.ALREADY_PAID, order


@transaction.atomic
def order_expire(*, order_id: int) -> bool:
    """Expire one lapsed pending order. False if it was taken, paid or not lapsed after all."""
    order = _locked_unless_busy(order_id)
    if order is None or not order.hold_lapsed:
        return False
    event = order.set_status(
        OrderStatus.EXPIRED, actor_label=SYSTEM, note="Hold lapsed before payment."
    )
    _give_back_discount(order)
    signals.order_cancelled.send(sender=Order, order=order, lines=order.lines)
    notifications.order_closed(order=order, event=event)
    return True


def orders_expire_lapsed(*, limit: int | None = None) -> int:
    """Expire every lapsed pending order, each in its own transaction. Safe to run in several
    processes at once: rows another process holds are skipped. Returns how many this run
    expired."""
    lapsed = (
        Order.objects.filter(status=OrderStatus.PENDING, hold_expires_at__lte=timezone.now())
        .order_by("hold_expires_at")
        .values_list("pk", flat=True)
    )
    if limit:
        lapsed = lapsed[:limit]
    return sum(order_expire(order_id=order_id) for order_id in list(lapsed))


@transaction.atomic
def order_ship(*, order: Order, actor: User) -> Order:
    order = _locked(order.pk)
    event = order.set_status(OrderStatus.SHIPPED, actor=actor)
    notifications.order_shipped(order=order, event=event)
    return order


@transaction.atomic
def order_deliver(*, order: Order, actor: User) -> Order:
    order = _locked(order.pk)
    order.set_status(OrderStatus.DELIVERED, actor=actor)
    return order


@transaction.atomic
def order_refund(
    *, order_id: int, actor: User | None = None, actor_label: str | None = None, note: str = ""
) -> Order:
    """The money went back in full. Copies of an order that had not shipped return on hand."""
    order = _locked(order_id)
    was_shipped = order.status in SHIPPED_STATUSES
    order.set_status(OrderStatus.REFUNDED, actor=actor, actor_label=actor_label, note=note)
    lines = order.lines
    signals.order_refunded.send(
        sender=Order, order=order, lines=lines, restock_lines={} if was_shipped else lines
    )
    return order


@transaction.atomic
def orders_account_closing(*, user: User, actor: User) -> None:
    """The customer's account closes: pending orders are cancelled (their stock released), then
    personal data in the order records is removed. Orders, items and amounts stay for the books.
    Emails not sent yet are dropped; sent ones keep only kind, subject and dates."""
    pending = Order.objects.filter(user=user, status=OrderStatus.PENDING).order_by("pk")
    for order in pending:
        order_cancel(order=order, actor=actor)
    label = closed_account_email(user.pk)
    OrderEvent.objects.filter(actor=user).update(actor_label=label)
    emails = OutboxEmail.objects.filter(customer_emails_q(user))
    to_customer = Q(to__iexact=user.email) | Q(dedupe_key__startswith=f"account-{user.pk}-")
    emails.filter(to_customer, status=OutboxEmail.Status.PENDING).delete()
    emails.update(text_body="", html_body="", last_error="")
    emails.filter(to_customer).update(to=label)  # last: the address is part of the filter
    IdempotencyKey.objects.filter(user=user).delete()


def customer_emails_q(user: User) -> Q:
    """The outbox emails about a customer: their orders' and those to their address (account
    emails are keyed `account-<user id>-…`, which finds them after an address change too)."""
    return (
        Q(order__user=user)
        | Q(to__iexact=user.email)
        | Q(dedupe_key__startswith=f"account-{user.pk}-")
    )
