import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q


class PaymentStatus(models.TextChoices):
    REQUIRES_PAYMENT = "requires_payment"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


# A payment the customer can still complete (a declined card may be retried).
OPEN_STATUSES = [PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.PROCESSING, PaymentStatus.FAILED]
# A payment whose card may be (re)tried: confirmed with a card on the pay page.
CONFIRMABLE_STATUSES = [PaymentStatus.REQUIRES_PAYMENT, PaymentStatus.FAILED]
# Captured, with money we can still send back.
REFUNDABLE_STATUSES = [PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED]
# Money arrived (and may have gone back, in part or whole).
CAPTURED_STATUSES = [
    PaymentStatus.SUCCEEDED,
    PaymentStatus.PARTIALLY_REFUNDED,
    PaymentStatus.REFUNDED,
]


class StripeCustomer(models.Model):
    """The Stripe Customer of a user, so a saved card can be offered again."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="stripe_customer"
    )
    stripe_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.stripe_id


class Payment(models.Model):
    """One attempt to pay an order, backed by one Stripe PaymentIntent."""

    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="payments")
    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    status = models.CharField(
        max_length=20, choices=PaymentStatus, default=PaymentStatus.REQUIRES_PAYMENT
    )
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    amount_refunded = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    amount_lost = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=0,
        help_text="Taken back by the card holder's bank: disputes the shop lost.",
    )
    stripe_payment_intent_id = models.CharField(max_length=255, unique=True)
    stripe_client_secret = models.CharField(max_length=255)
    stripe_setup_intent_id = models.CharField(max_length=255, blank=True)
    stripe_setup_client_secret = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    last_error_code = models.CharField(max_length=100, blank=True)
    last_error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0) & Q(amount_refunded__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]

    def __str__(self):
        return f"{self.stripe_payment_intent_id} ({self.status})"

    @property
    def refundable_amount(self):
        # What a lost dispute took back is the cardholder's already: never refunded again.
        return max(self.amount - self.amount_refunded - self.amount_lost, 0)


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELED = "canceled"

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    stripe_refund_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    reason = models.CharField(max_length=255, blank=True)
    automatic = models.BooleanField(
        default=False, help_text="Refunded by the shop itself (money for an order it can't fill)."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    order_return = models.OneToOneField(
        "orders.Return",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refund",
        help_text="The return this refund paid back (one refund per return).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self):
        return f"{self.stripe_refund_id}: {self.amount}"


# A refund in these never reached the customer (Stripe's final answers): its money is the
# shop's again.
UNDONE_REFUND_STATUSES = frozenset({Refund.Status.FAILED, Refund.Status.CANCELED})


class DisputeOutcome(models.TextChoices):
    OPEN = "", "Open"
    WON = "won"
    LOST = "lost"


class Dispute(models.Model):
    """A card holder contested a payment (a chargeback), as Stripe last told us."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="disputes")
    stripe_dispute_id = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=50, blank=True)
    stripe_status = models.CharField(max_length=30, help_text="Stripe's status of the dispute.")
    evidence_due_by = models.DateTimeField(
        null=True, blank=True, help_text="Stripe must have the shop's evidence by then."
    )
    livemode = models.BooleanField(default=False)
    outcome = models.CharField(max_length=4, choices=DisputeOutcome, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["outcome", "evidence_due_by"])]

    def __str__(self):
        return f"{self.stripe_dispute_id} ({self.stripe_status})"

    @property
    def dashboard_url(self):
        """The dispute in Stripe's dashboard, where the evidence is sent."""
        mode = "" if self.livemode else "test/"
        return f"https://dashboard.stripe.com/{mode}disputes/{self.stripe_dispute_id}"
