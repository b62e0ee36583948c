"""The only module that talks to Stripe. Every call sends an idempotency key where Stripe takes
one, and every Stripe failure leaves here as one of two exceptions: `CardDeclined` (the customer
can try another card) or an ApplicationError `payment_provider_error` (Stripe could not be
reached or refused the request)."""

import logging
from types import TracebackType
from typing import Any, Literal

import stripe
from django.conf import settings

from bookstore.errors import ApplicationError

logger = logging.getLogger(__name__)


class CardDeclined(Exception):
    def __init__(self, *, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def configure() -> None:
    """Called once at start-up: the API address, timeouts and retries for every call."""
    stripe.api_base = settings.STRIPE_API_BASE or stripe.DEFAULT_API_BASE
    stripe.max_network_retries = 2
    stripe.default_http_client = stripe.new_default_http_client(timeout=settings.STRIPE_TIMEOUT)


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
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
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


def customer_delete(*, customer_id: str) -> stripe.Customer:
    """Delete a Stripe Customer (its email and saved cards); its payments stay at Stripe."""
    with _stripe_errors("delete the customer"):
        return stripe.Customer.delete(customer_id, **_options())


def payment_intent_create(
    *, amount: int, currency: str, customer_id: str, order_id: int, idempotency_key: str
) -> stripe.PaymentIntent:
    with _stripe_errors("start the payment"):
        return stripe.PaymentIntent.create(
            amount=amount,
            currency=currency,
            customer=customer_id,
            payment_method_types=["card"],
            metadata={"order_id": str(order_id)},
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
        stripe.PaymentIntent.modify(intent_id, payment_method=payment_method, **_options())
        return stripe.PaymentIntent.confirm(intent_id, **_options())


def payment_intent_retrieve(*, intent_id: str) -> stripe.PaymentIntent:
    with _stripe_errors("look up the payment"):
        return stripe.PaymentIntent.retrieve(intent_id, **_options())


def refund_create(
    *, intent_id: str, amount: int, idempotency_key: str, reason: str
) -> stripe.Refund:
    with _stripe_errors("refund the payment"):
        return stripe.Refund.create(
            payment_intent=intent_id,
            amount=amount,
            metadata={"reason": reason[:500]},
            **_options(idempotency_key),
        )


def payment_intent_cancel(*, intent_id: str) -> stripe.PaymentIntent:
    with _stripe_errors("cancel the payment"):
        return stripe.PaymentIntent.cancel(intent_id, **_options())
