"""Paying for orders. Stripe is the source of truth for money: webhooks (and reconciliation,
for webhooks that never came) apply a PaymentIntent's state through `payment_intent_apply`,
which is idempotent and does not care in which order events arrive.

Lock order: the order, then the payment (the orders services then lock books).
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from djstripe import models as djstripe_models

from accounts.models import User
from core.errors import ApplicationError, field_error, not_found
from core.money import amount_is_exact, amount_quantum, from_minor_units, to_minor_units
from orders import services as order_services
from orders.models import (
    PAID_STATUSES,
    STRIPE,
    Order,
    OrderEventKind,
    OrderStatus,
    Return,
    ReturnStatus,
)
from orders.services import PaymentOutcome

from . import gateway, notifications, selectors
from .models import (
    CAPTURED_STATUSES,
    CONFIRMABLE_STATUSES,
    OPEN_STATUSES,
    REFUNDABLE_STATUSES,
    UNDONE_REFUND_STATUSES,
    Dispute,
    DisputeOutcome,
    Payment,
    PaymentStatus,
    Refund,
    StripeCustomer,
)

logger = logging.getLogger(__name__)


def _check_payable(order: Order) -> None:
    if order.status != OrderStatus.PENDING:
        raise ApplicationError(
            "order_not_payable", f"Order {order.number} is {order.status}; it cannot be paid."
        )
    if order.hold_lapsed:
        raise ApplicationError(
            "order_expired",
            f"The hold on order {order.number} has expired; please place the order again.",
        )


def _stripe_customer_id(user: User) -> str:
    customer = StripeCustomer.objects.filter(user=user).first()
    if customer is None:
        stripe_customer = gateway.customer_create(email=user.email, user_id=user.pk)
        customer, _ = StripeCustomer.objects.get_or_create(
            user=user, defaults={"stripe_id": stripe_customer.id}
        )
    return customer.stripe_id


def _payable_order(*, user: User, order_id: int) -> tuple[Order, Payment | None]:
    """The order, locked and checked; or its still-open payment if it has one."""
    order = Order.objects.select_for_update().filter(pk=order_id, user=user).first()
    if order is None:
        raise not_found()
    _check_payable(order)
    return order, order.payments.filter(status__in=OPEN_STATUSES).first()


def payment_start(*, user: User, order_id: int) -> tuple[Payment, bool]:
    """Start paying an order: a PaymentIntent for the order's total and a SetupIntent for the
    card form. Returns (payment, created); an order's still-open payment is returned as is.

    Stripe is called with no lock held, so a slow Stripe blocks nobody else. Two clicks on
    "pay" still make one payment: both send Stripe the same idempotency keys (the order's
    token and its attempt number), so Stripe answers both with the same PaymentIntent, and the
    second to lock the order again finds the first one's payment and returns it.
    """
    with transaction.atomic():
        order, existing = _payable_order(user=user, order_id=order_id)
        if existing:
            return existing, False
        attempt = order.payments.count() + 1

    customer_id = _stripe_customer_id(user)
    intent = gateway.payment_intent_create(
        amount=to_minor_units(order.total, order.currency),
        currency=order.currency,
        customer_id=customer_id,
        order_id=order.pk,
        order_number=order.number,
        shipping=gateway.stripe_shipping(order.shipping_address),
        idempotency_key=f"bookstore-payment-{order.payment_token}-{attempt}",
    )
    setup = gateway.setup_intent_create(
        customer_id=customer_id,
        idempotency_key=f"bookstore-setup-{order.payment_token}-{attempt}",
    )

    with transaction.atomic():
        # The hold may have lapsed meanwhile: the intent is then never confirmed (nobody got
        # its secret), which at Stripe costs nothing.
        order, existing = _payable_order(user=user, order_id=order_id)
        if existing:
            return existing, False
        payment = Payment.objects.create(
            order=order,
            token=uuid.uuid4(),
            amount=order.total,
            currency=order.currency,
            stripe_payment_intent_id=intent.id,
            stripe_client_secret=intent.client_secret or "",
            stripe_setup_intent_id=setup.id,
            stripe_setup_client_secret=setup.client_secret or "",
            stripe_customer_id=customer_id,
        )
    return payment, True


class _ConfirmLock:
    """On PostgreSQL, a session advisory lock per payment while its card is being confirmed
    at Stripe, so that a second confirm of the same payment (a double click, two tabs) is
    told so at once instead of racing the first one at Stripe. It belongs to the connection:
    a process that dies drops it. Other databases (SQLite in development) go without."""

    def __init__(self, payment_id: int) -> None:
        digest = hashlib.sha256(f"payment-confirm:{payment_id}".encode()).digest()
        self.id = int.from_bytes(digest[:8], "big", signed=True)
        self.supported = connection.vendor == "postgresql"
        self.held = False

    def __enter__(self) -> bool:
        if self.supported:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [self.id])
                self.held = bool(cursor.fetchone()[0])
            return self.held
        return True

    def __exit__(self, *exc_info: object) -> None:
        if self.held:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.id])


def payment_confirm(*, payment: Payment, payment_method: str) -> tuple[Payment, str]:
    """Attach the customer's card to the PaymentIntent and confirm it.

    Returns (payment, next_step): "succeeded" (the payment and its order are then already
    succeeded and paid, through the same `payment_intent_apply` as the webhook, so a lost
    webhook costs nothing), "requires_action" (3-D Secure in the browser) or "processing"
    (settled later by the webhook, or by reconciliation after a minute). A decline is recorded
    on the payment and raised as payment_failed; the customer may retry while the hold lasts.
    A confirm of a payment that another request is confirming right now is refused with
    payment_in_progress.
    """
    with _ConfirmLock(payment.pk) as confirming_alone:
        if not confirming_alone:
            logger.warning("Payment %s is already being confirmed; refused a second", payment.pk)
            raise ApplicationError(
                "payment_in_progress",
                "This payment is being confirmed by another request; check its status shortly.",
                extra={"payment": payment.pk},
            )
        return _confirm(payment=payment, payment_method=payment_method)


def _confirm(*, payment: Payment, payment_method: str) -> tuple[Payment, str]:
    with transaction.atomic():
        # The order first (this module's lock order): a cancel under way holds it until it
        # commits, and a confirm after it then sees the order cancelled instead of charging.
        order = Order.objects.select_for_update().get(pk=payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        payment.order = order
        if payment.status not in CONFIRMABLE_STATUSES:
            raise ApplicationError(
                "order_not_payable", f"This payment is {payment.status}; it cannot be confirmed."
            )
        _check_payable(order)

    try:
        intent = gateway.payment_intent_confirm(
            intent_id=payment.stripe_payment_intent_id, payment_method=payment_method
        )
    except gateway.CardDeclined as declined:
        _record_failure(payment, code=declined.code, message=declined.message)
        raise ApplicationError(
            "payment_failed",
            f"The card was declined ({declined.code}): {declined.message}",
            extra={"decline_code": declined.code, "payment": payment.pk},
        ) from None

    if intent.status == "succeeded":
        applied = payment_intent_apply(intent=intent.to_dict())
        return (applied or payment), intent.status
    with transaction.atomic():
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.status in CONFIRMABLE_STATUSES and intent.status == "processing":
            payment.status = PaymentStatus.PROCESSING
            payment.last_error_code = payment.last_error_message = ""
            payment.save(
                update_fields=["status", "last_error_code", "last_error_message", "updated_at"]
            )
    return payment, intent.status


def payments_check_none_in_flight(*, order: Order) -> None:
    """Refuse to let a pending order be cancelled while one of its payments is in flight:
    confirmed and not yet settled at Stripe ("processing"), or being confirmed right now.
    Cancelling then would charge the customer and refund them moments later."""
    for payment in order.payments.filter(status__in=OPEN_STATUSES):
        if payment.status == PaymentStatus.PROCESSING:
            in_flight = True
        else:
            with _ConfirmLock(payment.pk) as confirming_alone:
                in_flight = not confirming_alone
        if in_flight:
            raise ApplicationError(
                "payment_in_progress",
                f"A payment for order {order.number} is being processed; it cannot be cancelled "
                "now. If the payment fails, cancel again; if it succeeds, ask for a refund.",
                extra={"payment": payment.pk},
            )


@transaction.atomic
def _record_failure(payment: Payment, *, code: str, message: str) -> Payment:
    payment = Payment.objects.select_for_update().select_related("order").get(pk=payment.pk)
    if payment.status in OPEN_STATUSES:
        if payment.status != PaymentStatus.FAILED:
            # One email per payment that goes wrong: the same decline seen again by the
            # webhook, or the customer retrying on the page, sends nothing more.
            notifications.payment_failed(
                order=payment.order,
                attempt_key=f"{payment.pk}-{uuid.uuid4().hex[:12]}",
                reason=message or code,
            )
        payment.status = PaymentStatus.FAILED
        payment.last_error_code = (code or "")[:100]
        payment.last_error_message = (message or "")[:500]
        payment.save(
            update_fields=["status", "last_error_code", "last_error_message", "updated_at"]
        )
    return payment


def _locked_after_its_order(payment: Payment) -> Payment:
    """`payment` read again, locked after its order: this module's lock order (the order, then
    the payment), which the orders app's services keep too. Webhooks, staff refunds and returns
    that locked the same two rows the other way round could deadlock. The caller's transaction
    holds the locks."""
    Order.objects.select_for_update().filter(pk=payment.order_id).first()
    return Payment.objects.select_for_update().select_related("order").get(pk=payment.pk)


def _first_locked(payments: QuerySet[Payment]) -> Payment | None:
    payment = payments.order_by("pk").first()
    return None if payment is None else _locked_after_its_order(payment)


@transaction.atomic
def payment_intent_apply(*, intent: dict[str, Any]) -> Payment | None:
    """Bring our payment (and its order) in line with a PaymentIntent from Stripe.

    `intent` is the PaymentIntent as a dict (a webhook event's object, or a fresh retrieve).
    Safe to call any number of times and in any order: money that arrived is final.
    """
    payment = _first_locked(Payment.objects.filter(stripe_payment_intent_id=intent["id"]))
    if payment is None:
        logger.warning("PaymentIntent %s belongs to no payment of ours; ignored", intent["id"])
        return None
    status = intent.get("status")
    if status == "succeeded":
        _apply_success(payment, intent)
    elif payment.status in CAPTURED_STATUSES:
        logger.info("Payment %s already captured; %s ignored", payment.pk, status)
    elif status == "requires_payment_method" and intent.get("last_payment_error"):
        error = intent["last_payment_error"]
        _record_failure(
            payment,
            code=error.get("decline_code") or error.get("code") or "payment_failed",
            message=error.get("message") or "The payment failed.",
        )
    elif status == "canceled":
        payment.status = PaymentStatus.CANCELED
        payment.save(update_fields=["status", "updated_at"])
    elif status == "processing":
        payment.status = PaymentStatus.PROCESSING
        payment.save(update_fields=["status", "updated_at"])
    return payment


def payment_intent_refresh(*, intent_id: str) -> Payment | None:
    """Apply the PaymentIntent `intent_id` as Stripe's API returns it now."""
    intent = gateway.payment_intent_retrieve(intent_id=intent_id).to_dict()
    return payment_intent_apply(intent=intent)


def payment_refresh_unsettled(*, payment: Payment) -> Payment:
    """`payment` brought in line with Stripe if it is not settled yet (the pay page's result
    after 3-D Secure, before the webhook): applied like a webhook, so a succeeded payment shows
    its order paid at once. When Stripe does not answer, the payment is left as it was."""
    if payment.status not in (PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.PROCESSING):
        return payment
    try:
        refreshed = payment_intent_refresh(intent_id=payment.stripe_payment_intent_id)
    except ApplicationError:
        return payment
    return refreshed or payment


def refund_ids_of_charge(charge: dict[str, Any]) -> list[str]:
    return [refund["id"] for refund in (charge.get("refunds") or {}).get("data", [])]


def refunds_refresh(*, refund_ids: list[str]) -> None:
    """Apply each refund as Stripe's API returns it now."""
    for refund_id in refund_ids:
        refund_apply(refund=gateway.refund_retrieve(refund_id=refund_id).to_dict())


def _mismatch(payment: Payment, intent: dict[str, Any]) -> str:
    problems = []
    if intent.get("amount") != to_minor_units(payment.amount, payment.currency):
        problems.append(f"amount {intent.get('amount')} != {payment.amount}")
    if (intent.get("currency") or "").lower() != payment.currency.lower():
        problems.append(f"currency {intent.get('currency')} != {payment.currency}")
    if (intent.get("metadata") or {}).get("order_id") != str(payment.order_id):
        problems.append(
            f"order {(intent.get('metadata') or {}).get('order_id')} != {payment.order_id}"
        )
    return "; ".join(problems)


def _apply_success(payment: Payment, intent: dict[str, Any]) -> None:
    if payment.status in CAPTURED_STATUSES:
        return
    mismatch = _mismatch(payment, intent)
    if mismatch:
        logger.error(
            "PaymentIntent %s does not match payment %s: %s; order not marked paid",
            intent["id"],
            payment.pk,
            mismatch,
        )
        payment.last_error_code = "mismatch"
        payment.last_error_message = mismatch[:500]
        payment.save(update_fields=["last_error_code", "last_error_message", "updated_at"])
        return

    paid_by_another = (
        Payment.objects.filter(order=payment.order_id, status__in=CAPTURED_STATUSES)
        .exclude(pk=payment.pk)
        .exists()
    )
    payment.status = PaymentStatus.SUCCEEDED
    payment.last_error_code = payment.last_error_message = ""
    payment.save(update_fields=["status", "last_error_code", "last_error_message", "updated_at"])
    if paid_by_another:
        _refund(
            payment, amount=payment.amount, automatic=True, reason="The order was already paid."
        )
        return
    outcome, order = order_services.order_mark_paid(
        order_id=payment.order_id, note=f"PaymentIntent {intent['id']}", reference=intent["id"]
    )
    if outcome is PaymentOutcome.NOT_PAYABLE:
        logger.warning(
            "Order %s was %s when its money arrived: refunding", order.number, order.status
        )
        _refund(
            payment,
            amount=payment.amount,
            automatic=True,
            reason=f"The order was {order.status} before the payment arrived.",
        )


def _refund(
    payment: Payment,
    *,
    amount: Decimal,
    automatic: bool = False,
    actor: User | None = None,
    reason: str = "",
    order_return: Return | None = None,
) -> Refund:
    """Refund `amount` of a locked, captured payment at Stripe and record it. A return's
    refund has its own idempotency key: a retry after a crash gets Stripe's first refund back."""
    if Order.objects.filter(pk=payment.order_id, disputed=True).exists():
        # Stripe refuses to refund a disputed charge; the bank decides where the money goes.
        raise ApplicationError(
            "order_disputed",
            "The order's payment is disputed: nothing can be refunded until staff clear the "
            "dispute.",
        )
    if order_return is not None:
        idempotency_key = f"bookstore-return-refund-{order_return.number}"
    else:
        idempotency_key = f"bookstore-refund-{payment.token}-{payment.refunds.count() + 1}"
    stripe_refund = gateway.refund_create(
        intent_id=payment.stripe_payment_intent_id,
        amount=to_minor_units(amount, payment.currency),
        idempotency_key=idempotency_key,
        reason=reason,
    )
    refund = Refund.objects.create(
        payment=payment,
        amount=amount,
        stripe_refund_id=stripe_refund.id,
        status=_refund_status(stripe_refund.status),
        reason=reason[:255],
        automatic=automatic,
        created_by=actor,
        order_return=order_return,
    )
    # A return's refund is told in the return's own email.
    _record_refund(
        payment,
        refund,
        actor=actor,
        settle_order=not automatic,
        notify=order_return is None,
    )
    return refund


def _refund_undone(payment: Payment, refund: Refund, *, reason: str) -> None:
    """A refund the bank could not deliver (a closed card) or that was canceled: the payment
    counts the money as kept again, and staff are told, on the timeline and by email, to settle
    it with the customer (the order, a return's status, stay as they were)."""
    payment.amount_refunded = max(payment.amount_refunded - refund.amount, Decimal("0"))
    payment.status = (
        PaymentStatus.PARTIALLY_REFUNDED if payment.amount_refunded else PaymentStatus.SUCCEEDED
    )
    payment.save(update_fields=["amount_refunded", "status", "updated_at"])
    note = f"{refund.amount} {payment.currency.upper()} not refunded: {reason}"
    payment.order.record(OrderEventKind.REFUND_FAILED, actor_label=STRIPE, note=note)
    notifications.refund_failed(order=payment.order, refund=refund, reason=reason)


def _refund_status(stripe_status: str | None) -> str:
    return stripe_status if stripe_status in Refund.Status.values else Refund.Status.PENDING


def _record_refund(
    payment: Payment,
    refund: Refund,
    *,
    actor: User | None = None,
    settle_order: bool = True,
    notify: bool = True,
) -> None:
    """Count a refund on its (locked) payment, refund the order once all the money went back,
    and email the customer."""
    payment.amount_refunded += refund.amount
    # What a lost dispute took back went to the cardholder too: nothing is left to refund.
    fully = payment.amount_refunded + payment.amount_lost >= payment.amount
    payment.status = PaymentStatus.REFUNDED if fully else PaymentStatus.PARTIALLY_REFUNDED
    payment.save(update_fields=["amount_refunded", "status", "updated_at"])
    order = Order.objects.get(pk=payment.order_id)
    if fully and settle_order and order.status in PAID_STATUSES:
        order_services.order_refund(
            order_id=order.pk,
            actor=actor,
            actor_label=None if actor else STRIPE,
            note=f"Refunded {payment.amount_refunded} {payment.currency.upper()}",
        )
    if notify:
        notifications.refund_issued(
            order=order,
            refund_key=refund.stripe_refund_id,
            amount=refund.amount,
            automatic=refund.automatic,
        )


@transaction.atomic
def payment_refund(*, payment: Payment, actor: User, amount: Decimal | None = None) -> Refund:
    """Staff refund a captured payment, in full (default) or in part. The order is locked
    first, then the payment (this module's lock order), as a return's refund locks them: the
    two together never send back more than was paid."""
    payment = _locked_after_its_order(payment)
    if payment.status not in REFUNDABLE_STATUSES:
        raise ApplicationError(
            "invalid_status_transition", f"A {payment.status} payment cannot be refunded."
        )
    amount = payment.refundable_amount if amount is None else amount
    if not amount_is_exact(amount, payment.currency):
        step = amount_quantum(payment.currency)
        raise field_error(
            "amount",
            "invalid_precision",
            f"Amounts in {payment.currency.upper()} are whole multiples of {step}.",
        )
    if not 0 < amount <= payment.refundable_amount:
        message = f"The amount must be more than 0 and at most {payment.refundable_amount}."
        raise ApplicationError(
            "validation_error",
            message,
            errors=[{"field": "amount", "code": "out_of_range", "message": message}],
        )
    return _refund(payment, amount=amount, actor=actor, reason=f"Refunded by {actor.email}")


@transaction.atomic
def return_refund(*, order_return: Return, actor: User) -> Return:
    """Send back a received return's `refund_amount` at Stripe, exactly once: a retry of a
    refunded return answers it as it is. The order, the return and the payment are locked (in
    that order, as staff refunds lock them), and the refund must fit in what the payment has
    left, so a return's refund and staff refunds never exceed what was paid."""
    order_return = order_services.return_lock_for_refund(return_id=order_return.pk)
    if order_return.status == ReturnStatus.REFUNDED:
        return order_return
    order_return.check_transition(ReturnStatus.REFUNDED)
    amount = order_return.refund_amount
    payment = (
        Payment.objects.select_for_update()
        .filter(order_id=order_return.order_id, status__in=REFUNDABLE_STATUSES)
        .order_by("pk")
        .first()
    )
    if amount > 0 and (payment is None or amount > payment.refundable_amount):
        left = payment.refundable_amount if payment else Decimal("0.00")
        raise ApplicationError(
            "return_not_allowed",
            f"Return {order_return.number} is worth {amount} "
            f"{order_return.order.currency.upper()}, but only {left} of the payment is left to "
            "refund (staff refunded the rest).",
            extra={"refund_amount": str(amount), "refundable_amount": str(left)},
        )
    reference = ""
    order_services.return_mark_refunded(order_return=order_return, actor=actor)
    if amount > 0 and payment is not None:
        refund = _refund(
            payment,
            amount=amount,
            actor=actor,
            reason=f"Return {order_return.number}",
            order_return=order_return,
        )
        reference = refund.stripe_refund_id
    logger.info("Return %s refunded %s (%s)", order_return.number, amount, reference or "nothing")
    return order_return


@transaction.atomic
def order_refund_in_full(*, order: Order, actor: User) -> Refund:
    """Staff refund an order: its refundable payment, in full (the admin's Refund action)."""
    payment = selectors.order_refundable_payment(order=order)
    if payment is None:
        raise ApplicationError(
            "invalid_status_transition", f"Order {order.number} has no captured payment to refund."
        )
    return payment_refund(payment=payment, actor=actor)


@transaction.atomic
def refund_apply(*, refund: dict[str, Any]) -> Refund | None:
    """A refund seen at Stripe (refund.* or charge.refunded): update ours, or record one made
    elsewhere (the Stripe dashboard)."""
    known = Refund.objects.filter(stripe_refund_id=refund["id"]).select_related("payment").first()
    if known:
        status = _refund_status(refund.get("status"))
        if known.status == status:
            return known
        refunded = _locked_after_its_order(known.payment)
        ours = Refund.objects.select_for_update().get(pk=known.pk)
        # Failed and canceled are final at Stripe: a different answer after one is an older
        # copy of the refund, read before it (webhooks of one refund are applied concurrently).
        if ours.status in UNDONE_REFUND_STATUSES or ours.status == status:
            return ours
        ours.status = status
        ours.save(update_fields=["status"])
        if status in UNDONE_REFUND_STATUSES:
            _refund_undone(refunded, ours, reason=refund.get("failure_reason") or status)
        return ours
    payment = _first_locked(
        Payment.objects.filter(stripe_payment_intent_id=refund.get("payment_intent"))
    )
    if payment is None or refund.get("status") in UNDONE_REFUND_STATUSES:
        return None
    amount = min(from_minor_units(refund["amount"], payment.currency), payment.refundable_amount)
    if amount <= 0:
        return None
    ours = Refund.objects.create(
        payment=payment,
        amount=amount,
        stripe_refund_id=refund["id"],
        status=_refund_status(refund.get("status")),
        reason="Refunded at Stripe",
    )
    _record_refund(payment, ours)
    return ours


@dataclass(frozen=True)
class ReconcileResult:
    checked: int
    failed: list[int]  # ids of the payments that could not be reconciled this time


def payments_reconcile(
    *, older_than: datetime, processing_since_before: datetime | None = None
) -> ReconcileResult:
    """Ask Stripe about payments still open since before `older_than`, and about payments
    confirmed but not yet settled ("processing") since before `processing_since_before`, and
    apply what it says through the same service as the webhooks (this recovers lost webhooks).
    An open payment whose order can no longer be paid is canceled at Stripe.

    One payment that fails (Stripe down, or an intent Stripe does not know) is logged with its
    id and skipped: the others are still checked."""
    stale = Payment.objects.filter(status__in=OPEN_STATUSES, created_at__lt=older_than)
    if processing_since_before is not None:
        stale = stale | Payment.objects.filter(
            status=PaymentStatus.PROCESSING, updated_at__lt=processing_since_before
        )
    checked, failed = 0, []
    for payment_id, intent_id in list(
        stale.order_by("created_at", "pk").values_list("pk", "stripe_payment_intent_id")
    ):
        try:
            _payment_reconcile(intent_id)
        except Exception:  # one payment must not keep the others from being reconciled
            logger.exception(
                "Could not reconcile payment %s (PaymentIntent %s)", payment_id, intent_id
            )
            failed.append(payment_id)
        else:
            checked += 1
    return ReconcileResult(checked=checked, failed=failed)


def _payment_reconcile(intent_id: str) -> None:
    intent = gateway.payment_intent_retrieve(intent_id=intent_id).to_dict()
    payment = payment_intent_apply(intent=intent)
    if payment is None:  # the payment row was read just before: never, in practice
        return
    if payment.status in OPEN_STATUSES and payment.order.status != OrderStatus.PENDING:
        if intent["status"] not in ("canceled", "succeeded"):
            intent = gateway.payment_intent_cancel(intent_id=intent_id).to_dict()
        payment_intent_apply(intent=intent)


@transaction.atomic
def payments_account_closing(*, user: User) -> None:
    """The customer's account closes: their Stripe Customer (which holds the email address and
    saved cards) is deleted at Stripe after commit, and the shop's own copies of Stripe objects
    lose the person in them (`stripe_records_scrub`). Payments keep their Stripe ids and amounts
    for the books."""
    customer = StripeCustomer.objects.filter(user=user).first()
    payments = Payment.objects.filter(order__user=user)
    customer_ids = {customer.stripe_id} if customer else set()
    customer_ids |= set(
        payments.exclude(stripe_customer_id="").values_list("stripe_customer_id", flat=True)
    )
    stripe_records_scrub(
        customer_ids=sorted(customer_ids),
        intent_ids=list(payments.values_list("stripe_payment_intent_id", flat=True)),
    )
    if customer is None:
        return
    stripe_id = customer.stripe_id
    customer.delete()

    def forget_at_stripe() -> None:
        try:
            gateway.customer_delete(customer_id=stripe_id)
        except ApplicationError:
            logger.warning("Stripe customer %s of a closed account is left at Stripe", stripe_id)

    transaction.on_commit(forget_at_stripe)


@transaction.atomic
def stripe_customer_deleted(*, customer_id: str) -> None:
    """Stripe says a Customer is gone (our own account closing, or deleted in Stripe's
    dashboard): forget it here too, without asking Stripe about it (a deleted customer cannot be
    fetched, which made dj-stripe's own handling of the event fail on every delivery)."""
    StripeCustomer.objects.filter(stripe_id=customer_id).delete()
    # dj-stripe's copy, if it has one, is marked purged as its own handler would.
    djstripe_models.Customer.objects.filter(id=customer_id, date_purged__isnull=True).update(
        subscriber=None, date_purged=timezone.now()
    )


# Where Stripe objects name a person: the customer's email, name and phone, and the addresses
# (shipping, billing details), at any depth.
STRIPE_PERSONAL_KEYS = frozenset(
    {
        "address",
        "billing_details",
        "customer_address",
        "customer_email",
        "customer_name",
        "customer_phone",
        "customer_shipping",
        "email",
        "name",
        "phone",
        "receipt_email",
        "shipping",
    }
)


def _stripe_data_scrubbed(data: Any) -> Any:
    if isinstance(data, dict):
        return {
            key: None if key in STRIPE_PERSONAL_KEYS else _stripe_data_scrubbed(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [_stripe_data_scrubbed(value) for value in data]
    return data


def stripe_records_scrub(*, customer_ids: list[str], intent_ids: list[str]) -> None:
    """Remove the person from dj-stripe's copies of these Customers and PaymentIntents and of
    what hangs off them (charges, payment methods, the events about them, the webhook requests
    that brought those events). Amounts, statuses and ids stay: the metrics and the books read
    them."""
    customers = djstripe_models.Customer.objects.filter(id__in=customer_ids)
    intents = djstripe_models.PaymentIntent.objects.filter(id__in=intent_ids)
    charges = djstripe_models.Charge.objects.filter(payment_intent__id__in=intent_ids)
    methods = djstripe_models.PaymentMethod.objects.filter(
        Q(customer__id__in=customer_ids) | Q(id__in=intents.values("payment_method"))
    )
    object_ids = [*customer_ids, *intent_ids, *charges.values_list("id", flat=True)]
    events = djstripe_models.Event.objects.filter(
        Q(data__object__id__in=object_ids)
        | Q(data__object__payment_intent__in=intent_ids)
        | Q(data__object__customer__in=customer_ids)
    )
    for queryset in (customers, intents, charges, methods):
        for pk, stripe_data in list(queryset.values_list("pk", "stripe_data")):
            queryset.model.objects.filter(pk=pk).update(
                stripe_data=_stripe_data_scrubbed(stripe_data)
            )
    customers.update(email="")
    for pk, data, stripe_data in list(events.values_list("pk", "data", "stripe_data")):
        djstripe_models.Event.objects.filter(pk=pk).update(
            data=_stripe_data_scrubbed(data), stripe_data=_stripe_data_scrubbed(stripe_data)
        )
    # The raw request bodies of those events (kept WEBHOOK_RETENTION_DAYS for debugging).
    djstripe_models.WebhookEventTrigger.objects.filter(event__in=events).update(body="")


def _ids_in(stripe_object: dict[str, Any]) -> set[str]:
    """The object's own id and the ids of the intent and customer it names (ids or expanded)."""
    found = set()
    for key in ("id", "payment_intent", "customer"):
        value = stripe_object.get(key)
        value = value.get("id") if isinstance(value, dict) else value
        if isinstance(value, str) and value:
            found.add(value)
    return found


def closed_account_webhook_scrub(*, trigger: djstripe_models.WebhookEventTrigger) -> None:
    """Stripe keeps sending webhooks about a closed account's payments (a late one, a refund
    later on), and dj-stripe stores its copies again: they lose the person as closing left
    them, and so does the request body dj-stripe keeps (saved after this runs, whether the
    event was applied or failed). The ids come from that body, the one thing kept either way."""
    try:
        event = json.loads(trigger.body)
    except ValueError:
        return
    stripe_object = ((event if isinstance(event, dict) else {}).get("data") or {}).get("object")
    ids = _ids_in(stripe_object if isinstance(stripe_object, dict) else {})
    if not ids:
        return
    payments = list(
        Payment.objects.filter(order__user__closed_at__isnull=False)
        .filter(Q(stripe_payment_intent_id__in=ids) | Q(stripe_customer_id__in=ids))
        .values_list("stripe_payment_intent_id", "stripe_customer_id")
    )
    if not payments:
        return
    stripe_records_scrub(
        customer_ids=sorted({customer for _, customer in payments if customer}),
        intent_ids=sorted({intent for intent, _ in payments}),
    )
    trigger.body = ""


# --- Disputes ---------------------------------------------------------------------------------

# Stripe's statuses of a dispute that is over. An inquiry that closed without becoming a
# chargeback (warning_closed), one the card network prevented, and one ended by a refund
# (charge_refunded) took nothing from the payment: they close as won, and lift the hold.
DISPUTE_CLOSED_STATUSES = {
    "won": DisputeOutcome.WON,
    "lost": DisputeOutcome.LOST,
    "warning_closed": DisputeOutcome.WON,
    "prevented": DisputeOutcome.WON,
    "charge_refunded": DisputeOutcome.WON,
}


def dispute_refresh(*, dispute_id: str) -> Dispute | None:
    """A charge.dispute.* event: apply the dispute as Stripe's API returns it."""
    return dispute_apply(dispute=gateway.dispute_retrieve(dispute_id=dispute_id).to_dict())


def _dispute_payment(dispute: dict[str, Any]) -> Payment | None:
    intent_id = dispute.get("payment_intent")
    if isinstance(intent_id, dict):
        intent_id = intent_id.get("id")
    return Payment.objects.filter(stripe_payment_intent_id=intent_id).first() if intent_id else None


def _timestamp(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), tz=UTC) if value else None


@transaction.atomic
def dispute_apply(*, dispute: dict[str, Any]) -> Dispute | None:
    """Record a dispute as Stripe states it. Idempotent and order-independent: a new dispute
    holds the order and tells the staff; each change of its status goes on the order's
    timeline once; closed as lost, its amount is shown as lost on the payment (the stock is not
    touched). A dispute of a payment that is not ours is ignored (None)."""
    payment = _dispute_payment(dispute)
    if payment is None:
        logger.warning("Dispute %s is about no payment of ours", dispute.get("id"))
        return None
    payment = _locked_after_its_order(payment)
    status = str(dispute.get("status") or "")
    evidence = dispute.get("evidence_details") or {}
    amount = from_minor_units(int(dispute.get("amount") or 0), payment.currency)
    ours, created = Dispute.objects.select_for_update().get_or_create(
        stripe_dispute_id=dispute["id"],
        defaults={
            "payment": payment,
            "amount": amount,
            "currency": str(dispute.get("currency") or payment.currency),
            "reason": str(dispute.get("reason") or "")[:50],
            "stripe_status": status,
            "evidence_due_by": _timestamp(evidence.get("due_by")),
            "livemode": bool(dispute.get("livemode")),
        },
    )
    if created:
        order, _ = order_services.order_dispute_open(
            order_id=payment.order_id,
            note=f"{ours.stripe_dispute_id}: {ours.reason or 'no reason given'}, "
            f"{ours.amount} {ours.currency.upper()}",
        )
        notifications.dispute_opened(order=order, dispute=ours)
    elif ours.outcome:
        return ours  # closed: Stripe changes nothing after that
    elif status != ours.stripe_status:
        ours.stripe_status = status
        ours.evidence_due_by = _timestamp(evidence.get("due_by")) or ours.evidence_due_by
        ours.save(update_fields=["stripe_status", "evidence_due_by", "updated_at"])
        if status not in DISPUTE_CLOSED_STATUSES:
            order_services.order_dispute_record(
                order_id=payment.order_id,
                kind=OrderEventKind.DISPUTE_UPDATED,
                note=f"{ours.stripe_dispute_id}: {status}",
            )
    outcome = DISPUTE_CLOSED_STATUSES.get(status)
    if outcome and not ours.outcome:
        _dispute_close(ours, payment=payment, outcome=outcome)
    return ours


def _dispute_close(dispute: Dispute, *, payment: Payment, outcome: str) -> None:
    dispute.outcome = outcome
    dispute.closed_at = timezone.now()
    dispute.save(update_fields=["outcome", "closed_at", "updated_at"])
    if outcome == DisputeOutcome.LOST:
        payment.amount_lost += dispute.amount
        payment.save(update_fields=["amount_lost", "updated_at"])
    won = outcome == DisputeOutcome.WON
    result = (
        "the payment stays the shop's"
        if won
        else f"{dispute.amount} {dispute.currency.upper()} lost"
    )
    order_services.order_dispute_record(
        order_id=payment.order_id,
        kind=OrderEventKind.DISPUTE_WON if won else OrderEventKind.DISPUTE_LOST,
        note=f"{dispute.stripe_dispute_id}: {result}",
        others_open=Dispute.objects.filter(payment__order_id=payment.order_id, outcome="")
        .exclude(pk=dispute.pk)
        .exists(),
    )
