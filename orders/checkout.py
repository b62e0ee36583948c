"""The one checkout builder: what an order will cost and what stands in its way, for a quote, a
cart and placing alike, so that they always agree.

`checkout_build` takes the items as plain data ({"book": id, "quantity": n}, and for a cart's
line the "unit_price" the customer saw) and answers a priced `Checkout` with its `problems`.
A quote shows the problems; placing (`placing=True`) raises the first one, in the same order,
before anything is written. Reads only: `order_place` (services.py) counts the discount use,
writes the order and holds the stock around it.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, Sum
from django.utils import timezone

from accounts.models import Address, User, address_snapshot
from accounts.services import address_clean, user_check_may_order
from catalog.inventory import stock_shortfall
from catalog.models import Book
from core.errors import ApplicationError, field_error
from core.money import charge_check

from .models import (
    MAX_LINE_QUANTITY,
    REDEEMING_STATUSES,
    DiscountCode,
    Order,
    OrderItem,
    OrderStatus,
    ShippingMethod,
    TaxRate,
)
from .pricing import Totals, checkout_totals, shipping_charge, subtotal_of

logger = logging.getLogger(__name__)

MAX_ITEMS = 100
DISCOUNT_REFUSED_MESSAGE = "This discount code cannot be used for this order."

# [{"book": id, "quantity": n, "unit_price"?: Decimal}, ...]: the order's body as validated, or
# a cart's lines (with the price each line was added at).
CheckoutItems = Sequence[Mapping[str, Any]]
AddressInput = int | Mapping[str, Any]  # an address book id, or an address as validated


def address_resolve(
    *, user: User | None, value: AddressInput | None, field_name: str
) -> dict[str, Any] | None:
    """An address id of `user`'s book, or an inline address -> the snapshot an order keeps.
    Someone else's id is answered exactly like a missing one."""
    if value is None:
        return None
    if isinstance(value, int):
        address = Address.objects.filter(pk=value, user=user).first() if user is not None else None
        if address is None:
            raise field_error(field_name, "does_not_exist", f"You have no address with id {value}.")
        return address.snapshot()
    return address_snapshot(address_clean(values=value, field_prefix=f"{field_name}."))


def shipping_methods_for(country: str) -> list[ShippingMethod]:
    """Active methods serving `country` (a method with no countries serves all)."""
    methods = ShippingMethod.objects.filter(is_active=True)
    if country:
        # `countries` is stored as comma-separated codes: match a whole code, or none at all.
        methods = methods.filter(
            Q(countries="")
            | Q(countries=country)
            | Q(countries__startswith=f"{country},")
            | Q(countries__endswith=f",{country}")
            | Q(countries__contains=f",{country},")
        )
    return list(methods)


def tax_rate_for(*, country: str, region: str) -> TaxRate | None:
    """The region's rate, else the country's; None (no tax) when the shop has neither."""
    if not country:
        return None
    rates = TaxRate.objects.filter(country=country, region__in={"", (region or "").upper()})
    return max(rates, key=lambda rate: bool(rate.region), default=None)


@dataclass
class ShippingChoice:
    method: ShippingMethod
    price: Decimal


@dataclass
class Checkout:
    """Everything an order placed now would record, and what stands in its way."""

    currency: str
    lines: dict[int, int]  # book id -> quantity, in the order first listed
    books: dict[int, Book]  # book id -> Book, with its current price
    totals: Totals
    discount: DiscountCode | None = None  # the code that applies (None when it cannot be used)
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_method: ShippingMethod | None = None
    shipping_options: list[ShippingChoice] = field(default_factory=list)
    tax_rate: TaxRate | None = None
    prices_include_tax: bool = False
    problems: list[ApplicationError] = field(default_factory=list)


