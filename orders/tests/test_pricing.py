from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orders.pricing import checkout_totals


def order_totals(*, lines, discount_kind=None, discount_value=None):
    """(subtotal, discount, total) of goods alone: no shipping, no tax."""
    result = checkout_totals(
        lines=lines, currency="usd", discount_kind=discount_kind, discount_value=discount_value
    )
    return result.subtotal, result.discount_amount, result.total


prices = st.decimals(min_value="0.01", max_value="9999.99", places=2)
lines = st.lists(
    st.tuples(prices, st.integers(min_value=1, max_value=100)), min_size=1, max_size=30
)
discounts = st.one_of(
    st.tuples(st.just("percent"), st.decimals(min_value="0.01", max_value="100", places=2)),
    st.tuples(st.just("fixed"), st.decimals(min_value="0.01", max_value="100000", places=2)),
)


@given(lines, discounts)
def test_total_is_lines_minus_discount_never_negative_two_places(order_lines, discount):
    kind, value = discount
    subtotal, discount_amount, total = order_totals(
        lines=order_lines, discount_kind=kind, discount_value=value
    )
    assert subtotal == sum(price * quantity for price, quantity in order_lines)
    assert total == subtotal - discount_amount
    assert Decimal("0") <= discount_amount <= subtotal
    assert total >= 0
    for amount in (subtotal, discount_amount, total):
        assert amount.as_tuple().exponent == -2


@given(lines, discounts, st.randoms())
def test_totals_do_not_depend_on_line_order(order_lines, discount, rng):
    kind, value = discount
    shuffled = list(order_lines)
    rng.shuffle(shuffled)
    assert order_totals(lines=order_lines, discount_kind=kind, discount_value=value) == (
        order_totals(lines=shuffled, discount_kind=kind, discount_value=value)
    )


def test_percent_discount_rounds_half_up_to_cents():
    assert order_totals(
        lines=[(Decimal("0.05"), 1)], discount_kind="percent", discount_value=Decimal("50")
    ) == (Decimal("0.05"), Decimal("0.03"), Decimal("0.02"))


def test_fixed_discount_is_capped_at_the_subtotal():
    assert order_totals(
        lines=[(Decimal("5.00"), 2)], discount_kind="fixed", discount_value=Decimal("25")
    ) == (Decimal("10.00"), Decimal("10.00"), Decimal("0.00"))


# --- checkout_totals: shipping, tax, currencies ----------------------------------------------


def totals(**kwargs):
    defaults = {"lines": [(Decimal("10.00"), 1)], "currency": "usd"}
    result = checkout_totals(**{**defaults, **kwargs})
    return (
        result.subtotal,
        result.discount_amount,
        result.shipping_amount,
        result.tax_amount,
        result.total,
    )


def test_tax_exclusive_adds_tax_on_goods_and_taxed_shipping():
    assert totals(
        shipping_price=Decimal("5.00"), tax_percent=Decimal("10"), shipping_taxed=True
    ) == (
        Decimal("10.00"),
        Decimal("0.00"),
        Decimal("5.00"),
        Decimal("1.50"),
        Decimal("16.50"),
    )
    untaxed_shipping = totals(shipping_price=Decimal("5.00"), tax_percent=Decimal("10"))
    assert untaxed_shipping[3:] == (Decimal("1.00"), Decimal("16.00"))


def test_tax_rounds_half_up_to_the_cent():
    # 5% of 0.10 = 0.005 -> 0.01 (half up, not to even)
    assert totals(lines=[(Decimal("0.10"), 1)], tax_percent=Decimal("5"))[3] == Decimal("0.01")
    # 8.875% of 14.99 = 1.3303... -> 1.33
    assert totals(lines=[(Decimal("14.99"), 1)], tax_percent=Decimal("8.875"))[3] == Decimal("1.33")


