"""The back office's front page: how the shop is doing, at a glance, for staff.

`dashboard_figures()` reads sales, held stock, books to restock and failed payments with five
queries, whatever the size of the shop (aggregates and short, limited lists; no per-row work).
`install(site)` shows them above the admin index's app list (templates/admin/index.html).

This module lives in `bookstore/` because it reads every app, payments included, which the
orders app may not import.
"""

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from catalog.admin import LOW_STOCK
from catalog.models import Book
from orders.models import Order, OrderItem, OrderStatus
from payments.models import Payment, PaymentStatus

LOW_STOCK_SHOWN = 10
FAILED_PAYMENTS_SHOWN = 10
SALES_WINDOW_DAYS = 30
# Who sees the figures: they include revenue, so staff who may look at orders.
DASHBOARD_PERMISSION = "orders.view_order"


@dataclass(frozen=True)
class Sales:
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class DashboardFigures:
    currency: str
    sales_today: Sales
    sales_window: Sales
    sales_window_days: int
    pending_orders: int
    copies_held: int
    low_stock_threshold: int
    low_stock_count: int
    low_stock_books: list  # Book rows annotated with `available`, fewest first
    failed_payments: list  # Payment rows with their order and customer


def start_of_today():
    """Midnight in the shop's time zone (TIME_ZONE): "today" as the staff see it."""
    today = timezone.localdate()
    return timezone.make_aware(datetime.combine(today, datetime.min.time()))


def dashboard_figures(*, now=None):
    now = now or timezone.now()
    today = start_of_today()
    window_start = now - timedelta(days=SALES_WINDOW_DAYS)

    # Orders paid in the window and not refunded since: the money the shop kept.
    paid = Order.objects.filter(paid_at__gte=window_start).exclude(status=OrderStatus.REFUNDED)
    paid_today = Q(paid_at__gte=today)
    paid_in_window = Q(paid_at__gte=window_start)
    sales = paid.aggregate(
        today_orders=Count("pk", filter=paid_today),
        today_revenue=Sum("total", filter=paid_today),
        window_orders=Count("pk", filter=paid_in_window),
        window_revenue=Sum("total", filter=paid_in_window),
    )

    # Every pending order holds its copies until it is paid, cancelled or expired (a lapsed
    # hold is released by `expire_orders`, so until then it still counts here).
    held = OrderItem.objects.filter(order__status=OrderStatus.PENDING).aggregate(
        orders=Count("order", distinct=True), copies=Sum("quantity")
    )

    low_stock = (
        Book.objects.active()
        .annotate(available=F("stock_quantity") - F("reserved_quantity"))
        .filter(available__lt=LOW_STOCK)
    )
    low_stock_books = list(
        low_stock.order_by("available", "title", "pk").only(
            "pk", "title", "isbn13", "stock_quantity", "reserved_quantity"
        )[:LOW_STOCK_SHOWN]
    )

    failed_payments = list(
        Payment.objects.filter(status=PaymentStatus.FAILED)
        .select_related("order__user")
        .order_by("-updated_at", "-pk")[:FAILED_PAYMENTS_SHOWN]
    )

    return DashboardFigures(
        currency=settings.CURRENCY.upper(),
        sales_today=Sales(sales["today_orders"], sales["today_revenue"] or Decimal("0.00")),
        sales_window=Sales(sales["window_orders"], sales["window_revenue"] or Decimal("0.00")),
        sales_window_days=SALES_WINDOW_DAYS,
        pending_orders=held["orders"],
        copies_held=held["copies"] or 0,
        low_stock_threshold=LOW_STOCK,
        low_stock_count=low_stock.count(),
        low_stock_books=low_stock_books,
        failed_payments=failed_payments,
    )


def may_see_dashboard(user):
    return user.is_active and user.is_staff and user.has_perm(DASHBOARD_PERMISSION)


def install(site):
    """Give the admin index a `dashboard` context variable for staff who may see it.

    The index view is wrapped rather than the site subclassed, so the project keeps Django's
    default site (and everything registered on it). Installing twice changes nothing."""
    if getattr(site.index, "shows_dashboard", False):
        return
    index_without_dashboard = site.index

    @functools.wraps(index_without_dashboard)
    def index(request, extra_context=None):
        extra_context = dict(extra_context or {})
        if may_see_dashboard(request.user):
            extra_context["dashboard"] = dashboard_figures()
        return index_without_dashboard(request, extra_context=extra_context)

    index.shows_dashboard = True
    site.index = index
