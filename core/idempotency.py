"""Idempotency-Key for POSTs that create things (orders, payments).

The same user + key + body within 24 hours replays the first successful response and creates
nothing new, also when the two requests race: the first request claims the key in a committed
row before doing the work; a racing duplicate finds the claim and waits for its response. An
error response is not kept, so a request that failed can be retried with the same key.
"""

import hashlib
import json
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework.request import Request
from rest_framework.response import Response

from bookstore.errors import ApplicationError, field_error

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
LIFETIME = timedelta(hours=24)
# A claim with no response after this long belongs to a request that died: it may be taken over.
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


def _claim(*, user: Any, scope: str, key: str, request_hash: str) -> tuple[bool, IdempotencyKey]:
    """Our new claim, or the existing live record for this key."""
    now = timezone.now()
    while True:
        try:
            with transaction.atomic():
                return True, IdempotencyKey.objects.create(
                    user=user, scope=scope, key=key, request_hash=request_hash, created_at=now
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user=user, scope=scope, key=key).first()
            if existing is None:
                continue  # the other claim was released meanwhile
            stale = existing.created_at < now - LIFETIME or (
                existing.status_code is None and existing.created_at < now - ABANDONED_AFTER
            )
            if stale:
                IdempotencyKey.objects.filter(pk=existing.pk).delete()
                continue
            return False, existing


def _await_response(record: IdempotencyKey) -> IdempotencyKey | None:
    deadline = time.monotonic() + WAIT_SECONDS
    current: IdempotencyKey | None = record
    while current is not None and current.status_code is None and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        current = IdempotencyKey.objects.filter(pk=current.pk).first()
    return current


def idempotent(request: Request, *, scope: str, handler: Callable[[], Response]) -> Response:
    """Run `handler()` (which returns a DRF Response) at most once per Idempotency-Key."""
    key = request.headers.get(HEADER)
    if key is None:
        return handler()
    _validate(key)
    request_hash = _request_hash(request.data)
    while True:
        claimed, record = _claim(user=request.user, scope=scope, key=key, request_hash=request_hash)
        if claimed:
            break
        if record.request_hash != request_hash:
            raise ApplicationError(
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request body.",
            )
        first = _await_response(record)
        if first is None:
            continue  # the first request failed and released its claim: this one may run
        if first.status_code is None:
            raise ApplicationError(
                "request_in_progress",
                "A request with this Idempotency-Key is still being processed; retry shortly.",
            )
        response = Response(first.response_body, status=first.status_code)
        response["Idempotent-Replayed"] = "true"
        return response

    try:
        response = handler()
    except BaseException:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
        raise
    if 200 <= response.status_code < 300:
        IdempotencyKey.objects.filter(pk=record.pk).update(
            status_code=response.status_code, response_body=response.data
        )
    else:
        IdempotencyKey.objects.filter(pk=record.pk).delete()
    return response
