"""Order lifecycle. Each service locks the order row, changes it through Order.set_status()
and sends the domain signal that lets the catalog move stock, all in one transaction.

Lock order, everywhere: the customer (placing an order), the order, then its discount code, then
books (by primary key).
"""

import enum
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from accounts.models import User, closed_account_email
from core.errors import ApplicationError, field_error, not_found
from core.models import IdempotencyKey, OutboxEmail
from core.permissions import staff_may

from . import checkout, notifications, pricing, signals
from .models import (
    RETURN_COUNTING_STATUSES,
    SHIPPED_STATUSES,
    STRIPE,
    SYSTEM,
    UNPAID_CLOSED_STATUSES,
    Cart,
    DiscountCode,
    Order,
    OrderEvent,
    OrderEventKind,
    OrderItem,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnStatus,
)
from .refunds import refunded_outside_returns

logger = logging.getLogger(__name__)


def _redeem_discount(discount: DiscountCode) -> None:
    """Count a use of the code. The checkout builder locked its row and checked every rule."""
    DiscountCode.objects.filter(pk=discount.pk).update(times_redeemed=F("times_redeemed") + 1)


def _give_back_discount(order: Order) -> None:
    if order.discount_code_id:
        DiscountCode.objects.select_for_update().filter(pk=order.discount_code_id).update(
            times_redeemed=F("times_redeemed") - 1
        )


