from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from orders.pricing import order_totals

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
