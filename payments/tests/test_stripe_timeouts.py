"""A Stripe that accepts connections and never answers (a black hole): requests get a 502
problem document within the time budget, and nobody waits on the order's row meanwhile."""

import runpy
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import stripe
from django.conf import settings as django_settings
from django.db import connection, transaction

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders import services as order_services
from orders.models import Order
from payments import gateway
from payments.models import Payment

BUDGET = 3  # seconds; production's STRIPE_REQUEST_BUDGET is 10
SLACK = 1.5  # for a slow test machine


@pytest.fixture
def black_hole_stripe(settings, monkeypatch):
    """Point the gateway at a socket that completes the TCP handshake and then says nothing."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)  # never accept()ed: connections wait in the backlog, unanswered
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.STRIPE_API_BASE = url
    settings.STRIPE_REQUEST_BUDGET = BUDGET
    for name in ("api_base", "max_network_retries", "default_http_client"):
        monkeypatch.setattr(stripe, name, getattr(stripe, name))
    gateway.configure()
    yield url
    listener.close()


def start_payment(user, order):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    started = time.monotonic()
    response = client.post("/api/payments/", {"order": order.pk})
    return response, time.monotonic() - started


def new_order():
    user = UserFactory()
    book = BookFactory(stock_quantity=5)
    order = order_services.order_place(user=user, items=[{"book": book.pk, "quantity": 1}])
    return user, order


def test_the_budget_stays_well_inside_the_worker_timeout():
    gunicorn_conf = runpy.run_path(str(Path(django_settings.BASE_DIR) / "gunicorn.conf.py"))
    worker_timeout = gunicorn_conf["timeout"]
    assert django_settings.STRIPE_REQUEST_BUDGET <= 10 < worker_timeout
    # One attempt and its retry fit in the budget.
    retries = django_settings.STRIPE_MAX_NETWORK_RETRIES
    assert django_settings.STRIPE_TIMEOUT * (retries + 1) <= django_settings.STRIPE_REQUEST_BUDGET


@pytest.mark.django_db
def test_a_black_hole_stripe_is_a_502_within_the_budget(black_hole_stripe):
    user, order = new_order()
    response, elapsed = start_payment(user, order)
    assert_problem(response, 502, "payment_provider_error")
    assert elapsed < BUDGET + SLACK, elapsed
    assert not Payment.objects.exists()
    order.refresh_from_db()
    assert order.status == "pending"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_the_order_row_is_not_locked_while_stripe_is_called(black_hole_stripe):
    user, order = new_order()

    def pay():
        try:
            return start_payment(user, order)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        waiting = pool.submit(pay)
        time.sleep(1.0)  # the request is now waiting on Stripe
        assert not waiting.done()
        with transaction.atomic():
            # NOWAIT: an error at once if the payment request held the order's row.
            locked = Order.objects.select_for_update(nowait=True).get(pk=order.pk)
            assert locked.status == "pending"
        response, elapsed = waiting.result()
    assert_problem(response, 502, "payment_provider_error")
    assert elapsed < BUDGET + SLACK, elapsed


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_two_clicks_on_pay_still_make_one_payment(fake):
    """Without the lock across the Stripe call, the idempotency keys keep it to one intent."""
    user, order = new_order()
    barrier = threading.Barrier(2)

    def pay():
        barrier.wait()
        try:
            return start_payment(user, order)[0].status_code
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(lambda _: pay(), range(2)))
    assert statuses in ([200, 201], [201, 201])
    assert Payment.objects.filter(order=order).count() == 1
