from decimal import Decimal

import factory

from orders.models import DiscountCode, ShippingMethod, TaxRate


class DiscountCodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiscountCode

    code = factory.Sequence(lambda n: f"SAVE{n}")
    kind = DiscountCode.Kind.PERCENT
    value = Decimal("10")


class ShippingMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShippingMethod
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"method-{n}")
    name = factory.LazyAttribute(lambda method: method.code.replace("-", " ").title())
    price = Decimal("4.50")
    min_days = 2
    max_days = 5


class TaxRateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TaxRate

    country = "US"
    region = ""
    percent = Decimal("8.875")
    shipping_taxed = True


TEST_ADDRESS = {
    "full_name": "Ada Reader",
    "line1": "1 Library Way",
    "city": "Albany",
    "region": "NY",
    "postal_code": "12207",
    "country": "US",
}


def with_shipping(body=None, **overrides):
    """An order body with a shipping address and a free method (no tax rate exists unless a
    test makes one), so totals are those of the books alone."""
    ShippingMethodFactory(code="free-test-post", name="Free test post", price=Decimal("0"))
    return {
        "shipping_address": dict(TEST_ADDRESS),
        "shipping_method": "free-test-post",
        **(body or {}),
        **overrides,
    }
