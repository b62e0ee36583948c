"""Amounts in Stripe's integer minor units, from and to the shop's Decimal amounts, and what
Stripe can charge in each currency.

Amounts are kept with two decimal places, rounded to what the currency can express: in a
zero-decimal currency (JPY, KRW, ... Stripe's list) every amount is a whole unit, so prices,
discounts and totals are rounded to whole units when an order is priced, and a refund must be
a whole number of units too.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError

from core.errors import ApplicationError

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
# Stripe's three-decimal currencies take amounts whose last minor digit is 0: two places.
THREE_DECIMAL_CURRENCIES = {"bhd", "jod", "kwd", "omr", "tnd"}

# The smallest amount Stripe charges, per currency
# (https://docs.stripe.com/currencies#minimum-and-maximum-charge-amounts). Other currencies
# have a minimum equal to 0.50 USD at the day's rate, which only Stripe can check.
MINIMUM_CHARGE = {
    "usd": Decimal("0.50"), "aed": Decimal("2.00"), "aud": Decimal("0.50"),
    "bgn": Decimal("1.00"), "brl": Decimal("0.50"), "cad": Decimal("0.50"),
    "chf": Decimal("0.50"), "czk": Decimal("15.00"), "dkk": Decimal("2.50"),
    "eur": Decimal("0.50"), "gbp": Decimal("0.30"), "hkd": Decimal("4.00"),
    "huf": Decimal("175.00"), "inr": Decimal("0.50"), "jpy": Decimal("50"),
    "mxn": Decimal("10"), "myr": Decimal("2"), "nok": Decimal("3.00"),
    "nzd": Decimal("0.50"), "pln": Decimal("2.00"), "ron": Decimal("2.00"),
    "sek": Decimal("3.00"), "sgd": Decimal("0.50"), "thb": Decimal("10"),
}  # fmt: skip


def minor_unit_exponent(currency: str) -> int:
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def amount_quantum(currency: str) -> Decimal:
    """The smallest step of an amount in `currency`: Decimal("1") for JPY, "0.01" otherwise."""
    return Decimal(1).scaleb(-min(minor_unit_exponent(currency), 2))


def amount_round(amount, currency: str) -> Decimal:
    """`amount` rounded (half up) to what `currency` can express, with two places."""
    rounded = Decimal(amount).quantize(amount_quantum(currency), rounding=ROUND_HALF_UP)
    return rounded.quantize(Decimal("0.01"))


def amount_is_exact(amount, currency: str) -> bool:
    return Decimal(amount) == amount_round(amount, currency)


def validate_shop_amount(value) -> None:
    """A model and serializer field validator: an amount the shop's currency can express. In a
    JPY shop a price of 1000.50 would be shown as such and charged as 1001."""
    if value is not None and not amount_is_exact(value, settings.CURRENCY):
        step = amount_quantum(settings.CURRENCY)
        raise ValidationError(
            f"{settings.CURRENCY.upper()} amounts are whole multiples of {step}.",
            code="invalid_precision",
        )


def to_minor_units(amount, currency: str) -> int:
    """Decimal("12.34"), "usd" -> 1234; Decimal("1500"), "jpy" -> 1500. An amount the
    currency cannot express (JPY 5.39) is an error, never silently rounded."""
    if not amount_is_exact(amount, currency):
        raise ValueError(f"{amount} is not an amount in {currency.upper()}")
    return int(Decimal(amount).scaleb(minor_unit_exponent(currency)))


def from_minor_units(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-minor_unit_exponent(currency)).quantize(Decimal("0.01"))


def charge_check(*, amount: Decimal, currency: str) -> None:
    """Refuse a total that Stripe would not charge: more than nothing but less than the
    currency's minimum. (Nothing at all is fine: such an order needs no payment.)"""
    minimum = MINIMUM_CHARGE.get(currency.lower())
    if minimum is not None and 0 < amount < minimum:
        raise ApplicationError(
            "order_below_minimum",
            f"An order must come to at least {minimum} {currency.upper()} to be paid by card.",
            extra={"minimum": str(minimum), "currency": currency.lower()},
        )