def checkout_build(
    *,
    user: User | None,
    items: CheckoutItems,
    discount_code: str | None = None,
    shipping_address: AddressInput | None = None,
    billing_address: AddressInput | None = None,
    shipping_method: str | None = None,
    require_shipping: bool = False,
    placing: bool = False,
) -> Checkout:
    """Price `items` for `user` and find what would stop the order, in this order: the customer
    may not order, too many copies held, a method that does not deliver there, a code that
    cannot be used, a price changed since the customer saw it, a total too small to charge,
    too few copies. Each problem is the ApplicationError placing answers.

    `placing=False` (a quote, a cart): every problem is listed in `problems`, and the order is
    priced without what cannot apply (a refused code, a method that does not deliver).
    `placing=True`: the first problem is raised; the customer's row and the discount code are
    locked first, so that their limits cannot be raced. Malformed input (no items, an unknown
    book, an address that is not yours, a missing address or method when `require_shipping`)
    raises in both.

    `user=None` prices an anonymous cart: the rules about the customer (may order, copies held,
    a code's uses per customer) wait for its checkout, which is always by a signed-in customer.
    """
    problems: list[ApplicationError] = []

    def found(problem: ApplicationError | None) -> None:
        if problem is None:
            return
        if placing:
            raise problem
        problems.append(problem)

    if user is not None:
        found(_as_problem(lambda: user_check_may_order(user=user)))
    lines, books, seen_prices = _lines_and_books(items)
    if placing and user is not None:
        # The customer's row lock serialises their own orders, so the hold caps cannot be raced.
        list(get_user_model().objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    if user is not None:
        found(_hold_caps_problem(user=user, lines=lines))
    shipping, billing, method, options, shipping_problem = shipping_resolve(
        user=user,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        required=require_shipping,
    )
    found(shipping_problem)
    discount = None
    if discount_code:
        codes = DiscountCode.objects.select_for_update() if placing else DiscountCode.objects
        discount = codes.filter(code__iexact=discount_code.strip()).first()
        subtotal = subtotal_of((books[book_id].price, q) for book_id, q in lines.items())
        discount_problem = _discount_problem(
            user=user, discount=discount, code=discount_code, subtotal=subtotal
        )
        found(discount_problem)
        if discount_problem:
            discount = None
    found(_price_change_problem(books=books, seen_prices=seen_prices))
    priced = checkout_price(
        lines=lines,
        books=books,
        discount=discount,
        shipping_address=shipping,
        billing_address=billing,
        shipping_method=method,
        shipping_options=options,
    )
    found(_as_problem(lambda: charge_check(amount=priced.totals.total, currency=priced.currency)))
    # Read without a lock: holding the stock asks the same question again of locked rows.
    found(stock_shortfall(lines=lines, books=books))
    priced.problems = problems
    return priced


def _as_problem(check: Callable[[], None]) -> ApplicationError | None:
    """A rule that raises (another app's, or core's), as a problem to list or raise."""
    try:
        check()
    except ApplicationError as problem:
        return problem
    return None


def _lines_and_books(
    items: CheckoutItems,
) -> tuple[dict[int, int], dict[int, Book], dict[int, Decimal]]:
    """(book id -> quantity, book id -> Book, book id -> unit price the customer saw)."""
    if not items:
        raise field_error("items", "empty", "An order needs at least one item.")
    if len(items) > MAX_ITEMS:
        raise field_error("items", "max_length", f"An order may have at most {MAX_ITEMS} lines.")
    lines = _merge_lines(items)
    seen_prices: dict[int, Decimal] = {}
    for item in items:
        if item.get("unit_price") is not None:
            seen_prices.setdefault(item["book"], Decimal(item["unit_price"]))
    return lines, _active_books(items, lines), seen_prices


def _merge_lines(items: CheckoutItems) -> dict[int, int]:
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


def _active_books(items: CheckoutItems, lines: Mapping[int, int]) -> dict[int, Book]:
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


def _hold_caps_problem(*, user: User, lines: Mapping[int, int]) -> ApplicationError | None:
    """One customer may hold only so many copies in unpaid orders, per book and in all, so
    that nobody can take a book off the shelves by placing orders they never pay."""
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
        return ApplicationError(
            "hold_limit_exceeded",
            f"One customer may hold at most {per_book} copies of a book in unpaid orders; "
            "pay for or cancel a pending order first.",
            extra={"books": over, "limit": per_book},
        )
    if sum(held_by_book.values()) + sum(lines.values()) > in_total:
        return ApplicationError(
            "hold_limit_exceeded",
            f"One customer may hold at most {in_total} copies in unpaid orders in all; "
            "pay for or cancel a pending order first.",
            extra={"books": [], "limit": in_total},
        )
    return None


def _discount_problem(
    *, user: User | None, discount: DiscountCode | None, code: str, subtotal: Decimal
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
        and user is not None
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
        user.pk if user else None,
        problem,
        extra={"user_id": user.pk if user else None, "reason": problem},
    )
    return field_error(
        "discount_code", "invalid", DISCOUNT_REFUSED_MESSAGE, "invalid_discount_code"
    )


def _price_change_problem(
    *, books: Mapping[int, Book], seen_prices: Mapping[int, Decimal]
) -> ApplicationError | None:
    """price_changed for the lines (by book id) whose book no longer costs what the customer
    saw (a cart's line keeps the price it was added at); the order is priced at today's."""
    changed = [
        {
            "book": book_id,
            "title": books[book_id].title,
            "old_price": str(seen),
            "new_price": str(books[book_id].price),
        }
        for book_id, seen in sorted(seen_prices.items())
        if seen != books[book_id].price
    ]
    if not changed:
        return None
    return ApplicationError(
        "price_changed",
        "The price changed since you added: "
        + "; ".join(f"{c['title']} ({c['old_price']} is now {c['new_price']})" for c in changed)
        + ".",
        extra={"books": changed},
    )


def shipping_resolve(
    *,
    user: User | None,
    shipping_address: AddressInput | None,
    billing_address: AddressInput | None,
    shipping_method: str | None,
    required: bool,
) -> tuple[
    dict[str, Any] | None,
    dict[str, Any] | None,
    ShippingMethod | None,
    list[ShippingMethod],
    ApplicationError | None,
]:
    """(shipping snapshot, billing snapshot, method or None, options, problem or None).

    A method that does not exist, is inactive or does not serve the address's country is a
    problem naming `shipping_method` (placing raises it; a quote lists it)."""
    if shipping_address is None:
        if required:
            raise field_error("shipping_address", "required", "Where should we send the order?")
        if shipping_method:
            raise field_error(
                "shipping_address", "required", "A shipping method needs a shipping address."
            )
        return None, None, None, [], None
    shipping = address_resolve(user=user, value=shipping_address, field_name="shipping_address")
    assert shipping is not None  # an address was given  # nosec B101
    billing = (
        address_resolve(user=user, value=billing_address, field_name="billing_address")
        if billing_address is not None
        else dict(shipping)
    )
    options = shipping_methods_for(shipping["country"])
    if not shipping_method:
        if required:
            raise field_error(
                "shipping_method",
                "required",
                "Choose a shipping method (GET /api/shipping-methods/?country=XX lists them).",
            )
        return shipping, billing, None, options, None
    chosen = next((method for method in options if method.code == shipping_method), None)
    problem = None
    if chosen is None:
        problem = field_error(
            "shipping_method",
            "not_available",
            f"The shipping method {shipping_method!r} does not deliver to {shipping['country']}.",
        )
    return shipping, billing, chosen, options, problem


def checkout_price(
    *,
    lines: dict[int, int],
    books: dict[int, Book],
    discount: DiscountCode | None,
    shipping_address: dict[str, Any] | None,
    billing_address: dict[str, Any] | None,
    shipping_method: ShippingMethod | None,
    shipping_options: list[ShippingMethod],
) -> Checkout:
    """The totals for priced lines, a discount code row (or None), a resolved shipping snapshot
    and method. One tax-rate query; nothing per line."""
    currency = settings.CURRENCY
    include_tax = settings.PRICES_INCLUDE_TAX
    rate = (
        tax_rate_for(country=shipping_address["country"], region=shipping_address["region"])
        if shipping_address
        else None
    )
    totals = checkout_totals(
        lines=[(books[book_id].price, quantity) for book_id, quantity in lines.items()],
        currency=currency,
        discount_kind=discount.kind if discount else None,
        discount_value=discount.value if discount else None,
        shipping_price=shipping_method.price if shipping_method else None,
        shipping_free_over=shipping_method.free_over if shipping_method else None,
        tax_percent=rate.percent if rate else None,
        shipping_taxed=bool(rate and rate.shipping_taxed),
        prices_include_tax=include_tax,
    )
    goods = totals.subtotal - totals.discount_amount
    return Checkout(
        currency=currency,
        lines=lines,
        books=books,
        totals=totals,
        discount=discount,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        shipping_options=[
            ShippingChoice(
                method=method,
                price=shipping_charge(
                    price=method.price, free_over=method.free_over, goods=goods, currency=currency
                ),
            )
            for method in shipping_options
        ],
        tax_rate=rate,
        prices_include_tax=include_tax,
    )


def tax_rate_label(rate: TaxRate | None) -> str:
    if rate is None:
        return ""
    country = str(rate.country)  # the ISO code
    where = f"{country}-{rate.region}" if rate.region else country
    return f"{rate.name or 'Tax'} {where} {rate.percent.normalize():f}%"
