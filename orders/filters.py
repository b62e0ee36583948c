import django_filters
from django_countries import countries

from .models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    """Staff filter by status, customer, destination country and shipping method; customers'
    lists are their own orders anyway."""

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    user = django_filters.NumberFilter(field_name="user_id", min_value=1, max_value=2**63 - 1)
    country = django_filters.ChoiceFilter(
        field_name="shipping_country",
        choices=list(countries),
        help_text="Shipping address country (ISO 3166-1 alpha-2).",
    )
    shipping_method = django_filters.CharFilter(
        field_name="shipping_method_code", max_length=40, help_text="A shipping method code."
    )

    class Meta:
        model = Order
        fields: list[str] = []
