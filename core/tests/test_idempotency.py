"""An Idempotency-Key whose request died mid-way (kill -9) can be retried at once."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from catalog.tests.factories import BookFactory
from core import idempotency
from core.models import IdempotencyKey, OutboxEmail
from core.testing import ProblemCheckingAPIClient, assert_problem
from orders.models import Order
from orders.tests.factories import with_shipping

HOLD_LOCK = """
import sys, time, psycopg2
conn = psycopg2.connect(**{k: v for k, v in zip(["dbname", "user", "host", "port", "password"],
                                                  sys.argv[1:6]) if v})
conn.autocommit = True
cur = conn.cursor()
cur.execute("SELECT pg_try_advisory_lock(%s)", [int(sys.argv[6])])
print("locked" if cur.fetchone()[0] else "busy", flush=True)
time.sleep(300)
"""


def client_for(user):
    client = ProblemCheckingAPIClient()
    client.force_authenticate(user)
    return client


def dead_request_claim(user, payload, key):
    """The claim row a request leaves behind when its process is killed mid-way."""
    return IdempotencyKey.objects.create(
        user=user,
        scope="orders.create",
        key=key,
        request_hash=idempotency._request_hash(payload),
        created_at=timezone.now(),
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_retry_takes_over_at_once_after_the_holder_is_killed(monkeypatch):
    user = UserFactory()
    payload = with_shipping({"items": [{"book": BookFactory(stock_quantity=5).pk, "quantity": 1}]})
    dead_request_claim(user, payload, "crash-1")
    lock_id = idempotency._HolderLock(user=user, scope="orders.create", key="crash-1").id
    db = connection.settings_dict
    args = [db["NAME"], db["USER"], db["HOST"], str(db["PORT"] or ""), db["PASSWORD"] or ""]
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, *args, str(lock_id)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        monkeypatch.setattr(idempotency, "WAIT_SECONDS", 1)
        # While the holder lives, a duplicate waits for it and then says so.
        response = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-1")
        assert_problem(response, 409, "request_in_progress")
    finally:
        holder.kill()  # SIGKILL: no clean-up of any kind
        holder.wait()

    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 10)
    started = time.monotonic()
    response = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-1")
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.json()
    assert elapsed < 3, elapsed
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.get(key="crash-1").status_code == 201
    again = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-1")
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_claim_left_by_a_closed_connection_is_taken_over_at_once(monkeypatch):
    """The claim row alone (no live lock holder) never blocks a retry on PostgreSQL."""
    user = UserFactory()
    payload = with_shipping({"items": [{"book": BookFactory(stock_quantity=5).pk, "quantity": 1}]})
    dead_request_claim(user, payload, "crash-2")
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 10)
    started = time.monotonic()
    response = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-2")
    assert response.status_code == 201, response.json()
    assert time.monotonic() - started < 2


@pytest.mark.django_db
def test_without_a_database_lock_an_old_claim_is_taken_over(monkeypatch):
    """SQLite (development) has no advisory locks: a claim's age tells when it is dead."""
    monkeypatch.setattr(idempotency, "_database_has_advisory_locks", lambda: False)
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.2)
    user = UserFactory()
    payload = with_shipping({"items": [{"book": BookFactory(stock_quantity=5).pk, "quantity": 1}]})
    claim = dead_request_claim(user, payload, "crash-3")
    client = client_for(user)
    busy = client.post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-3")
    assert_problem(busy, 409, "request_in_progress")
    IdempotencyKey.objects.filter(pk=claim.pk).update(
        created_at=timezone.now() - idempotency.ABANDONED_AFTER - timedelta(seconds=1)
    )
    assert client.post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="crash-3").status_code == 201


PLACE_AND_DIE = """
import json, os, signal, sys
import django
django.setup()
from django.test.utils import setup_test_environment
setup_test_environment()
from rest_framework.test import APIClient
from accounts.models import User
from orders import views

respond = views.OrderViewSet._respond

def respond_then_die(self, order, status_code=200):
    # The order is placed and its response built: the worker dies before answering.
    respond(self, order, status_code)
    os.kill(os.getpid(), signal.SIGKILL)

views.OrderViewSet._respond = respond_then_die
client = APIClient()
client.force_authenticate(User.objects.get(pk=int(sys.argv[1])))
client.post("/api/orders/", json.loads(sys.argv[2]), format="json", HTTP_IDEMPOTENCY_KEY="kill-1")
"""


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres_only
def test_a_worker_killed_after_placing_the_order_leaves_one_order_for_the_retry():
    user = UserFactory()
    book = BookFactory(stock_quantity=5)
    payload = with_shipping({"items": [{"book": book.pk, "quantity": 2}]})
    db = connection.settings_dict
    if db.get("PASSWORD"):
        pytest.skip("the child process would need the database password")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bookstore.settings.test",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**db),
    }
    worker = subprocess.run(
        [sys.executable, "-c", PLACE_AND_DIE, str(user.pk), json.dumps(payload)],
        env=env,
        timeout=120,
    )
    assert worker.returncode == -signal.SIGKILL

    response = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="kill-1")
    assert response.status_code in (200, 201), response.json()
    assert Order.objects.filter(user=user).count() == 1
    assert response.json()["id"] == Order.objects.get(user=user).pk
    book.refresh_from_db()
    assert book.reserved_quantity == 2
    assert OutboxEmail.objects.filter(order__user=user).count() == 1
    again = client_for(user).post("/api/orders/", payload, HTTP_IDEMPOTENCY_KEY="kill-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == response.json()["id"]
