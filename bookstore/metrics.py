"""Prometheus metrics at GET /metrics, for a scraper holding METRICS_TOKEN (a 404 without one).

Two kinds of figures, each from where it is correct with many processes and many machines:

- What a web process sees, counted in that process with prometheus-client: requests per view
  (count and latency), Stripe webhook requests received / applied / rejected, and the delay from
  Stripe creating an event to our applying it. gunicorn's workers write these to files in
  PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py sets it up), and a scrape of an instance sums its
  workers. Each instance reports its own: scrape every instance and `sum` across them.
- The shop's business figures, computed from the database at scrape time, so they are the same
  whichever instance answers and whichever process (a web worker, the clock) made the change:
  orders placed / paid / expired / cancelled and payment failures by decline code (counters
  derived from rows that are never deleted), held copies, the outbox backlog and the age of the
  oldest pending email (gauges). Aggregate these with `max`, not `sum`, across instances.
"""

import hmac
import json
import os
import time

from django.conf import settings
from django.http import Http404, HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from core import selectors as core_selectors
from core.exceptions import problem_json_response
from orders import selectors as order_selectors
from payments import selectors as payment_selectors

WEBHOOK_VIEW = "stripe-webhook"
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}

REQUESTS = Counter(
    "bookstore_http_requests",
    "HTTP requests answered, by view, method and status code.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "bookstore_http_request_duration_seconds",
    "Time from the request entering Django to the response leaving it, by view and method.",
    ["view", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBHOOKS = Counter(
    "bookstore_stripe_webhooks",
    "Stripe webhook requests: received, applied (2xx) or rejected (anything else).",
    ["outcome"],
)
WEBHOOK_DELAY = Histogram(
    "bookstore_stripe_webhook_delay_seconds",
    "From Stripe creating an event (its `created`) to our having applied it.",
    buckets=(0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 24 * 3600),
)


def _view_name(request):
    match = getattr(request, "resolver_match", None)
    # Unresolved paths (404s, redirects before routing) share one label: no path explosion.
    return match.view_name if match else "<unresolved>"


class MetricsMiddleware:
    """Counts and times every request by view (first in the chain, so it sees all of it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        view = _view_name(request)
        method = request.method if request.method in METHODS else "other"
        REQUESTS.labels(view, method, str(response.status_code)).inc()
        LATENCY.labels(view, method).observe(elapsed)
        if view == WEBHOOK_VIEW and method == "POST":
            self._webhook(request, response)
        return response

    @staticmethod
    def _webhook(request, response):
        WEBHOOKS.labels("received").inc()
        if not 200 <= response.status_code < 300:
            WEBHOOKS.labels("rejected").inc()
            return
        WEBHOOKS.labels("applied").inc()
        try:
            created = json.loads(request.body)["created"]
            WEBHOOK_DELAY.observe(max(0.0, time.time() - float(created)))
        except (ValueError, TypeError, KeyError, RawPostDataException):
            pass  # dj-stripe accepted it, so it was an event; no `created` is no figure


class ShopCollector:
    """The business figures, read from the database at scrape time (see the module's doc)."""

    def collect(self):
        totals = order_selectors.order_totals()
        orders = CounterMetricFamily(
            "bookstore_orders",
            "Orders placed, and orders that became paid, expired, cancelled.",
            labels=["event"],
        )
        for event in ("placed", "paid", "expired", "cancelled"):
            orders.add_metric([event], totals[event])
        yield orders

        failures = CounterMetricFamily(
            "bookstore_payment_failures",
            "Failed payment attempts by decline code.",
            labels=["decline_code"],
        )
        for code, count in sorted(payment_selectors.payment_failures_by_code().items()):
            failures.add_metric([code], count)
        yield failures

        pending_orders, copies = order_selectors.copies_held()
        yield GaugeMetricFamily(
            "bookstore_held_copies", "Copies held by pending orders.", value=copies
        )
        yield GaugeMetricFamily(
            "bookstore_pending_orders", "Orders waiting for payment.", value=pending_orders
        )

        pending, oldest, failed = core_selectors.outbox_backlog()
        yield GaugeMetricFamily(
            "bookstore_outbox_pending_emails", "Emails queued and not sent yet.", value=pending
        )
        age = 0.0 if oldest is None else (timezone.now() - oldest).total_seconds()
        yield GaugeMetricFamily(
            "bookstore_outbox_oldest_pending_age_seconds",
            "How long the oldest unsent email has waited (0 when none).",
            value=max(0.0, age),
        )
        yield GaugeMetricFamily(
            "bookstore_outbox_failed_emails", "Emails the outbox gave up on.", value=failed
        )


def exposition():
    """The text a scrape gets: this instance's processes, then the shop's figures."""
    shop = CollectorRegistry(auto_describe=True)
    shop.register(ShopCollector())
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        MultiProcessCollector(processes)
    else:
        processes = REGISTRY
    return generate_latest(processes) + generate_latest(shop)


def metrics_view(request):
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404
    supplied = request.headers.get("Authorization", "")
    if not hmac.compare_digest(supplied.encode(), f"Bearer {token}".encode()):
        response = problem_json_response("not_authenticated", "A metrics bearer token is required.")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
