from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Count, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from accounts.models import User
from core.permissions import staff_may

from .models import (
    PAID_STATUSES,
    STAFF_ONLY_EVENT_KINDS,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    Return,
)


def order_list(*, user: User) -> QuerySet[Order]:
    """The orders `user` may see (with the permission to view orders: all), with what the
    order serializer reads."""
    orders = Order.objects.select_related("user", "discount_code").annotate(
        refunded_total=_refunded_total()
    )
    if staff_may(user, "orders.view_order"):
        return orders.prefetch_related("items", "returns", Prefetch("events", order_timeline()))
    return orders.filter(user=user).prefetch_related(
        "items", "returns", Prefetch("events", order_timeline(customer=True))
    )


def order_timeline(*, customer: bool = False) -> QuerySet[OrderEvent]:
    """An order's events, oldest first; a customer's without the steps only staff see."""
    events = OrderEvent.objects.order_by("created_at", "id")
    return events.exclude(kind__in=STAFF_ONLY_EVENT_KINDS) if customer else events


def _refunded_total() -> Coalesce:
    """What the order's payments sent back, as a subquery (no GROUP BY on the orders). The
    payments app's model is reached through the reverse relation: orders never imports it."""
    payment_model = Order._meta.get_field("payments").related_model
    refunded = (
        payment_model._default_manager.filter(order=OuterRef("pk"))
        .order_by()
        .values("order")
        .annotate(total=Sum("amount_refunded"))
        .values("total")
    )
    return Coalesce(Subquery(refunded), Decimal(0))


def return_list(*, user: User) -> QuerySet[Return]:
    """The returns `user` may see (with the permission to view returns: all), with their lines."""
    returns = Return.objects.select_related("order").prefetch_related("lines__order_item")
    return returns if staff_may(user, "orders.view_return") else returns.filter(order__user=user)


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
