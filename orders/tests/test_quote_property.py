"""A quote and the order placed from the same body agree: random carts, discount codes,
addresses, shipping methods, tax rates, currencies and tax-inclusive or exclusive prices."""

from decimal import Decimal

from django.core.cache import cache
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient
from orders.models import DiscountCode, Order, ShippingMethod, TaxRate

ADDRESSES = [
    {"country": "US", "region": "NY", "postal_code": "12207"},
    {"country": "US", "region": "NJ", "postal_code": "07030"},
    {"country": "US", "region": "CA", "postal_code": "94103"},
    {"country": "CA", "region": "ON", "postal_code": "M5V 2T6"},
    {"country": "DE", "region": "", "postal_code": "10117"},
    {"country": "GB", "region": "", "postal_code": "SW1A 2AA"},
    {"country": "JP", "region": "13", "postal_code": "100-0001"},
]
RATE_PLACES = [("US", "NY"), ("US", ""), ("CA", "ON"), ("CA", ""), ("DE", ""), ("GB", "")]
AMOUNTS = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("150"), places=2)
PERCENTS = st.decimals(min_value=Decimal("0"), max_value=Decimal("27.5"), places=3)

carts = st.lists(
    st.tuples(AMOUNTS, st.integers(1, 5), st.integers(0, 8)),  # price, quantity, stock
    min_size=1,
    max_size=4,
)
discounts = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "kind": st.just("percent"),
            "value": st.decimals(min_value=Decimal("1"), max_value=Decimal("100"), places=2),
            "is_active": st.booleans(),
            "min_subtotal": st.sampled_from([Decimal("0"), Decimal("40")]),
        }
    ),
    st.fixed_dictionaries(
        {
            "kind": st.just("fixed"),
            "value": AMOUNTS,
            "is_active": st.booleans(),
            "min_subtotal": st.sampled_from([Decimal("0"), Decimal("40")]),
        }
    ),
)
methods = st.lists(
    st.fixed_dictionaries(
        {
            "price": st.decimals(min_value=Decimal("0"), max_value=Decimal("30"), places=2),
            "free_over": st.one_of(st.none(), AMOUNTS),
            "countries": st.sampled_from(["", "US", "DE,GB", "CA,US"]),
        }
    ),
    min_size=1,
    max_size=3,
)
rates = st.dictionaries(
    st.sampled_from(RATE_PLACES), st.tuples(PERCENTS, st.booleans()), max_size=len(RATE_PLACES)
)


class QuoteEqualsPlacedOrder(TestCase):
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        cart=carts,
        discount=discounts,
        shipping_methods=methods,
        chosen=st.integers(0, 2),
        tax_rates=rates,
        address=st.sampled_from(ADDRESSES),
        currency=st.sampled_from(["usd", "eur", "jpy"]),
        prices_include_tax=st.booleans(),
    )
    def test_quote_totals_equal_the_placed_order(
        self,
        cart,
        discount,
        shipping_methods,
        chosen,
        tax_rates,
        address,
        currency,
        prices_include_tax,
    ):
        # Each example rolls back, so user ids repeat: the per-customer throttles start afresh.
        cache.clear()
        whole = currency == "jpy"  # no minor unit: whole yen prices
        books = [
            BookFactory(price=price.to_integral_value() or 1 if whole else price, stock_quantity=s)
            for price, _, s in cart
        ]
        for n, method in enumerate(shipping_methods):
            ShippingMethod.objects.create(code=f"m{n}", name=f"M{n}", **method)
        for (country, region), (percent, shipping_taxed) in tax_rates.items():
            TaxRate.objects.create(
                country=country, region=region, percent=percent, shipping_taxed=shipping_taxed
            )
        body = {
            "items": [
                {"book": b.pk, "quantity": q} for b, (_, q, _) in zip(books, cart, strict=True)
            ],
            "shipping_address": {
                "full_name": "Prop Erty",
                "line1": "1 Test Street",
                "city": "Testville",
                **address,
            },
            "shipping_method": f"m{chosen}",
        }
        if discount:
            DiscountCode.objects.create(code="PROP", **discount)
            body["discount_code"] = "prop"
        client = ProblemCheckingAPIClient()
        client.force_authenticate(UserFactory())

        with override_settings(CURRENCY=currency, PRICES_INCLUDE_TAX=prices_include_tax):
            quote = client.post("/api/orders/quote/", body, format="json")
            assert quote.status_code == 200, quote.json()
            quote = quote.json()
            placed = client.post("/api/orders/", body, format="json")

        if quote["problems"]:
            assert placed.status_code >= 400, placed.json()
            assert placed.json()["code"] in {p["code"] for p in quote["problems"]}
            assert not Order.objects.exists()
            return
        assert placed.status_code == 201, (quote, placed.json())
        order = placed.json()
        for key in (
            "subtotal",
            "discount_amount",
            "shipping_method",
            "shipping_amount",
            "tax_rate",
            "tax_amount",
            "prices_include_tax",
            "total",
            "shipping_address",
            "billing_address",
        ):
            assert order[key] == quote[key], (key, quote, order)
        stored = Order.objects.get(pk=order["id"])
        expected_total = stored.subtotal - stored.discount_amount + stored.shipping_amount
        if not prices_include_tax:
            expected_total += stored.tax_amount
        assert stored.total == expected_total >= 0
        if whole:
            assert stored.total == stored.total.to_integral_value()
