"""Order lifecycle. Each service locks the order row, changes it through Order.set_status()
and sends the domain signal that lets the catalog move stock, all in one transaction.

Lock order, everywhere: the customer (placing an order), the order, then its discount code, then
books (by primary key).
"""

import enum
import logging
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, QuerySet, Sum
from django.utils import timezone

from accounts.models import User, closed_account_email
from accounts.services import user_check_may_order
from bookstore.errors import ApplicationError, field_error, not_found
from bookstore.permissions import staff_may
from catalog.models import Book
from core.models import IdempotencyKey, OutboxEmail
from core.money import charge_check

from . import checkout, notifications, signals
from .models import (
    MAX_LINE_QUANTITY,
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
from .pricing import subtotal_of

logger = logging.getLogger(__name__)

MAX_ITEMS = 100


OrderLines = Sequence[Mapping[str, Any]]  # [{"book": id, "quantity": n}, ...] as validated
AddressInput = int | Mapping[str, Any]  # an address book id, or an address as validated


def _merge_lines(items: OrderLines) -> dict[int, int]:
    """[{book, quantity}, ...] -> {book id: quantity}; a book listed twice is one line, and the
    line's total is held to the per-line maximum (named at the book's first listing)."""
    lines: dict[int, int] = {}
    first_index: dict[int, int] = {}
    for index, item in enumerate(items):
        first_index.setdefault(item["book"], index)
        lines[item["book"]] = lines.get(item["book"], 0) + item["quantity"]
    for book_id, quantity in lines.items():
        if quantity > MAX_LINE_QUANTITY:
            raise field_error(
                f"items.{first_index[book_id]}.quantity",
                "max_value",
                f"At most {MAX_LINE_QUANTITY} copies of a book per order "
                f"(book {book_id} is listed for {quantity} in all).",
            )
    return lines


def _check_hold_caps(*, user: User, lines: Mapping[int, int]) -> None:
    """One customer may hold only so many copies in unpaid orders, per book and in all, so
    that nobody can take a book off the shelves by placing orders they never pay.

    The caller holds the user's row lock, so two orders of one customer are checked in turn.
    """
    held = (
        OrderItem.objects.filter(
            order__user=user,
            order__status=OrderStatus.PENDING,
            order__hold_expires_at__gt=timezone.now(),
        )
        .values("book_id")
        .annotate(copies=Sum("quantity"))
    )
    held_by_book = {row["book_id"]: row["copies"] for row in held}
    per_book, in_total = settings.MAX_HELD_COPIES_PER_BOOK, settings.MAX_HELD_COPIES_TOTAL
    over = sorted(
        book_id
        for book_id, quantity in lines.items()
        if held_by_book.get(book_id, 0) + quantity > per_book
    )
    if over:
        raise ApplicationError(
            "hold_limit_exceeded",
            f"One customer may hold at most {per_book} copies of a book in unpaid orders; "
            "pay for or cancel a pending order first.",
            extra={"books": over, "limit": per_book},
        )
    if sum(held_by_book.values()) + sum(lines.values()) > in_total:
        raise ApplicationError(
            "hold_limit_exceeded",
            f"One customer may hold at most {in_total} copies in unpaid orders in all; "
            "pay for or cancel a pending order first.",
            extra={"books": [], "limit": in_total},
        )


def _active_books(items: OrderLines, lines: Mapping[int, int]) -> dict[int, Book]:
    books = (
        Book.objects.active()
        .only("pk", "title", "price", "stock_quantity", "reserved_quantity")
        .in_bulk(list(lines))
    )
    for index, item in enumerate(items):
        if item["book"] not in books:
            raise field_error(
                f"items.{index}.book", "does_not_exist", f"No book for sale with id {item['book']}."
            )
    return books


DISCOUNT_REFUSED_MESSAGE = "This discount code cannot be used for this order."


def _discount_problem(
    *, user: User, discount: DiscountCode | None, code: str, subtotal: Decimal
) -> ApplicationError | None:
    """Why `discount` (the row for `code`, or None) cannot be used now; None when it can."""
    now = timezone.now()
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
        return None
    # One answer for every reason, so that guessing cannot tell a real code from a made-up one;
    # the reason is logged for the shop.
    logger.info(
        "Discount code %r refused for user %s: it %s.",
        code.strip()[:40],
        user.pk,
        problem,
        extra={"user_id": user.pk, "reason": problem},
    )
    return field_error(
        "discount_code", "invalid", DISCOUNT_REFUSED_MESSAGE, "invalid_discount_code"
    )


def _redeem_discount(*, user: User, code: str, subtotal: Decimal) -> DiscountCode:
    """Lock the code, check every rule, count the redemption. Returns the locked code."""
    discount = DiscountCode.objects.select_for_update().filter(code__iexact=code.strip()).first()
    problem = _discount_problem(user=user, discount=discount, code=code, subtotal=subtotal)
    if problem:
        raise problem
    assert discount is not None  # a missing code is a problem above  # nosec B101
    DiscountCode.objects.filter(pk=discount.pk).update(times_redeemed=F("times_redeemed") + 1)
    return discount


def _give_back_discount(order: Order) -> None:
    if order.discount_code_id:
        DiscountCode.objects.select_for_update().filter(pk=order.discount_code_id).update(
            times_redeemed=F("times_redeemed") - 1
        )


@transaction.atomic
def order_place(
    *,
    user: User,
    items: OrderLines,
    discount_code: str | None = None,
    shipping_address: AddressInput | None = None,
    billing_address: AddressInput | None = None,
    shipping_method: str | None = None,
    require_shipping: bool = False,
) -> Order:
    """Create a pending order and hold its copies. All of it, or nothing.

    `shipping_address`/`billing_address`: an id from the user's address book or an address
    dict; `shipping_method`: a method code. The API requires them (`require_shipping`); an
    order without them has no shipping and no tax.
    """
    user_check_may_order(user=user)
    lines, books = _lines_and_books(items)
    # The customer's row lock serialises their own orders, so the hold caps cannot be raced.
    list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    _check_hold_caps(user=user, lines=lines)
    shipping, billing, method, options, problem = checkout.shipping_resolve(
        user=user,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        required=require_shipping,
    )
    if problem:
        raise problem
    discount = None
    if discount_code:
        subtotal = subtotal_of((books[book_id].price, q) for book_id, q in lines.items())
        discount = _redeem_discount(user=user, code=discount_code, subtotal=subtotal)
    priced = checkout.checkout_price(
        lines=lines,
        books=books,
        discount=discount,
        shipping_address=shipping,
        billing_address=billing,
        shipping_method=method,
        shipping_options=options,
    )
    totals = priced.totals
    charge_check(amount=totals.total, currency=priced.currency)
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
        billing_address=billing,
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


def _lines_and_books(items: OrderLines) -> tuple[dict[int, int], dict[int, Book]]:
    if not items:
        raise field_error("items", "empty", "An order needs at least one item.")
    if len(items) > MAX_ITEMS:
        raise field_error("items", "max_length", f"An order may have at most {MAX_ITEMS} lines.")
    lines = _merge_lines(items)
    return lines, _active_books(items, lines)


def _stock_problem(
    *, lines: Mapping[int, int], books: Mapping[int, Book]
) -> ApplicationError | None:
    """insufficient_stock, as placing would answer it, for lines short of available copies."""
    short = [
        {
            "book": book_id,
            "title": books[book_id].title,
            "requested": quantity,
            "available": books[book_id].available_quantity,
        }
        for book_id, quantity in lines.items()
        if books[book_id].available_quantity < quantity
    ]
    if not short:
        return None
    return ApplicationError(
        "insufficient_stock",
        "Not enough copies of: "
        + "; ".join(f"{s['title']} ({s['available']} available)" for s in short)
        + ".",
        extra={"books": short},
    )


def _as_problem(check: Callable[[], None]) -> ApplicationError | None:
    """A rule that placing enforces by raising, as a problem a quote reports."""
    try:
        check()
    except ApplicationError as problem:
        return problem
    return None


def order_quote(
    *,
    user: User,
    items: OrderLines,
    discount_code: str | None = None,
    shipping_address: AddressInput | None = None,
    billing_address: AddressInput | None = None,
    shipping_method: str | None = None,
) -> checkout.Checkout:
    """What placing this order would cost now, and what would stop it (short stock, a code
    that cannot be used, a method that does not deliver there), without holding a copy or
    counting a discount use. Malformed input still raises, as placing would."""
    lines, books = _lines_and_books(items)
    shipping, billing, method, options, shipping_problem = checkout.shipping_resolve(
        user=user,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        required=False,
    )
    problems = [
        problem
        for problem in (
            _as_problem(lambda: user_check_may_order(user=user)),
            shipping_problem,
            _as_problem(lambda: _check_hold_caps(user=user, lines=lines)),
        )
        if problem
    ]
    discount = None
    if discount_code:
        subtotal = subtotal_of((books[book_id].price, q) for book_id, q in lines.items())
        discount = DiscountCode.objects.filter(code__iexact=discount_code.strip()).first()
        problem = _discount_problem(
            user=user, discount=discount, code=discount_code, subtotal=subtotal
        )
        if problem:
            problems.append(problem)
            discount = None
    stock_problem = _stock_problem(lines=lines, books=books)
    if stock_problem:
        problems.append(stock_problem)
    quote = checkout.checkout_price(
        lines=lines,
        books=books,
        discount=discount,
        shipping_address=shipping,
        billing_address=billing,
        shipping_method=method,
        shipping_options=options,
    )
    below_minimum = _as_problem(
        lambda: charge_check(amount=quote.totals.total, currency=quote.currency)
    )
    if below_minimum:
        problems.append(below_minimum)
    quote.problems = problems
    return quote


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
    refunded instead."""
    order = _locked(order.pk)
    if order.user_id != actor.pk and not staff_may(actor, "orders.change_order"):
        raise not_found()
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
    shop's notices to staff about their orders lose their bodies, and stay the shop's."""
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
    IdempotencyKey.objects.filter(user=user).delete()


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
