"""Amounts in Stripe's integer minor units, from and to the shop's Decimal amounts."""

from decimal import ROUND_HALF_UP, Decimal

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL_CURRENCIES = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
THREE_DECIMAL_CURRENCIES = {"bhd", "jod", "kwd", "omr", "tnd"}


def minor_unit_exponent(currency):
    currency = currency.lower()
    if currency in ZERO_DECIMAL_CURRENCIES:
        return 0
    if currency in THREE_DECIMAL_CURRENCIES:
        return 3
    return 2


def to_minor_units(amount, currency):
    """Decimal("12.34"), "usd" -> 1234; Decimal("1500"), "jpy" -> 1500."""
    exponent = minor_unit_exponent(currency)
    scaled = (Decimal(amount) * (Decimal(10) ** exponent)).quantize(
        Decimal(1), rounding=ROUND_HALF_UP
    )
    return int(scaled)


def from_minor_units(minor, currency):
    exponent = minor_unit_exponent(currency)
    return (Decimal(minor) / (Decimal(10) ** exponent)).quantize(Decimal("0.01"))