def test_tax_inclusive_is_the_part_of_the_gross_total():
    result = totals(
        lines=[(Decimal("11.90"), 1)],
        shipping_price=Decimal("4.99"),
        tax_percent=Decimal("19"),
        shipping_taxed=True,
        prices_include_tax=True,
    )
    # gross 16.89, of which 16.89 * 19 / 119 = 2.6967 -> 2.70 is VAT; the total is not raised
    assert result == (
        Decimal("11.90"),
        Decimal("0.00"),
        Decimal("4.99"),
        Decimal("2.70"),
        Decimal("16.89"),
    )


def test_free_over_uses_the_subtotal_after_discount():
    at_threshold = totals(
        lines=[(Decimal("50.00"), 1)],
        shipping_price=Decimal("4.99"),
        shipping_free_over=Decimal("50"),
    )
    assert at_threshold[2] == Decimal("0.00")
    discounted = totals(
        lines=[(Decimal("50.00"), 1)],
        discount_kind="percent",
        discount_value=Decimal("10"),
        shipping_price=Decimal("4.99"),
        shipping_free_over=Decimal("50"),
    )
    assert discounted[1:3] == (Decimal("5.00"), Decimal("4.99"))


def test_zero_decimal_currency_rounds_to_whole_units():
    result = totals(
        lines=[(Decimal("1499"), 1)],
        currency="jpy",
        discount_kind="percent",
        discount_value=Decimal("15"),
        tax_percent=Decimal("10"),
    )
    # discount 224.85 -> 225; tax 10% of 1274 = 127.4 -> 127
    assert result == (
        Decimal("1499.00"),
        Decimal("225.00"),
        Decimal("0.00"),
        Decimal("127.00"),
        Decimal("1401.00"),
    )


def test_a_discount_larger_than_the_cart_leaves_shipping_and_never_goes_negative():
    result = totals(
        discount_kind="fixed",
        discount_value=Decimal("500"),
        shipping_price=Decimal("3.00"),
        tax_percent=Decimal("20"),
        shipping_taxed=True,
    )
    assert result == (
        Decimal("10.00"),
        Decimal("10.00"),
        Decimal("3.00"),
        Decimal("0.60"),
        Decimal("3.60"),
    )


# --- Amounts the shop's currency can express ----------------------------------------------


@pytest.mark.django_db
def test_a_zero_decimal_shop_takes_only_whole_amounts(settings, manager_api):
    """In a JPY shop ¥1000.50 would be shown as such and charged as ¥1001."""
    from django.core.exceptions import ValidationError

    from catalog.importer import derived_price
    from catalog.tests.factories import BookFactory
    from orders.models import DiscountCode, ShippingMethod

    settings.CURRENCY = "jpy"
    book = BookFactory(price=Decimal("1000"))
    refused = manager_api.patch(f"/api/books/{book.pk}/", {"price": "1000.50"})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "price"
    assert manager_api.patch(f"/api/books/{book.pk}/", {"price": "1200"}).status_code == 200
    with pytest.raises(ValidationError) as caught:
        ShippingMethod(code="post", name="Post", price=Decimal("500.50")).full_clean()
    assert "price" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        DiscountCode(code="YEN", kind="fixed", value=Decimal("100.50")).full_clean()
    assert "value" in caught.value.message_dict
    DiscountCode(code="PCT", kind="percent", value=Decimal("12.5")).full_clean()  # a percent
    assert all(derived_price(source_id=n) % 1 == 0 for n in range(1, 60))
    settings.CURRENCY = "usd"
    ShippingMethod(code="post2", name="Post", price=Decimal("4.50")).full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize("written", ["NY", "ny", "US-NY", "New York"])
def test_a_tax_rate_region_is_kept_as_addresses_carry_it(written):
    from orders.models import TaxRate

    rate = TaxRate(country="US", region=written, percent=Decimal("8.875"))
    rate.full_clean()
    assert rate.region == "NY"


@pytest.mark.django_db
def test_a_tax_rate_region_that_names_no_region_is_refused():
    from django.core.exceptions import ValidationError

    from orders.models import TaxRate

    with pytest.raises(ValidationError) as caught:
        TaxRate(country="US", region="Atlantis", percent=Decimal("5")).full_clean()
    assert "region" in caught.value.message_dict
