from django.db.models import Prefetch, QuerySet

from accounts.models import User

from .models import Order, OrderEvent


def order_list(*, user: User) -> QuerySet[Order]:
    """The orders `user` may see (staff: all), with what the order serializer reads."""
    orders = Order.objects.select_related("user", "discount_code").prefetch_related(
        "items", Prefetch("events", OrderEvent.objects.order_by("created_at", "id"))
    )
    return orders if user.is_staff else orders.filter(user=user)
