"""What an order will cost, for a quote and for placing it: one computation for both, so that a
quote and the order placed from the same body always agree.

Reads only: nothing here holds stock, counts a discount use or writes a row. `order_place`
(services.py) adds the locking and the writes around the same functions.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from accounts.models import Address, address_snapshot
from accounts.services import address_clean
from bookstore.errors import ApplicationError, field_error

from .models import ShippingMethod, TaxRate
from .pricing import Totals, checkout_totals, shipping_charge


def address_resolve(*, user, value, field_name):
    """An address id of `user`'s book, or an inline address -> the snapshot an order keeps.
    Someone else's id is answered exactly like a missing one."""
    if value is None:
        return None
    if isinstance(value, int):
        address = Address.objects.filter(pk=value, user=user).first()
        if address is None:
            raise field_error(field_name, "does_not_exist", f"You have no address with id {value}.")
        return address.snapshot()
    return address_snapshot(address_clean(values=value, field_prefix=f"{field_name}."))


def shipping_methods_for(country: str) -> list[ShippingMethod]:
    """Active methods serving `country` (a method with no countries serves all)."""
    methods = ShippingMethod.objects.filter(is_active=True)
    if country:
        # `countries` is stored as comma-separated codes: match a whole code, or none at all.
        methods = methods.filter(
            Q(countries="")
            | Q(countries=country)
            | Q(countries__startswith=f"{country},")
            | Q(countries__endswith=f",{country}")
            | Q(countries__contains=f",{country},")
        )
    return list(methods)


def tax_rate_for(*, country: str, region: str) -> TaxRate | None:
    """The region's rate, else the country's; None (no tax) when the shop has neither."""
    if not country:
        return None
    rates = TaxRate.objects.filter(country=country, region__in={"", (region or "").upper()})
    return max(rates, key=lambda rate: bool(rate.region), default=None)


@dataclass
class ShippingChoice:
    method: ShippingMethod
    price: Decimal


@dataclass
class Checkout:
    """Everything an order placed now would record, and what stands in its way."""

    currency: str
    lines: dict  # book id -> quantity
    books: dict  # book id -> Book
    totals: Totals
    shipping_address: dict | None = None
    billing_address: dict | None = None
    shipping_method: ShippingMethod | None = None
    shipping_options: list[ShippingChoice] = field(default_factory=list)
    tax_rate: TaxRate | None = None
    prices_include_tax: bool = False
    problems: list[ApplicationError] = field(default_factory=list)


def shipping_resolve(*, user, shipping_address, billing_address, shipping_method, required):
    """(shipping snapshot, billing snapshot, method or None, options, problem or None).

    A method that does not exist, is inactive or does not serve the address's country is a
    problem naming `shipping_method` (placing raises it; a quote lists it)."""
    if shipping_address is None:
        if required:
            raise field_error("shipping_address", "required", "Where should we send the order?")
        if shipping_method:
            raise field_error(
                "shipping_address", "required", "A shipping method needs a shipping address."
            )
        return None, None, None, [], None
    shipping = address_resolve(user=user, value=shipping_address, field_name="shipping_address")
    billing = (
        address_resolve(user=user, value=billing_address, field_name="billing_address")
        if billing_address is not None
        else dict(shipping)
    )
    options = shipping_methods_for(shipping["country"])
    if not shipping_method:
        if required:
            raise field_error(
                "shipping_method",
                "required",
                "Choose a shipping method (GET /api/shipping-methods/?country=XX lists them).",
            )
        return shipping, billing, None, options, None
    chosen = next((method for method in options if method.code == shipping_method), None)
    problem = None
    if chosen is None:
        problem = field_error(
            "shipping_method",
            "not_available",
            f"The shipping method {shipping_method!r} does not deliver to {shipping['country']}.",
        )
    return shipping, billing, chosen, options, problem


def checkout_price(
    *,
    lines: dict,
    books: dict,
    discount,
    shipping_address,
    billing_address,
    shipping_method,
    shipping_options,
) -> Checkout:
    """The totals for priced lines, a discount code row (or None), a resolved shipping snapshot
    and method. One tax-rate query; nothing per line."""
    currency = settings.CURRENCY
    include_tax = settings.PRICES_INCLUDE_TAX
    rate = (
        tax_rate_for(country=shipping_address["country"], region=shipping_address["region"])
        if shipping_address
        else None
    )
    totals = checkout_totals(
        lines=[(books[book_id].price, quantity) for book_id, quantity in lines.items()],
        currency=currency,
        discount_kind=discount.kind if discount else None,
        discount_value=discount.value if discount else None,
        shipping_price=shipping_method.price if shipping_method else None,
        shipping_free_over=shipping_method.free_over if shipping_method else None,
        tax_percent=rate.percent if rate else None,
        shipping_taxed=bool(rate and rate.shipping_taxed),
        prices_include_tax=include_tax,
    )
    goods = totals.subtotal - totals.discount_amount
    return Checkout(
        currency=currency,
        lines=lines,
        books=books,
        totals=totals,
        shipping_address=shipping_address,
        billing_address=billing_address,
        shipping_method=shipping_method,
        shipping_options=[
            ShippingChoice(
                method=method,
                price=shipping_charge(
                    price=method.price, free_over=method.free_over, goods=goods, currency=currency
                ),
            )
            for method in shipping_options
        ],
        tax_rate=rate,
        prices_include_tax=include_tax,
    )


def tax_rate_label(rate: TaxRate | None) -> str:
    if rate is None:
        return ""
    country = str(rate.country)  # the ISO code
    where = f"{country}-{rate.region}" if rate.region else country
    return f"{rate.name or 'Tax'} {where} {rate.percent.normalize():f}%"
