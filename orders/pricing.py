"""Money math for orders: subtotal, discount, shipping, tax and total, in Decimal rounded half-up
to the currency's minor unit. Computed on the server only."""

from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from core.money import amount_round

ZERO = Decimal("0.00")


def round_money(value, currency: str) -> Decimal:
    """Half-up to the currency's minor unit, kept with two places for the order columns."""
    return amount_round(value, currency)


def subtotal_of(lines, currency: str | None = None) -> Decimal:
    """`lines`: iterable of (unit_price, quantity)."""
    total = sum((Decimal(price) * quantity for price, quantity in lines), Decimal("0"))
    return round_money(total, currency or settings.CURRENCY)


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    discount_amount: Decimal
    shipping_amount: Decimal
    tax_amount: Decimal
    total: Decimal


def shipping_charge(*, price, free_over, goods, currency: str) -> Decimal:
    """A method's price, or nothing once the goods (after discount) reach its `free_over`."""
    if free_over is not None and goods >= free_over:
        return ZERO
    return round_money(price, currency)


def tax_on(*, taxable, percent, prices_include_tax: bool, currency: str) -> Decimal:
    """Tax added on top of net prices, or (VAT shops) the part of gross prices that is tax."""
    if not percent or taxable <= 0:
        return ZERO
    percent = Decimal(percent)
    if prices_include_tax:
        return round_money(taxable * percent / (100 + percent), currency)
    return round_money(taxable * percent / 100, currency)


def checkout_totals(
    *,
    lines,
    currency: str,
    discount_kind=None,
    discount_value=None,
    shipping_price=None,
    shipping_free_over=None,
    tax_percent=None,
    shipping_taxed: bool = False,
    prices_include_tax: bool = False,
) -> Totals:
    """Every amount of an order, from its lines and the rules that apply to it.

    total = subtotal - discount + shipping + tax with net prices; with gross prices
    (`prices_include_tax`) total = subtotal - discount + shipping and tax is the part included.
    Each amount is rounded half-up to the currency's minor unit; none is negative.
    """
    subtotal = round_money(
        sum((Decimal(price) * quantity for price, quantity in lines), Decimal("0")), currency
    )
    discount = ZERO
    if discount_kind == "percent":
        discount = round_money(subtotal * Decimal(discount_value) / 100, currency)
    elif discount_kind:
        discount = round_money(discount_value, currency)
    discount = min(max(discount, ZERO), subtotal)
    goods = subtotal - discount
    shipping = ZERO
    if shipping_price is not None:
        shipping = shipping_charge(
            price=shipping_price, free_over=shipping_free_over, goods=goods, currency=currency
        )
    taxable = goods + (shipping if shipping_taxed else ZERO)
    tax = tax_on(
        taxable=taxable,
        percent=tax_percent,
        prices_include_tax=prices_include_tax,
        currency=currency,
    )
    total = goods + shipping + (ZERO if prices_include_tax else tax)
    return Totals(
        subtotal=subtotal,
        discount_amount=discount,
        shipping_amount=shipping,
        tax_amount=tax,
        total=max(total, ZERO),
    )


def return_refund(
    *,
    subtotal: Decimal,
    total: Decimal,
    shipping_amount: Decimal,
    shipping_tax_percent,
    prices_include_tax: bool,
    currency: str,
    returned_value: Decimal,
    last_copies: bool,
    refunded_before: Decimal,
) -> Decimal:
    """What a return gives back: the returned copies' share (`returned_value` at the prices
    paid, over the `subtotal`) of what the goods cost after the discount, with their tax.
    Shipping is given back only with the `last_copies` of the order; that return gets the
    rest of the `total` after the earlier returns (`refunded_before`), so every cent paid goes
    back exactly once however the shares were rounded.

    `shipping_tax_percent`: the rate that taxed the shipping charge too (None when untaxed).
    """
    if last_copies:
        return max(total - refunded_before, ZERO)
    if subtotal <= 0:
        return ZERO
    shipping_paid = shipping_amount
    if not prices_include_tax:
        shipping_paid += tax_on(
            taxable=shipping_amount,
            percent=shipping_tax_percent,
            prices_include_tax=False,
            currency=currency,
        )
    goods_paid = total - shipping_paid
    share = round_money(goods_paid * Decimal(returned_value) / subtotal, currency)
    return min(max(share, ZERO), max(total - refunded_before, ZERO))
