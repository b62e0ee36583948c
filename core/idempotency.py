"""Idempotency-Key for POSTs that create things (orders, payments).

The same user + key + body within 24 hours replays the first successful response and creates
nothing new, also when the two requests race. An error response is not kept, so a request
that failed can be retried with the same key.

Who is working on a key: on PostgreSQL, the request holding a session advisory lock on it.
The lock belongs to the database connection, so when the process holding it dies (even
`kill -9`), PostgreSQL drops the connection and the lock with it, and a retry with the same
key takes over at once instead of waiting for a timeout. A claim row records the request's
body hash and, once done, its response. Other databases (SQLite in development) have no such
lock: there a claim with no response is taken over once it is ABANDONED_AFTER old.

The response is recorded in the same transaction as the handler's own writes (the order), so a
crash between the two cannot leave an order whose key has no response.
"""

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import Any

from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from core.errors import ApplicationError, field_error

from .models import IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
# Without a database lock: a claim with no response after this long belongs to a request that
# died (gunicorn's worker timeout ends any request long before).
ABANDONED_AFTER = timedelta(minutes=2)
WAIT_SECONDS = 30
POLL_SECONDS = 0.05

# The header in the OpenAPI schema of the views that honour it.
IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER,
    str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="Replays the first response for 24 hours when the same request is sent again.",
)


def _request_hash(data: Any) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _validate(key: str) -> None:
    if not key or len(key) > 255 or not key.isprintable():
        raise field_error(
            HEADER, "invalid", "Idempotency-Key must be 1 to 255 printable characters."
        )


def _database_has_advisory_locks() -> bool:
    return connection.vendor == "postgresql"


class _HolderLock:
    """The session advisory lock that says "a live request is working on this key"."""

    def __init__(self, *, user: Any, scope: str, key: str) -> None:
        digest = hashlib.sha256(f"idempotency:{user.pk}:{scope}:{key}".encode()).digest()
        self.id = int.from_bytes(digest[:8], "big", signed=True)
        self.supported = _database_has_advisory_locks()

    def acquire(self) -> bool:
        """True if we now hold it (always, where the database has no such locks)."""
        if not self.supported:
            return True
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.id])
            return bool(cursor.fetchone()[0])

    def release(self) -> None:
        if not self.supported:
            return
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.id])
        except DatabaseError:
            # A broken connection: the lock went with it. Closing makes sure it did.
            logger.warning("Could not release the Idempotency-Key lock; closing the connection")
            connection.close()


def _replay(record: IdempotencyKey) -> Response:
    response = Response(record.response_body, status=record.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _reused() -> ApplicationError:
    return ApplicationError(
        "idempotency_key_reused", "This Idempotency-Key was used with a different request body."
    )


def _claim(
    *, user: Any, scope: str, key: str, request_hash: str, lock: _HolderLock
) -> tuple[str, IdempotencyKey]:
    """With the holder lock held: ("run", our new claim), ("replay", finished record) or
    ("wait", a claim that may still be live, where there is no lock to tell)."""
    now = timezone.now()
    while True:
        existing = IdempotencyKey.objects.filter(user=user, scope=scope, key=key).first()
        if existing is not None and existing.created_at >= now - LIFETIME:
            if existing.request_hash != request_hash:
                raise _reused()
            if existing.status_code is not None:
                return "replay", existing
            if not lock.supported and existing.created_at >= now - ABANDONED_AFTER:
                return "wait", existing
        if existing is not None:
            # Expired, or its request died: with the lock ours, nobody else is working on it.
            IdempotencyKey.objects.filter(pk=existing.pk).delete()
        try:
            with transaction.atomic():
                return "run", IdempotencyKey.objects.create(
                    user=user, scope=scope, key=key, request_hash=request_hash, created_at=now
                )
        except IntegrityError:
            continue  # another request (no lock to stop it) claimed it meanwhile


def _run(record: IdempotencyKey, handler: Callable[[], Response], *, atomic: bool) -> Response:
    try:
        # In one transaction with what the handler writes, the response is kept if and only if
        # the order is: a process that dies in between (killed, out of memory) leaves neither,
        # and the retry runs the request as if for the first time.
        with transaction.atomic() if atomic else nullcontext():
            response = handler()
            if 200 <= response.status_code < 300:
                IdempotencyKey.objects.filter(pk=record.pk).update(
                    status_code=response.status_code, response_body=response.data
                )
    except BaseException:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        raise
    if not 200 <= response.status_code < 300:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
    return response


def idempotent(
    request: Request,
    *,
    scope: str,
    handler: Callable[[], Response],
    atomic: bool = True,
    state: str = "",
) -> Response:
    """Run `handler()` (which returns a DRF Response) at most once per Idempotency-Key.

    `atomic`: the handler runs in the transaction that records its response. Pass False only
    for a handler that must call out (Stripe) between transactions of its own and is safe to
    run again by itself; a crash after its work and before the record is then answered by the
    handler's own idempotency on the retry.

    `state`: what else the request acts on, beyond its body (a cart's revision): the key then
    replays only while that is unchanged, and is idempotency_key_reused otherwise."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    _validate(key)
    request_hash = _request_hash({"body": request.data, "state": state} if state else request.data)
    user: Any = request.user  # authenticated: the views that call this require it
    lock = _HolderLock(user=user, scope=scope, key=key)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if lock.acquire():
            try:
                outcome, record = _claim(
                    user=user, scope=scope, key=key, request_hash=request_hash, lock=lock
                )
                if outcome == "run":
                    return _run(record, handler, atomic=atomic)
                if outcome == "replay":
                    return _replay(record)
            finally:
                lock.release()
        else:
            # A live request holds the key: wait for its response.
            working = IdempotencyKey.objects.filter(user=user, scope=scope, key=key).first()
            if working is not None and working.request_hash != request_hash:
                raise _reused()
            if working is not None and working.status_code is not None:
                return _replay(working)
        if time.monotonic() >= deadline:
            raise ApplicationError(
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
        time.sleep(POLL_SECONDS)
