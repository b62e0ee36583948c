"""The only module that talks to Stripe. Every call sends an idempotency key where Stripe takes
one, and every Stripe failure leaves here as one of two exceptions: `CardDeclined` (the customer
can try another card) or an ApplicationError `payment_provider_error` (Stripe could not be
reached or refused the request)."""

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Literal

import stripe
from django.conf import settings

from core.errors import ApplicationError, field_error

logger = logging.getLogger(__name__)


class CardDeclined(Exception):
    def __init__(self, *, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# When the Stripe calls of the current request (or job step) must have finished, in
# time.monotonic() seconds; None outside a budget.
_deadline: ContextVar[float | None] = ContextVar("stripe_deadline", default=None)
# Below this many seconds left, a failed attempt is not retried.
_MIN_SECONDS_FOR_RETRY = 1.0


@contextmanager
def time_budget(seconds: float | None = None) -> Iterator[None]:
    """All Stripe calls inside share `seconds` (STRIPE_REQUEST_BUDGET): each attempt waits at
    most STRIPE_TIMEOUT and never past the budget, and once it is spent the next call fails
    at once as payment_provider_error. Nested budgets keep the outer (earlier) deadline."""
    deadline = time.monotonic() + (settings.STRIPE_REQUEST_BUDGET if seconds is None else seconds)
    outer = _deadline.get()
    token = _deadline.set(deadline if outer is None else min(outer, deadline))
    try:
        yield
    finally:
        _deadline.reset(token)


def _seconds_left() -> float | None:
    deadline = _deadline.get()
    return None if deadline is None else deadline - time.monotonic()


class BudgetedHTTPClient(stripe.RequestsClient):
    """stripe's requests client, with every attempt's timeout cut to what the budget has left
    and no retry once too little is left."""

    name = "requests-budgeted"

    def __init__(self, *, timeout: float, **kwargs: Any) -> None:
        super().__init__(timeout=timeout, **kwargs)
        self._attempt_timeout = timeout

    @property
    def _timeout(self) -> float:
        left = _seconds_left()
        return self._attempt_timeout if left is None else min(self._attempt_timeout, left)

    @_timeout.setter
    def _timeout(self, value: float) -> None:
        self._attempt_timeout = value

    def request(  # type: ignore[override]  # stripe's own base classes disagree
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        post_data: Any = None,
    ) -> tuple[bytes, int, Mapping[str, str]]:
        left = _seconds_left()
        if left is not None and left <= 0:
            raise stripe.APIConnectionError("The time allowed for Stripe calls is spent.")
        return super().request(method, url, headers, post_data)

    def _should_retry(
        self,
        response: Any,
        api_connection_error: Any,
        num_retries: int,
        max_network_retries: int | None,
    ) -> bool:
        left = _seconds_left()
        if left is not None and left < _MIN_SECONDS_FOR_RETRY:
            return False
        return bool(
            super()._should_retry(response, api_connection_error, num_retries, max_network_retries)
        )


def configure() -> None:
    """Called once at start-up: the API address, timeouts and retries for every call."""
    stripe.api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    stripe.max_network_retries = settings.STRIPE_MAX_NETWORK_RETRIES
    stripe.default_http_client = BudgetedHTTPClient(timeout=settings.STRIPE_TIMEOUT)


def _options(idempotency_key: str | None = None) -> dict[str, Any]:
    options: dict[str, Any] = {"api_key": settings.STRIPE_SECRET_KEY}
    if idempotency_key:
        options["idempotency_key"] = idempotency_key
    return options


class _stripe_errors:
    """Turn Stripe's exceptions into ours."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> "_stripe_errors":
        # A call outside any request's budget (a job, the shell) gets one of its own.
        self._budget = time_budget() if _deadline.get() is None else None
        if self._budget:
            self._budget.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if self._budget:
            self._budget.__exit__(exc_type, exc, tb)
        if exc is None:
            return False
        if isinstance(exc, stripe.CardError):
            error = getattr(exc, "error", None)
            code = getattr(error, "decline_code", None) or exc.code or "card_declined"
            raise CardDeclined(code=code, message=exc.user_message or str(exc)) from exc
        if isinstance(exc, stripe.StripeError):
            logger.error("Stripe failed to %s: %s", self.action, exc)
            raise ApplicationError(
                "payment_provider_error",
                f"The payment provider could not {self.action}. Please try again shortly.",
            ) from exc
        return False


def customer_create(*, email: str, user_id: int) -> stripe.Customer:
    with _stripe_errors("create the customer"):
        return stripe.Customer.create(
            email=email,
            metadata={"user_id": str(user_id)},
            **_options(f"bookstore-customer-{user_id}"),
        )


def stripe_shipping(address: dict[str, str] | None) -> dict[str, Any] | None:
    """An order's shipping snapshot as Stripe's `shipping` parameter (which Radar uses)."""
    if not address:
        return None
    shipping: dict[str, Any] = {
        "name": address["full_name"],
        "address": {
            "line1": address["line1"],
            "line2": address.get("line2", ""),
            "city": address["city"],
            "state": address.get("region", ""),
            "postal_code": address.get("postal_code", ""),
            "country": address["country"],
        },
    }
    if address.get("phone"):
        shipping["phone"] = address["phone"]
    return shipping


def customer_delete(*, customer_id: str) -> stripe.Customer:
    """Delete a Stripe Customer (its email and saved cards); its payments stay at Stripe."""
    with _stripe_errors("delete the customer"):
        return stripe.Customer.delete(customer_id, **_options())


def payment_intent_create(
    *,
    amount: int,
    currency: str,
    customer_id: str,
    order_id: int,
    idempotency_key: str,
    order_number: str = "",
    shipping: dict[str, Any] | None = None,
) -> stripe.PaymentIntent:
    metadata = {"order_id": str(order_id)}
    if order_number:
        metadata["order_number"] = order_number
    extra: dict[str, Any] = {"shipping": shipping} if shipping else {}
    with _stripe_errors("start the payment"):
        return stripe.PaymentIntent.create(
            amount=amount,
            currency=currency,
            customer=customer_id,
            payment_method_types=["card"],
            metadata=metadata,
            **extra,
            **_options(idempotency_key),
        )


def setup_intent_create(*, customer_id: str, idempotency_key: str) -> stripe.SetupIntent:
    with _stripe_errors("prepare the card form"):
        return stripe.SetupIntent.create(
            customer=customer_id, payment_method_types=["card"], **_options(idempotency_key)
        )


def payment_intent_confirm(*, intent_id: str, payment_method: str) -> stripe.PaymentIntent:
    """Attach the card, then confirm. (An update followed by a plain confirm works with Stripe
    and with the local test server, which does not take payment_method on confirm.)"""
    with _stripe_errors("confirm the payment"):
        try:
            stripe.PaymentIntent.modify(intent_id, payment_method=payment_method, **_options())
        except stripe.InvalidRequestError as exc:
            # Stripe names the card it does not know (the local test server only says 404):
            # the client sent a card id that is no card, not a provider failure (502).
            if exc.param == "payment_method" or (exc.param is None and exc.http_status == 404):
                raise field_error(
                    "payment_method",
                    "not_found",
                    "No such card: collect it again with Stripe.js and send its new id.",
                ) from exc
            raise
        return stripe.PaymentIntent.confirm(intent_id, **_options())


def payment_intent_retrieve(*, intent_id: str) -> stripe.PaymentIntent:
    with _stripe_errors("look up the payment"):
        return stripe.PaymentIntent.retrieve(intent_id, **_options())


def refund_create(
    *, intent_id: str, amount: int, idempotency_key: str, reason: str
) -> stripe.Refund:
    """Refund `amount` (minor units). Stripe answers a retry with the same key with the refund
    it made the first time."""
    with _stripe_errors("refund the payment"):
        return stripe.Refund.create(
            payment_intent=intent_id,
            amount=amount,
            metadata={"reason": reason[:500]},
            **_options(idempotency_key),
        )


def refund_retrieve(*, refund_id: str) -> stripe.Refund:
    with _stripe_errors("look up the refund"):
        return stripe.Refund.retrieve(refund_id, **_options())


def payment_intent_cancel(*, intent_id: str) -> stripe.PaymentIntent:
    with _stripe_errors("cancel the payment"):
        return stripe.PaymentIntent.cancel(intent_id, **_options())


def dispute_retrieve(*, dispute_id: str) -> stripe.Dispute:
    with _stripe_errors("look up the dispute"):
        return stripe.Dispute.retrieve(dispute_id, **_options())
