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


def shipped_order(*, user, lines, shipping_price=Decimal("0"), discount_code=None, actor=None):
    """A paid order of `lines` ({book: quantity}) handed to a carrier now, shipped to
    TEST_ADDRESS by a method costing `shipping_price`."""
    from orders import services

    method = ShippingMethodFactory(code=f"post-{shipping_price}", price=shipping_price)
    order = services.order_place(
        user=user,
        items=[{"book": book.pk, "quantity": quantity} for book, quantity in lines.items()],
        discount_code=discount_code,
        shipping_address=dict(TEST_ADDRESS),
        shipping_method=method.code,
    )
    services.order_mark_paid(order_id=order.pk)
    order.refresh_from_db()
    return services.order_ship(order=order, actor=actor or user, tracking_number="1Z999")