@transaction.atomic
def order_place(
    *,
    user: User,
    items: checkout.CheckoutItems,
    discount_code: str | None = None,
    shipping_address: checkout.AddressInput | None = None,
    billing_address: checkout.AddressInput | None = None,
    shipping_method: str | None = None,
    require_shipping: bool = False,
) -> Order:
    """Create a pending order and hold its copies. All of it, or nothing: the first problem
    a quote of the same body would list is raised.

    `shipping_address`/`billing_address`: an id from the user's address book or an address
    dict; `shipping_method`: a method code. The API requires them (`require_shipping`); an
    order without them has no shipping and no tax.
    """
    priced = checkout.checkout_build(
        user=user,
        items=items,
        discount_code=discount_code,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        require_shipping=require_shipping,
        placing=True,
    )
    discount, method, shipping = priced.discount, priced.shipping_method, priced.shipping_address
    if discount:
        _redeem_discount(discount)
    lines, books, totals = priced.lines, priced.books, priced.totals
    order = Order.objects.create(
        user=user,
        currency=priced.currency,
        subtotal=totals.subtotal,
        discount_amount=totals.discount_amount,
        shipping_amount=totals.shipping_amount,
        tax_amount=totals.tax_amount,
        prices_include_tax=priced.prices_include_tax,
        total=totals.total,
        discount_code=discount,
        shipping_address=shipping,
        billing_address=priced.billing_address,
        shipping_country=shipping["country"] if shipping else "",
        shipping_method=method,
        shipping_method_code=method.code if method else "",
        shipping_method_name=method.name if method else "",
        tax_rate_percent=priced.tax_rate.percent if priced.tax_rate else None,
        tax_rate_name=checkout.tax_rate_label(priced.tax_rate),
        tax_shipping_taxed=bool(priced.tax_rate and priced.tax_rate.shipping_taxed),
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
    if order.total == 0:
        _order_settle_free(order)
    else:
        notifications.order_placed(order=order, event=event)
    return order


def _order_settle_free(order: Order) -> None:
    """An order that costs nothing (a 100 % code) is paid the moment it is placed: no
    payment, no Stripe; its copies are committed and the customer gets the receipt."""
    event = order.set_status(
        OrderStatus.PAID, actor_label=SYSTEM, note="Nothing to pay: the total is 0."
    )
    signals.order_paid.send(sender=Order, order=order, lines=order.lines)
    notifications.order_paid(order=order, event=event, reference="nothing to pay")


def order_quote(
    *,
    user: User,
    items: checkout.CheckoutItems,
    discount_code: str | None = None,
    shipping_address: checkout.AddressInput | None = None,
    billing_address: checkout.AddressInput | None = None,
    shipping_method: str | None = None,
) -> checkout.Checkout:
    """What placing this order would cost now, and what would stop it (short stock, a code
    that cannot be used, a method that does not deliver there), without holding a copy or
    counting a discount use. Malformed input still raises, as placing would."""
    return checkout.checkout_build(
        user=user,
        items=items,
        discount_code=discount_code,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
    )


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
    """The owner cancels a pending order, or staff allowed to change orders do. Paid orders are
    refunded instead; an order whose payment is in flight is refused (order_cancelling)."""
    order = _locked(order.pk)
    if order.user_id != actor.pk and not staff_may(actor, "orders.change_order"):
        raise not_found()
    if order.status == OrderStatus.PENDING:
        signals.order_cancelling.send(sender=Order, order=order)
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
def order_ship(*, order: Order, actor: User, carrier: str = "", tracking_number: str = "") -> Order:
    """Hand the order to a carrier. The tracking number (and a link, for carriers we know)
    goes into the customer's email."""
    order = _locked(order.pk)
    if order.disputed and order.status == OrderStatus.PAID:
        raise ApplicationError(
            "order_disputed",
            f"The payment for order {order.number} is disputed; it cannot be shipped until "
            "staff clear the dispute hold.",
        )
    note = " ".join(part for part in (carrier, tracking_number) if part)
    event = order.set_status(OrderStatus.SHIPPED, actor=actor, note=note)
    order.carrier = carrier
    order.tracking_number = tracking_number
    order.shipped_at = event.created_at
    order.save(update_fields=["carrier", "tracking_number", "shipped_at", "updated_at"])
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

    A paid order not shipped yet still has to reach its customer: it keeps its shipping address,
    and the customer's email address in `fulfilment_email` (for the shipping notice), until it
    is shipped, refunded or delivered; `orders_closed_accounts_release` (a scheduled job) then
    removes them like the rest. The customer's emails (those written for them, whatever address
    they went to) not sent yet are dropped, sent ones keep only kind, subject and dates; the
    shop's notices to staff about their orders lose their bodies, and stay the shop's. Returns
    keep their lines and amounts and lose the customer's reason and the staff's note."""
    pending = Order.objects.filter(user=user, status=OrderStatus.PENDING).order_by("pk")
    for order in pending:
        order_cancel(order=order, actor=actor)
    label = closed_account_email(user.pk)
    OrderEvent.objects.filter(actor=user).update(actor_label=label)
    awaiting = Order.objects.filter(user=user, status=OrderStatus.PAID)
    awaiting.update(fulfilment_email=user.email)
    closed = list(
        Order.objects.filter(user=user).only("pk", "status", "shipping_address", "billing_address")
    )
    for order in closed:
        if order.status != OrderStatus.PAID:
            order.shipping_address = _address_anonymised(order.shipping_address)
        order.billing_address = _address_anonymised(order.billing_address)
    Order.objects.bulk_update(closed, ["shipping_address", "billing_address"], batch_size=500)
    emails = OutboxEmail.objects.exclude(order__in=awaiting)
    emails.filter(user=user, status=OutboxEmail.Status.PENDING).delete()
    _emails_anonymise(emails.filter(user=user), label=label)
    _emails_anonymise(emails.filter(user=None, order__user=user))
    # A return's amounts and lines stay for the books; the words about it were the customer's.
    Return.objects.filter(order__user=user).update(reason="", staff_note="")
    IdempotencyKey.objects.filter(user=user).delete()
    Cart.objects.filter(owner=user).delete()  # a basket is nothing the shop needs to keep


def _emails_anonymise(emails: QuerySet[OutboxEmail], *, label: str | None = None) -> None:
    """Bodies emptied; the address replaced by `label` (a customer's emails; staff notices keep
    the shop's address)."""
    emails.update(text_body="", html_body="", last_error="", **({"to": label} if label else {}))


def orders_closed_accounts_release(*, limit: int = 500) -> int:
    """Remove what was kept for delivering closed accounts' paid orders (see
    `orders_account_closing`) from the orders that are now shipped, refunded or delivered and
    whose emails have gone out. Each order in its own transaction; safe in several processes at
    once. Returns how many orders were released."""
    done = (
        Order.objects.exclude(fulfilment_email="")
        .exclude(status=OrderStatus.PAID)
        .exclude(emails__status=OutboxEmail.Status.PENDING)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return sum(_order_closed_account_release(order_id) for order_id in list(done[:limit]))


@transaction.atomic
def _order_closed_account_release(order_id: int) -> bool:
    order = (
        Order.objects.select_for_update(skip_locked=True)
        .filter(pk=order_id)
        .exclude(fulfilment_email="")
        .exclude(status=OrderStatus.PAID)
        .first()
    )
    if order is None or order.emails.filter(status=OutboxEmail.Status.PENDING).exists():
        return False
    order.shipping_address = _address_anonymised(order.shipping_address)
    order.fulfilment_email = ""
    order.save(update_fields=["shipping_address", "fulfilment_email", "updated_at"])
    _emails_anonymise(
        OutboxEmail.objects.filter(order=order, user_id=order.user_id),
        label=closed_account_email(order.user_id),
    )
    _emails_anonymise(OutboxEmail.objects.filter(order=order, user=None))
    return True


def _address_anonymised(address: dict[str, Any] | None) -> dict[str, Any] | None:
    """An order's address once its customer closed the account: the person and the street are
    gone; the country and region stay, because the tax charged was computed from them."""
    if not address:
        return address
    return {
        **dict.fromkeys(address, ""),
        "full_name": "Closed account",
        "country": address.get("country", ""),
        "region": address.get("region", ""),
    }


# --- Disputes (payments applies Stripe's disputes through these) -------------------------------


@transaction.atomic
def order_dispute_open(*, order_id: int, note: str) -> tuple[Order, OrderEvent]:
    """The card holder contested the payment: the order is held (not shipped) until staff clear
    it. Every dispute opened is on the timeline (a second one has its own deadline); the hold
    is set once. Returns the timeline event."""
    order = _locked(order_id)
    if not order.disputed:
        order.disputed = True
        order.save(update_fields=["disputed", "updated_at"])
    return order, order.record(OrderEventKind.DISPUTE_OPENED, actor_label=STRIPE, note=note)


@transaction.atomic
def order_dispute_record(
    *, order_id: int, kind: str, note: str, others_open: bool = False
) -> OrderEvent:
    """A later step of a dispute (updated, won, lost) on the order's timeline. A dispute won
    lifts the hold, unless `others_open` (another dispute of the order is not over): the money
    stays the shop's. A lost one leaves the hold for staff to clear (the money went back to the
    card holder; the books may not need to go out)."""
    order = _locked(order_id)
    if kind == OrderEventKind.DISPUTE_WON and order.disputed and not others_open:
        order.disputed = False
        order.save(update_fields=["disputed", "updated_at"])
    event: OrderEvent = order.record(kind, actor_label=STRIPE, note=note)
    return event


@transaction.atomic
def order_dispute_clear(*, order: Order, actor: User, note: str = "") -> Order:
    """Staff lift the dispute hold, so the order can be shipped."""
    order = _locked(order.pk)
    if not order.disputed:
        raise ApplicationError(
            "invalid_status_transition", f"Order {order.number} is not held by a dispute."
        )
    order.disputed = False
    order.save(update_fields=["disputed", "updated_at"])
    order.record(OrderEventKind.DISPUTE_CLEARED, actor=actor, note=note)
    return order


# --- Returns ------------------------------------------------------------------------------------

ReturnItems = Iterable[Mapping[str, int]]  # [{"book": id, "quantity": n}]


@dataclass(frozen=True)
class ReturnQuote:
    """What a return of these copies would give back, before it exists."""

    order: Order
    lines: list[tuple[OrderItem, int]]
    refund_amount: Decimal


def _returnable_order(*, user: User, order_id: int, lock: bool) -> Order:
    """The customer's own order (locked when `lock`), if it may have copies returned now."""
    orders = Order.objects.select_for_update() if lock else Order.objects.all()
    order = orders.filter(pk=order_id, user=user).prefetch_related("items").first()
    if order is None:
        raise not_found()
    if order.status not in SHIPPED_STATUSES or order.shipped_at is None:
        raise ApplicationError(
            "return_not_allowed",
            f"Order {order.number} is {order.status}: only shipped or delivered orders can "
            "have books returned.",
        )
    if order.disputed:
        # The bank decides where a disputed payment's money goes; a return's refund would
        # wait for staff to clear the dispute (Stripe refuses it meanwhile). Customers are not
        # told of disputes (see OrderSerializer.disputed), so the answer names none.
        raise ApplicationError(
            "return_not_allowed",
            f"Order {order.number} cannot have books returned through the shop at the moment; "
            "please contact us.",
        )
    window_ends = order.shipped_at + timedelta(days=settings.RETURN_WINDOW_DAYS)
    if timezone.now() > window_ends:
        raise ApplicationError(
            "return_not_allowed",
            f"Books can be returned within {settings.RETURN_WINDOW_DAYS} days of shipping; "
            f"order {order.number} was shipped on {order.shipped_at.date().isoformat()}.",
        )
    return order


def _copies_returned(order: Order) -> dict[int, int]:
    """Order item id -> copies that returns (other than rejected ones) already cover."""
    rows = (
        ReturnLine.objects.filter(
            order_return__order=order, order_return__status__in=RETURN_COUNTING_STATUSES
        )
        .values("order_item")
        .annotate(copies=Sum("quantity"))
        .order_by()
    )
    return {row["order_item"]: row["copies"] for row in rows}


def _return_priced(order: Order, items: ReturnItems) -> ReturnQuote:
    """The lines asked for, checked against what was shipped less earlier returns, and their
    refund. The order is locked by the caller."""
    by_book = {item.book_id: item for item in order.items.all()}
    returned = _copies_returned(order)
    lines: list[tuple[OrderItem, int]] = []
    seen: set[int] = set()
    for index, wanted in enumerate(items):
        book_id, quantity = wanted["book"], wanted["quantity"]
        item = by_book.get(book_id)
        if item is None:
            raise field_error(
                f"items.{index}.book", "not_on_order", f"Book {book_id} is not on this order."
            )
        if book_id in seen:
            raise field_error(
                f"items.{index}.book", "duplicate", "Each book may be listed once per return."
            )
        seen.add(book_id)
        left = item.quantity - returned.get(item.pk, 0)
        if quantity > left:
            raise field_error(
                f"items.{index}.quantity",
                "more_than_returnable",
                f"{item.title}: {left} of {item.quantity} copies can still be returned.",
            )
        lines.append((item, quantity))
    copies_left = sum(item.quantity - returned.get(item.pk, 0) for item in by_book.values())
    by_returns = Return.objects.filter(order=order, status__in=RETURN_COUNTING_STATUSES).aggregate(
        amount=Sum("refund_amount")
    )["amount"] or Decimal("0")
    refunded_before = by_returns + refunded_outside_returns(order_id=order.pk)
    refund = pricing.return_refund(
        subtotal=order.subtotal,
        total=order.total,
        shipping_amount=order.shipping_amount,
        shipping_tax_percent=order.tax_rate_percent if order.tax_shipping_taxed else None,
        prices_include_tax=order.prices_include_tax,
        currency=order.currency,
        returned_value=sum((item.unit_price * quantity for item, quantity in lines), Decimal(0)),
        last_copies=sum(quantity for _, quantity in lines) == copies_left,
        refunded_before=refunded_before,
    )
    return ReturnQuote(order=order, lines=lines, refund_amount=refund)


def return_quote(*, user: User, order_id: int, items: ReturnItems) -> ReturnQuote:
    """What `return_request` would create and give back, creating nothing (and locking
    nothing: a quote only reads)."""
    return _return_priced(_returnable_order(user=user, order_id=order_id, lock=False), items)


@transaction.atomic
def return_request(*, user: User, order_id: int, items: ReturnItems, reason: str) -> Return:
    """The order's owner asks to send copies back (within RETURN_WINDOW_DAYS of shipping).
    The order row is locked, so two requests at once cannot both claim the same copies."""
    quote = _return_priced(_returnable_order(user=user, order_id=order_id, lock=True), items)
    order = quote.order
    order_return = Return.objects.create(
        order=order, reason=reason, refund_amount=quote.refund_amount
    )
    ReturnLine.objects.bulk_create(
        ReturnLine(order_return=order_return, order_item=item, quantity=quantity)
        for item, quantity in quote.lines
    )
    event = order.record(
        OrderEventKind.RETURN_REQUESTED,
        actor=user,
        note=f"{order_return.number}: {_copies_text(quote.lines)}; {order_return.refund_amount} "
        f"{order.currency.upper()} to refund",
    )
    notifications.return_requested(order_return=order_return, event=event)
    return order_return


def _copies_text(lines: Iterable[tuple[OrderItem, int]]) -> str:
    return ", ".join(f"{quantity} x {item.title}" for item, quantity in lines)


def _locked_return(return_id: int) -> Return:
    """The return and its order, locked: the order first (this module's lock order)."""
    order_id = Return.objects.values_list("order_id", flat=True).get(pk=return_id)
    order = _locked(order_id)
    order_return = Return.objects.select_for_update().get(pk=return_id)
    order_return.order = order
    return order_return


@transaction.atomic
def return_approve(*, order_return: Return, actor: User) -> Return:
    order_return = _locked_return(order_return.pk)
    order_return.set_status(ReturnStatus.APPROVED)
    event = order_return.order.record(
        OrderEventKind.RETURN_APPROVED, actor=actor, note=order_return.number
    )
    notifications.return_approved(order_return=order_return, event=event)
    return order_return


@transaction.atomic
def return_reject(*, order_return: Return, actor: User, note: str) -> Return:
    """The copies stay with the customer; they may ask again for them (within the window)."""
    order_return = _locked_return(order_return.pk)
    order_return.set_status(ReturnStatus.REJECTED)
    order_return.staff_note = note
    order_return.save(update_fields=["staff_note", "updated_at"])
    event = order_return.order.record(
        OrderEventKind.RETURN_REJECTED, actor=actor, note=f"{order_return.number}: {note}"
    )
    notifications.return_rejected(order_return=order_return, event=event)
    return order_return


@transaction.atomic
def return_receive(*, order_return: Return, actor: User, restock: bool) -> Return:
    """The parcel arrived. Copies fit to sell go back on hand (the catalog's restock, in this
    transaction); damaged ones (`restock` false) do not."""
    order_return = _locked_return(order_return.pk)
    order_return.set_status(ReturnStatus.RECEIVED)
    order_return.restocked = restock
    order_return.save(update_fields=["restocked", "updated_at"])
    lines = {
        line.order_item.book_id: line.quantity
        for line in order_return.lines.select_related("order_item")
    }
    if restock:
        signals.return_received.send(
            sender=Return, order=order_return.order, lines=lines, restock_lines=lines
        )
    order_return.order.record(
        OrderEventKind.RETURN_RECEIVED,
        actor=actor,
        note=f"{order_return.number}: " + ("back on sale" if restock else "not restocked"),
    )
    return order_return


def return_lock_for_refund(*, return_id: int) -> Return:
    """The return and its order locked, in the caller's transaction (payments refunds it)."""
    return _locked_return(return_id)


def return_mark_refunded(*, order_return: Return, actor: User) -> Return:
    """The return's money went back (payments calls this with the return locked, in the
    transaction that refunded it)."""
    order_return.set_status(ReturnStatus.REFUNDED)
    currency = order_return.order.currency.upper()
    event = order_return.order.record(
        OrderEventKind.RETURN_REFUNDED,
        actor=actor,
        note=f"{order_return.number}: {order_return.refund_amount} {currency}",
    )
    notifications.return_refunded(order_return=order_return, event=event)
    return order_return
