"""GET /metrics: token-protected Prometheus exposition with per-view request figures and the
shop's counters and gauges, scraped and parsed as Prometheus would."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.utils import timezone
from djstripe.models import Event

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.models import OutboxEmail
from core.testing import metrics_scrape
from orders import services as order_services
from orders.models import Order

pytestmark = pytest.mark.django_db

TOKEN = "metrics-test-token-0123456789"


@pytest.fixture
def scrape(settings):
    settings.METRICS_TOKEN = TOKEN
    client = Client()
    return lambda: metrics_scrape(client, TOKEN)


def test_without_a_configured_token_the_path_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.parametrize(
    "authorization", ["", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x"]
)
def test_a_missing_or_wrong_token_is_401_and_shows_nothing(client, settings, authorization):
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=authorization)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert b"bookstore_" not in response.content


def test_requests_are_counted_and_timed_per_view(scrape, client):
    before = scrape()
    for _ in range(3):
        assert client.get("/api/health/").status_code == 200
    assert client.get("/api/books/999999/").status_code == 404
    after = scrape()

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("bookstore_http_requests_total", view="health", method="GET", status="200") == 3
    assert delta("bookstore_http_request_duration_seconds_count", view="health", method="GET") == 3
    assert delta("bookstore_http_request_duration_seconds_bucket", view="health", method="GET",
                 le="+Inf") == 3  # fmt: skip
    assert (
        delta("bookstore_http_requests_total", view="book-detail", method="GET", status="404") == 1
    )


def test_the_shop_figures_come_from_the_database(scrape):
    book = BookFactory(stock_quantity=20)

    def place(quantity):
        return order_services.order_place(
            user=UserFactory(), items=[{"book": book.pk, "quantity": quantity}]
        )

    paid = place(1)
    order_services.order_mark_paid(order_id=paid.pk)
    cancelled = place(2)
    order_services.order_cancel(order=cancelled, actor=cancelled.user)
    lapsed = place(3)
    Order.objects.filter(pk=lapsed.pk).update(hold_expires_at=timezone.now() - timedelta(1))
    order_services.orders_expire_lapsed()
    place(4)
    place(5)  # two pending orders hold 9 copies

    for code, decline in (("card_declined", "insufficient_funds"), ("card_declined", None)):
        error = {"code": code, **({"decline_code": decline} if decline else {})}
        Event.objects.create(
            id=f"evt_{code}_{decline}",
            type="payment_intent.payment_failed",
            data={"object": {"id": "pi_1", "last_payment_error": error}},
            created=timezone.now(),
        )
    OutboxEmail.objects.all().delete()
    for n, minutes_ago in enumerate([90, 3]):
        message = OutboxEmail.objects.create(
            kind="order_paid", dedupe_key=f"m-{n}", to="a@example.com", subject="s",
            text_body="t", html_body="h",
        )  # fmt: skip
        OutboxEmail.objects.filter(pk=message.pk).update(
            created_at=timezone.now() - timedelta(minutes=minutes_ago)
        )

    figures = scrape()

    def value(name, **labels):
        return figures[(name, tuple(sorted(labels.items())))]

    assert value("bookstore_orders_total", event="placed") == 5
    assert value("bookstore_orders_total", event="paid") == 1
    assert value("bookstore_orders_total", event="cancelled") == 1
    assert value("bookstore_orders_total", event="expired") == 1
    assert value("bookstore_payment_failures_total", decline_code="insufficient_funds") == 1
    assert value("bookstore_payment_failures_total", decline_code="card_declined") == 1
    assert value("bookstore_held_copies") == 9
    assert value("bookstore_pending_orders") == 2
    assert value("bookstore_outbox_pending_emails") == 2
    assert 90 * 60 <= value("bookstore_outbox_oldest_pending_age_seconds") < 92 * 60
    assert value("bookstore_outbox_failed_emails") == 0


def test_the_workers_of_an_instance_are_summed_in_multiprocess_mode(tmp_path):
    # Two worker processes count requests into PROMETHEUS_MULTIPROC_DIR (as under gunicorn);
    # a scrape from a third process sees the sum.
    code = """
import os, sys
import django
django.setup()
from bookstore import metrics
if sys.argv[1] == "count":
    metrics.REQUESTS.labels("health", "GET", "200").inc(int(sys.argv[2]))
else:
    from prometheus_client.parser import text_string_to_metric_families
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if sample.name == "bookstore_http_requests_total":
                print(int(sample.value))
"""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "bookstore.settings.test")
    for count in ("2", "5"):
        subprocess.run([sys.executable, "-c", code, "count", count], env=env, check=True)
    scraped = subprocess.run(
        [sys.executable, "-c", code, "scrape"], env=env, check=True, capture_output=True, text=True
    )
    assert scraped.stdout.split() == ["7"]


@override_settings(METRICS_TOKEN=TOKEN)
def test_the_metrics_path_is_not_in_the_api_schema(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/metrics" not in schema
