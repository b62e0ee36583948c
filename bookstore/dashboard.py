"""The back office's front page: how the shop is doing, at a glance, for staff.

`dashboard_figures()` composes the figures from the apps' selectors (sales per day, held stock,
books to restock, the most awaited sold-out books, failed payments, open disputes and their
deadlines, the email outbox, webhook failures) in a handful of queries, whatever the size of the
shop. `install(site)` shows them above the admin index's app list (templates/admin/index.html),
with the last 30 days drawn as a server-rendered SVG chart (templates/admin/sales_chart.svg): no
script, nothing fetched from
elsewhere.

The project package reads the apps only here and in the URLconf, where it composes them.
"""

import functools
import math
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from catalog import selectors as catalog_selectors
from core import selectors as core_selectors
from orders import selectors as order_selectors
from payments import selectors as payment_selectors

LOW_STOCK_SHOWN = 10
MOST_AWAITED_SHOWN = 10
FAILED_PAYMENTS_SHOWN = 10
OPEN_DISPUTES_SHOWN = 10
SALES_WINDOW_DAYS = 30
# Who sees the figures: they include revenue, so staff who may look at orders.
DASHBOARD_PERMISSION = "orders.view_order"


@dataclass(frozen=True)
class Sales:
    orders: int
    revenue: Decimal


@dataclass(frozen=True)
class ChartDay:
    day: date
    orders: int
    revenue: Decimal
    x: str  # the bar's left edge, in the SVG's user units
    bar_y: str
    bar_height: str
    dot_x: str
    dot_y: str


@dataclass(frozen=True)
class SalesChart:
    """Revenue per day as bars (left axis) and paid orders per day as a line (right axis)."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    bar_width: str
    revenue_max: Decimal
    orders_max: int
    days: list[ChartDay]

    @property
    def first_day(self):
        return self.days[0].day

    @property
    def last_day(self):
        return self.days[-1].day

    @property
    def orders_points(self):
        return " ".join(f"{d.dot_x},{d.dot_y}" for d in self.days)

    @property
    def date_labels(self):
        """First, middle and last day under the axis: (x, label)."""
        picks = [self.days[0], self.days[len(self.days) // 2], self.days[-1]]
        return [(d.dot_x, d.day.strftime("%b %-d")) for d in picks]


@dataclass(frozen=True)
class DashboardFigures:
    currency: str
    sales_today: Sales
    sales_window: Sales
    sales_window_days: int
    sales_chart: SalesChart
    pending_orders: int
    copies_held: int
    low_stock_threshold: int
    low_stock_count: int
    low_stock_books: list  # Book rows annotated with `available`, fewest first
    most_awaited_books: list  # out-of-stock Book rows annotated with `waiting`, most first
    failed_payments: list  # Payment rows with their order and customer
    open_disputes_count: int
    open_disputes: list  # Dispute rows, soonest evidence deadline first
    outbox_pending: int
    outbox_oldest_minutes: int | None  # how long the oldest pending email has waited
    outbox_failed: int
    webhooks_received: int  # in the window
    webhooks_failed: int


def nice_ceiling(value):
    """The smallest of 1, 2, 5 x 10^n at least `value` (at least 1): a round axis maximum."""
    if value <= 1:
        return 1
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude  # pragma: no cover


def sales_chart(series, *, width=720, height=200):
    left, right, top, bottom = 56, 40, 12, 24
    plot_width, plot_height = width - left - right, height - top - bottom
    revenue_max = nice_ceiling(float(max((r for _, _, r in series), default=0)))
    orders_max = nice_ceiling(max((o for _, o, _ in series), default=0))
    slot = plot_width / len(series)
    bar_width = slot * 0.7
    days = []
    for index, (day, orders, revenue) in enumerate(series):
        bar_height = plot_height * float(revenue) / revenue_max
        days.append(
            ChartDay(
                day=day,
                orders=orders,
                revenue=revenue,
                x=f"{left + index * slot + (slot - bar_width) / 2:.1f}",
                bar_y=f"{top + plot_height - bar_height:.1f}",
                bar_height=f"{bar_height:.1f}",
                dot_x=f"{left + (index + 0.5) * slot:.1f}",
                dot_y=f"{top + plot_height - plot_height * orders / orders_max:.1f}",
            )
        )
    return SalesChart(
        width=width,
        height=height,
        left=left,
        right=width - right,
        top=top,
        bottom=top + plot_height,
        bar_width=f"{bar_width:.1f}",
        revenue_max=Decimal(revenue_max),
        orders_max=orders_max,
        days=days,
    )


def dashboard_figures(*, now=None):
    now = now or timezone.now()
    today = timezone.localdate(now)
    first_day = today - timedelta(days=SALES_WINDOW_DAYS - 1)
    # Orders paid and not refunded since: the money the shop kept, day by day (today last).
    series = order_selectors.sales_per_day(first_day=first_day, days=SALES_WINDOW_DAYS)
    _, today_orders, today_revenue = series[-1]
    pending_orders, copies = order_selectors.copies_held()
    low_stock_count, low_stock_books = catalog_selectors.books_low_stock(limit=LOW_STOCK_SHOWN)
    outbox_pending, outbox_oldest, outbox_failed = core_selectors.outbox_backlog()
    window_start = now - timedelta(days=SALES_WINDOW_DAYS)
    webhooks_received, webhooks_failed = payment_selectors.webhook_failures(since=window_start)
    open_disputes_count, open_disputes = payment_selectors.disputes_open(limit=OPEN_DISPUTES_SHOWN)
    return DashboardFigures(
        currency=settings.CURRENCY.upper(),
        sales_today=Sales(today_orders, today_revenue),
        sales_window=Sales(sum(o for _, o, _ in series), sum(r for _, _, r in series)),
        sales_window_days=SALES_WINDOW_DAYS,
        sales_chart=sales_chart(series),
        pending_orders=pending_orders,
        copies_held=copies,
        low_stock_threshold=catalog_selectors.LOW_STOCK,
        low_stock_count=low_stock_count,
        low_stock_books=low_stock_books,
        most_awaited_books=catalog_selectors.books_most_awaited(limit=MOST_AWAITED_SHOWN),
        failed_payments=payment_selectors.payments_failed_recent(limit=FAILED_PAYMENTS_SHOWN),
        open_disputes_count=open_disputes_count,
        open_disputes=open_disputes,
        outbox_pending=outbox_pending,
        outbox_oldest_minutes=(
            None if outbox_oldest is None else int((now - outbox_oldest).total_seconds() // 60)
        ),
        outbox_failed=outbox_failed,
        webhooks_received=webhooks_received,
        webhooks_failed=webhooks_failed,
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
