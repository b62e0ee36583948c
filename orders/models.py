import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

from bookstore.errors import ApplicationError

MAX_LINE_QUANTITY = 100
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud safely


def new_order_number():
    return "BK-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(8))


def default_hold_expiry():
    return timezone.now() + timedelta(minutes=settings.ORDER_HOLD_MINUTES)


class OrderStatus(models.TextChoices):
    PENDING = "pending"
    PAID = "paid"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


# Paid for, and the money kept: the order is being or has been fulfilled.
PAID_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
# The books left the shop.
SHIPPED_STATUSES = (OrderStatus.SHIPPED, OrderStatus.DELIVERED)
# Closed before any money was taken.
UNPAID_CLOSED_STATUSES = (OrderStatus.CANCELLED, OrderStatus.EXPIRED)
# Orders that still count against a discount code's limits.
REDEEMING_STATUSES = (OrderStatus.PENDING, *PAID_STATUSES, OrderStatus.REFUNDED)

# The order lifecycle (README, "Orders and stock"). Anything else is an invalid_status_transition.
ALLOWED_TRANSITIONS = {
    OrderStatus.PENDING: {OrderStatus.PAID, OrderStatus.CANCELLED, OrderStatus.EXPIRED},
    OrderStatus.PAID: {OrderStatus.SHIPPED, OrderStatus.REFUNDED},
    OrderStatus.SHIPPED: {OrderStatus.DELIVERED, OrderStatus.REFUNDED},
    OrderStatus.DELIVERED: {OrderStatus.REFUNDED},
}

SYSTEM = "system"
STRIPE = "stripe"


class DiscountCode(models.Model):
    class Kind(models.TextChoices):
        PERCENT = "percent"
        FIXED = "fixed"

    code = models.CharField(max_length=40, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.DecimalField(
        max_digits=8, decimal_places=2, help_text="Percent off (1-100), or an amount off."
    )
    is_active = models.BooleanField(default=True)
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    min_subtotal = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    max_redemptions = models.PositiveIntegerField(null=True, blank=True)
    max_per_user = models.PositiveIntegerField(null=True, blank=True)
    times_redeemed = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="discount_code_ci_unique"),
            models.CheckConstraint(condition=Q(value__gt=0), name="discount_value_positive"),
            models.CheckConstraint(
                condition=~Q(kind="percent") | Q(value__lte=100), name="discount_percent_max_100"
            ),
            models.CheckConstraint(
                condition=Q(max_redemptions__isnull=True)
                | Q(times_redeemed__lte=F("max_redemptions")),
                name="discount_redemptions_within_max",
            ),
        ]

    def __str__(self):
        return self.code


class Order(models.Model):
    number = models.CharField(max_length=16, unique=True, default=new_order_number, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        max_length=10, choices=OrderStatus, default=OrderStatus.PENDING, editable=False
    )
    currency = models.CharField(max_length=3)
    subtotal = models.DecimalField(max_digits=10, decimal_places=2)
    discount_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    total = models.DecimalField(max_digits=10, decimal_places=2)
    discount_code = models.ForeignKey(
        DiscountCode, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    hold_expires_at = models.DateTimeField(default=default_hold_expiry)
    payment_token = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="The key in the emailed link that starts paying this order.",
    )
    paid_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "hold_expires_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            models.CheckConstraint(
                condition=Q(total=F("subtotal") - F("discount_amount")), name="order_total_adds_up"
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def hold_lapsed(self):
        return self.status == OrderStatus.PENDING and self.hold_expires_at <= timezone.now()

    @property
    def display_status(self):
        """A pending order read after its hold lapsed is shown as expired, even before
        `expire_orders` has released its stock."""
        return OrderStatus.EXPIRED if self.hold_lapsed else self.status

    @property
    def lines(self):
        return {item.book_id: item.quantity for item in self.items.all()}

    def set_status(self, new_status, *, actor=None, actor_label=None, note=""):
        """The one way to change status: checks the lifecycle and records the event.

        `actor` is the user who made the change; `actor_label` names a non-user ("system",
        "stripe"). The caller holds the row lock and saves within its transaction.
        """
        if new_status not in ALLOWED_TRANSITIONS.get(self.status, set()):
            raise ApplicationError(
                "invalid_status_transition",
                f"Order {self.number} is {self.status}; it cannot become {new_status}.",
                extra={"current_status": self.status, "requested_status": str(new_status)},
            )
        old_status = self.status
        self.status = new_status
        fields = ["status", "updated_at"]
        if new_status == OrderStatus.PAID:
            self.paid_at = timezone.now()
            fields.append("paid_at")
        self.save(update_fields=fields)
        return OrderEvent.objects.create(
            order=self,
            from_status=old_status,
            to_status=new_status,
            actor=actor,
            actor_label=actor_label or (actor.email if actor else SYSTEM),
            note=note,
        )


class OrderItem(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    book = models.ForeignKey("catalog.Book", on_delete=models.PROTECT, related_name="order_items")
    title = models.CharField(max_length=500, help_text="The title when ordered.")
    unit_price = models.DecimalField(
        max_digits=8, decimal_places=2, help_text="Price when ordered."
    )
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY),
                name="order_item_quantity_range",
            ),
            models.UniqueConstraint(fields=["order", "book"], name="order_item_one_line_per_book"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.title}"

    @property
    def line_total(self):
        return self.unit_price * self.quantity


class OrderEvent(models.Model):
    """One change of an order's status: the order's history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.order}: {self.from_status or '-'} -> {self.to_status}"
