from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, Prefetch, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import User
from core.permissions import staff_may

from .models import PAID_STATUSES, Order, OrderEvent, OrderItem, OrderStatus


def order_list(*, user: User) -> QuerySet[Order]:
    """The orders `user` may see (with the permission to view orders: all), with what the
    order serializer reads."""
    orders = Order.objects.select_related("user", "discount_code").prefetch_related(
        "items", Prefetch("events", OrderEvent.objects.order_by("created_at", "id"))
    )
    return orders if staff_may(user, "orders.view_order") else orders.filter(user=user)


def customer_has_bought(user_id: int, book_id: int) -> bool:
    """Whether the customer has a paid order of the book that was not refunded in full (the
    catalog's verified-purchase check, registered in OrdersConfig.ready)."""
    return OrderItem.objects.filter(
        order__user_id=user_id, order__status__in=PAID_STATUSES, book_id=book_id
    ).exists()


# --- The back office's figures (the admin dashboard) ------------------------------------------


def sales_per_day(*, first_day: date, days: int) -> list[tuple[date, int, Decimal]]:
    """(day, orders, revenue) for each of `days` days from `first_day` in the shop's time zone
    (TIME_ZONE), days without sales included: orders paid and not refunded since. One query."""
    zone = timezone.get_current_timezone()
    start = timezone.make_aware(datetime.combine(first_day, time.min), zone)
    end = start + timedelta(days=days)
    rows = (
        Order.objects.filter(paid_at__gte=start, paid_at__lt=end)
        .exclude(status=OrderStatus.REFUNDED)
        .annotate(day=TruncDate("paid_at", tzinfo=zone))
        .values("day")
        .annotate(orders=Count("pk"), revenue=Sum("total"))
    )
    by_day = {row["day"]: (row["orders"], row["revenue"]) for row in rows}
    series = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        orders, revenue = by_day.get(day, (0, Decimal("0.00")))
        series.append((day, orders, revenue))
    return series


def copies_held() -> tuple[int, int]:
    """Pending orders and the copies they hold (until paid, cancelled or expired: a lapsed hold
    still counts until expire_orders releases it)."""
    held = OrderItem.objects.filter(order__status=OrderStatus.PENDING).aggregate(
        orders=Count("order", distinct=True), copies=Sum("quantity")
    )
    return held["orders"], held["copies"] or 0


def order_totals() -> dict[str, int]:
    """Orders placed, and status changes to paid, expired and cancelled, since the shop opened
    (counters: orders and their events are never deleted). Two queries."""
    totals = dict.fromkeys(["paid", "expired", "cancelled"], 0)
    changes = (
        OrderEvent.objects.filter(to_status__in=list(totals))
        .values_list("to_status")
        .annotate(count=Count("pk"))
        .order_by()
    )
    totals.update(dict(changes))
    totals["placed"] = Order.objects.count()
    return totals
