from decimal import Decimal

import pytest

from core.errors import ApplicationError
from core.money import amount_round, charge_check, from_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (Decimal("12.34"), "usd", 1234),
        (Decimal("0.01"), "GBP", 1),
        (Decimal("1500"), "jpy", 1500),
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


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(Decimal("5.39"), "jpy"), (Decimal("0.49"), "jpy"), (Decimal("12.345"), "eur")],
)
def test_an_amount_the_currency_cannot_express_is_refused_not_rounded(amount, currency):
    with pytest.raises(ValueError):
        to_minor_units(amount, currency)


def test_amounts_round_to_the_currency_unit():
    assert amount_round(Decimal("5.39"), "jpy") == Decimal("5")
    assert amount_round(Decimal("100.5"), "jpy") == Decimal("101")
    assert amount_round(Decimal("5.385"), "usd") == Decimal("5.39")


@pytest.mark.parametrize(
    ("amount", "currency", "refused"),
    [
        ("0.49", "usd", True),
        ("0.50", "usd", False),
        ("0", "usd", False),
        ("0.29", "gbp", True),
        ("49", "jpy", True),
        ("50", "jpy", False),
        ("0.01", "xyz", False),  # no known minimum: Stripe decides
    ],
)
def test_charge_check(amount, currency, refused):
    if refused:
        with pytest.raises(ApplicationError) as error:
            charge_check(amount=Decimal(amount), currency=currency)
        assert error.value.code == "order_below_minimum"
    else:
        charge_check(amount=Decimal(amount), currency=currency)
