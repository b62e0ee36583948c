"""The shop keeps answering when Redis goes away or freezes (bookstore/cache.py), against a real
redis-server that each test starts on a free port of its own, then stops or freezes."""

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
from django.core.cache import cache
from django.test import override_settings

from accounts.tests.factories import DEFAULT_PASSWORD, UserFactory
from catalog.tests.factories import BookFactory
from core.testing import ProblemCheckingAPIClient, assert_problem

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server"),
]

TIMEOUT = 0.25
RETRY = 0.3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisProcess:
    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
            + ["--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
        self.process.kill()
        self.process.wait(timeout=10)

    def freeze(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)


@pytest.fixture
def redis_process():
    server = RedisProcess(_free_port())
    server.start()
    caches = {
        "default": {
            "BACKEND": "bookstore.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{server.port}/0",
            "OPTIONS": {
                "socket_connect_timeout": TIMEOUT,
                "socket_timeout": TIMEOUT,
                "retry_seconds": RETRY,
            },
        }
    }
    with override_settings(CACHES=caches, CATALOGUE_CACHE_SECONDS=1):
        yield server
    server.stop()


def _wait_for_retry():
    time.sleep(RETRY + 0.05)


def login(user):
    response = ProblemCheckingAPIClient().post(
        "/api/users/login/", {"email": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200, response.content
    return response.json()


def bearer(access):
    client = ProblemCheckingAPIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def health():
    response = ProblemCheckingAPIClient().get("/api/health/")
    assert response.status_code == 200
    return response.json()


def test_a_stopped_redis_is_a_cache_miss_and_health_says_degraded(redis_process, caplog):
    caplog.set_level(logging.WARNING, logger="bookstore.cache")
    book = BookFactory()
    user = UserFactory()
    anonymous = ProblemCheckingAPIClient()
    assert anonymous.get(f"/api/books/{book.pk}/").status_code == 200
    tokens = login(user)
    assert bearer(tokens["access"]).get("/api/users/me/").status_code == 200
    assert health() == {"status": "ok", "database": "ok", "cache": "ok"}

    redis_process.stop()

    # Reads come from the database; the token version and the user too; the login, order and
    # webhook throttles let requests through.
    assert anonymous.get(f"/api/books/{book.pk}/").status_code == 200
    assert anonymous.get("/api/books/").status_code == 200
    assert bearer(tokens["access"]).get("/api/users/me/").status_code == 200
    assert bearer(login(user)["access"]).get("/api/users/me/").status_code == 200
    webhook = anonymous.post(f"/stripe/webhook/{uuid.uuid4()}/", b"{}", content_type="text/plain")
    assert_problem(webhook, 404, "not_found")
    assert health() == {"status": "degraded", "database": "ok", "cache": "degraded"}
    _wait_for_retry()  # asked again, still down: no new warning within the minute
    assert anonymous.get(f"/api/books/{book.pk}/").status_code == 200
    assert health()["cache"] == "degraded"
    messages = [
        record.getMessage() for record in caplog.records if record.name == "bookstore.cache"
    ]
    assert len(messages) == 1
    assert messages[0].startswith("The cache (Redis) does not answer")

    redis_process.start()
    _wait_for_retry()
    assert health() == {"status": "ok", "database": "ok", "cache": "ok"}
    messages = [
        record.getMessage() for record in caplog.records if record.name == "bookstore.cache"
    ]
    assert len(messages) == 2
    assert messages[1].startswith("The cache (Redis) answers again")
    cache.set("after-the-outage", 1)
    assert cache.get("after-the-outage") == 1
    assert anonymous.get(f"/api/books/{book.pk}/").status_code == 200


def test_a_frozen_redis_costs_a_request_at_most_its_timeout(
    redis_process, django_capture_on_commit_callbacks
):
    user = UserFactory()
    tokens = login(user)
    # The token version is now in Redis, which keeps it through the freeze.
    assert bearer(tokens["access"]).get("/api/users/me/").status_code == 200

    redis_process.freeze()
    try:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            logout = bearer(tokens["access"]).post(
                "/api/users/logout/", {"refresh": tokens["refresh"]}
            )
        assert logout.status_code == 204
        # The database answers for the token version: the logout counts at once.
        assert_problem(bearer(tokens["access"]).get("/api/users/me/"), 401, "token_not_valid")
        assert health()["cache"] == "degraded"
        # Each of these asked Redis at most once before the process stopped asking.
        assert time.monotonic() - started < 3 * TIMEOUT + 1
    finally:
        redis_process.thaw()

    _wait_for_retry()
    assert health()["cache"] == "ok"
    # Redis still held the version from before the logout; the write that did not reach it was
    # made good when it answered again, so the revoked token stays revoked.
    assert_problem(bearer(tokens["access"]).get("/api/users/me/"), 401, "token_not_valid")
    assert bearer(login(user)["access"]).get("/api/users/me/").status_code == 200
