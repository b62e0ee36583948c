"""Money math for orders, in Decimal with two places, each amount rounded to what the shop's
currency can express (whole units in a zero-decimal currency such as JPY). Computed on the
server only."""

from decimal import Decimal

from django.conf import settings

from core.money import amount_round


def money(value):
    return amount_round(value, settings.CURRENCY)


def subtotal_of(lines):
    """`lines`: iterable of (unit_price, quantity)."""
    return money(sum((money(price) * quantity for price, quantity in lines), Decimal("0")))


def discount_for(*, subtotal, kind, value):
    """A percent or fixed discount, never more than the subtotal."""
    amount = money(subtotal * Decimal(value) / 100) if kind == "percent" else money(value)
    return min(max(amount, Decimal("0.00")), subtotal)


def order_totals(*, lines, discount_kind=None, discount_value=None):
    """(subtotal, discount, total) for the lines and an optional discount."""
    subtotal = subtotal_of(lines)
    discount = (
        discount_for(subtotal=subtotal, kind=discount_kind, value=discount_value)
        if discount_kind
        else Decimal("0.00")
    )
    return subtotal, discount, subtotal - discount
