from decimal import Decimal

import pytest

from payments.money import from_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.34"), "usd", 1234),
        (Decimal("12.345"), "eur", 1235),
        (Decimal("0.01"), "GBP", 1),
        (Decimal("1500"), "jpy", 1500),
        (Decimal("1500.50"), "jpy", 1501),
        (Decimal("980"), "krw", 980),
        (Decimal("1.25"), "kwd", 1250),
    ],
)
def test_minor_units(amount, currency, minor):
    assert to_minor_units(amount, currency) == minor
    assert isinstance(to_minor_units(amount, currency), int)


def test_back_from_minor_units():
    assert from_minor_units(1234, "usd") == Decimal("12.34")
    assert from_minor_units(1500, "jpy") == Decimal("1500.00")
