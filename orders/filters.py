import django_filters

from .models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    """Staff filter by status and customer; customers' lists are their own orders anyway."""

    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    user = django_filters.NumberFilter(field_name="user_id", min_value=1, max_value=2**63 - 1)

    class Meta:
        model = Order
        fields: list[str] = []
