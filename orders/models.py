import secrets
import uuid
from datetime import timedelta
from urllib.parse import quote

from django.conf import settings
from django.contrib.contenttypes.fields import GenericRelation
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Round
from django.utils import timezone
from django_countries.fields import CountryField

from accounts.addresses import subdivision_code
from core.errors import ApplicationError
from core.money import validate_shop_amount

MAX_LINE_QUANTITY = 100
ORDER_NUMBER_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud safely


def new_order_number():
    return "BK-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(8))


# Carriers whose tracking pages we can link to; others are shown by name and number only.
CARRIER_TRACKING_URLS = {
    "ups": "https://www.ups.com/track?tracknum={number}",
    "usps": "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
    "fedex": "https://www.fedex.com/fedextrack/?trknbr={number}",
    "dhl": "https://www.dhl.com/global-en/home/tracking.html?tracking-id={number}",
    "royal-mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
    "dpd": "https://track.dpd.co.uk/parcels/{number}",
}
# How people write the names of the carriers above (staff type "ups"; customers read "UPS").
CARRIER_NAMES = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl": "DHL",
    "royal-mail": "Royal Mail",
    "dpd": "DPD",
}


def carrier_key(carrier):
    return (carrier or "").strip().lower().replace(" ", "-")


def tracking_url(carrier, number):
    template = CARRIER_TRACKING_URLS.get(carrier_key(carrier))
    if not template or not number:
        return ""
    return template.format(number=quote(number, safe=""))


def default_hold_expiry():
    hold = timedelta(minutes=settings.ORDER_HOLD_MINUTES)
    if settings.ORDER_HOLD_SECONDS:
        hold = timedelta(seconds=settings.ORDER_HOLD_SECONDS)
    return timezone.now() + hold


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
    min_subtotal = models.DecimalField(
        max_digits=10, decimal_places=2, default=0, validators=[validate_shop_amount]
    )
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

    def clean(self):
        # An amount off is money: in the shop's currency (a fixed ¥100.50 would take off 101).
        if self.kind == self.Kind.FIXED and self.value is not None:
            try:
                validate_shop_amount(self.value)
            except ValidationError as error:
                raise ValidationError({"value": error.messages}) from error
        # The database refuses it too (a 500 from the admin's form, which does not show
        # times_redeemed): say so on the field.
        if self.max_redemptions is not None and self.max_redemptions < self.times_redeemed:
            raise ValidationError(
                {
                    "max_redemptions": f"The code has been used {self.times_redeemed} times; "
                    "the limit cannot be lower."
                }
            )


class ShippingMethod(models.Model):
    """A way to deliver an order, managed by staff in the admin."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    countries = CountryField(
        multiple=True, blank=True, help_text="The countries it serves; none selected = all."
    )
    price = models.DecimalField(max_digits=8, decimal_places=2, validators=[validate_shop_amount])
    free_over = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[validate_shop_amount],
        help_text="Free when the subtotal after discount is at least this much; empty = never.",
    )
    min_days = models.PositiveSmallIntegerField(default=1)
    max_days = models.PositiveSmallIntegerField(default=5)
    is_active = models.BooleanField(default=True)
    position = models.PositiveSmallIntegerField(default=0, help_text="Order in lists.")

    class Meta:
        ordering = ["position", "price", "code"]
        constraints = [
            models.CheckConstraint(condition=Q(price__gte=0), name="shipping_price_not_negative"),
            models.CheckConstraint(
                condition=Q(free_over__isnull=True) | Q(free_over__gte=0),
                name="shipping_free_over_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(min_days__lte=F("max_days")), name="shipping_min_days_le_max_days"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.code})"

    def serves(self, country):
        return not self.countries or country in [c.code for c in self.countries]


class TaxRate(models.Model):
    """Sales tax or VAT for a country, or one of its regions, managed by staff.

    The most specific rate applies: country and region, then the country alone (region empty).
    No rate for an address's country means no tax."""

    country = CountryField()
    region = models.CharField(
        max_length=100, blank=True, help_text="ISO 3166-2 subdivision code (NY); empty = all."
    )
    name = models.CharField(max_length=100, blank=True, help_text="Shown to customers (VAT).")
    percent = models.DecimalField(max_digits=6, decimal_places=3)
    shipping_taxed = models.BooleanField(
        default=True, help_text="Whether the shipping charge is taxed too."
    )

    class Meta:
        ordering = ["country", "region"]
        constraints = [
            models.UniqueConstraint(fields=["country", "region"], name="tax_rate_one_per_region"),
            models.CheckConstraint(
                condition=Q(percent__gte=0) & Q(percent__lte=100), name="tax_rate_percent_range"
            ),
        ]

    def __str__(self):
        where = f"{self.country.code}-{self.region}" if self.region else self.country.code
        return f"{self.name or 'Tax'} {where} {self.percent}%"

    def clean(self):
        # Addresses carry the bare ISO 3166-2 code ("NY" for "US-NY" or "New York"), and a
        # rate applies by the same string: a region written another way would never apply.
        if not self.region.strip():
            self.region = ""
            return
        code = subdivision_code(self.country.code, self.region) if self.country else None
        if code is None:
            where = self.country.code if self.country else "that country"
            raise ValidationError({"region": f"{self.region!r} is not a region of {where}."})
        self.region = code


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
    shipping_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    tax_amount = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    prices_include_tax = models.BooleanField(
        default=False, help_text="Prices were gross (VAT included): the tax is part of the total."
    )
    total = models.DecimalField(max_digits=10, decimal_places=2)
    # Copies taken when the order was placed: later changes to the address book, methods or
    # rates never change a placed order.
    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    shipping_country = models.CharField(max_length=2, blank=True, db_index=True)
    shipping_method = models.ForeignKey(
        ShippingMethod, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    shipping_method_code = models.CharField(max_length=40, blank=True)
    shipping_method_name = models.CharField(max_length=100, blank=True)
    tax_rate_percent = models.DecimalField(
        max_digits=6, decimal_places=3, null=True, blank=True, help_text="The rate applied."
    )
    tax_rate_name = models.CharField(max_length=120, blank=True)
    tax_shipping_taxed = models.BooleanField(default=False)
    carrier = models.CharField(max_length=50, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    fulfilment_email = models.EmailField(
        max_length=254,
        blank=True,
        help_text=(
            "Set when the customer closed the account before this paid order was shipped: the "
            "address its remaining emails go to, kept (with the shipping address) until the "
            "order is shipped, refunded or delivered."
        ),
    )
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
    disputed = models.BooleanField(
        default=False,
        editable=False,
        help_text="The card holder contested the payment: not to be shipped until staff clear it.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    emails = GenericRelation(
        "core.OutboxEmail",
        content_type_field="about_type",
        object_id_field="about_id",
        related_query_name="order",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "hold_expires_at"]),
            models.Index(fields=["shipping_method_code", "-created_at"]),
            models.Index(fields=["user", "-created_at"]),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_not_negative"),
            # Rounded to cents: SQLite compares these columns as floating point numbers.
            models.CheckConstraint(
                condition=(
                    Q(
                        prices_include_tax=False,
                        total=Round(
                            F("subtotal")
                            - F("discount_amount")
                            + F("shipping_amount")
                            + F("tax_amount"),
                            2,
                        ),
                    )
                    | Q(
                        prices_include_tax=True,
                        total=Round(F("subtotal") - F("discount_amount") + F("shipping_amount"), 2),
                    )
                ),
                name="order_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(shipping_amount__gte=0) & Q(tax_amount__gte=0),
                name="order_shipping_and_tax_not_negative",
            ),
        ]

    def __str__(self):
        return self.number

    @property
    def hold_ends_at(self):
        """When the copies held for this pending order go back on sale; None once the hold is
        over (paid, shipped, cancelled, expired...)."""
        if self.display_status != OrderStatus.PENDING:
            return None
        return self.hold_expires_at

    @property
    def carrier_name(self):
        return CARRIER_NAMES.get(carrier_key(self.carrier), self.carrier.strip())

    @property
    def hold_lapsed(self):
        return self.status == OrderStatus.PENDING and self.hold_expires_at <= timezone.now()

    @property
    def display_status(self):
        """A pending order read after its hold lapsed is shown as expired, even before
        `expire_orders` has released its stock."""
        return OrderStatus.EXPIRED if self.hold_lapsed else self.status

    @property
    def tracking_url(self):
        return tracking_url(self.carrier, self.tracking_number)

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
        return self._event(
            from_status=old_status,
            to_status=new_status,
            actor=actor,
            actor_label=actor_label,
            note=note,
        )

    def record(self, kind, *, actor=None, actor_label=None, note=""):
        """A step on the order's timeline that leaves its status as it is (a return, a
        dispute). Its to_status stays empty, so status counters never count it."""
        return self._event(kind=kind, actor=actor, actor_label=actor_label, note=note)

    def _event(self, *, actor, actor_label, note, **step):
        return OrderEvent.objects.create(
            order=self,
            actor=actor,
            actor_label=actor_label or (actor.email if actor else SYSTEM),
            note=note[: OrderEvent._meta.get_field("note").max_length],
            **step,
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


class OrderEventKind(models.TextChoices):
    """Steps on an order's timeline other than a change of its status."""

    RETURN_REQUESTED = "return_requested", "Return requested"
    RETURN_APPROVED = "return_approved", "Return approved"
    RETURN_REJECTED = "return_rejected", "Return rejected"
    RETURN_RECEIVED = "return_received", "Return received"
    RETURN_REFUNDED = "return_refunded", "Return refunded"
    REFUND_FAILED = "refund_failed", "Refund failed"
    DISPUTE_OPENED = "dispute_opened", "Payment disputed"
    DISPUTE_UPDATED = "dispute_updated", "Dispute updated"
    DISPUTE_WON = "dispute_won", "Dispute won"
    DISPUTE_LOST = "dispute_lost", "Dispute lost"
    DISPUTE_CLEARED = "dispute_cleared", "Dispute hold cleared"


# Steps only staff see on a timeline: a dispute is between the bank, the cardholder and the shop
# (its notes hold Stripe's dispute and the staff's words), as the order's `disputed` is; a refund
# that failed at the bank is staff's to settle with the customer (its note holds Stripe's reason).
STAFF_ONLY_EVENT_KINDS = frozenset(
    {
        OrderEventKind.REFUND_FAILED,
        OrderEventKind.DISPUTE_OPENED,
        OrderEventKind.DISPUTE_UPDATED,
        OrderEventKind.DISPUTE_WON,
        OrderEventKind.DISPUTE_LOST,
        OrderEventKind.DISPUTE_CLEARED,
    }
)


class OrderEvent(models.Model):
    """One change of an order's status, or another step (`kind`): the order's history."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(
        max_length=20, choices=OrderEventKind, blank=True, help_text="Empty: a status change."
    )
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=254)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.change

    @property
    def change(self):
        """ "Paid → Shipped", or "Return requested", as a person says it."""
        if self.kind:
            return self.get_kind_display()
        labels = dict(OrderStatus.choices)
        statuses = (self.from_status, self.to_status)
        return " → ".join(str(labels.get(status, status)) for status in statuses if status)


def new_cart_token():
    """A cart's id is its only secret (anonymous carts have no owner): 192 random bits."""
    return secrets.token_urlsafe(24)


class Cart(models.Model):
    """A basket kept on the server. It holds no stock: it is priced by the checkout builder on
    every read. Anonymous (no owner) until a customer's own cart; each customer has one."""

    id = models.CharField(primary_key=True, max_length=64, default=new_cart_token, editable=False)
    owner = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="cart",
    )
    discount_code = models.CharField(max_length=40, blank=True)
    shipping_address = models.ForeignKey(
        "accounts.Address", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shipping_method = models.CharField(max_length=40, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Every change to the cart or its lines moves it; anonymous carts left CART_TTL_DAYS go.
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Counts the customer's changes (lines, code, address, method; a merge), not the checkout
    # that empties it: a checkout's Idempotency-Key replays only for the cart it was used on.
    revision = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"Cart of {self.owner}" if self.owner_id else "Anonymous cart"


class CartLine(models.Model):
    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    book = models.ForeignKey("catalog.Book", on_delete=models.CASCADE, related_name="+")
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(
        max_digits=8, decimal_places=2, help_text="The price when the customer added the line."
    )
    added_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY),
                name="cart_line_quantity_range",
            ),
            models.UniqueConstraint(fields=["cart", "book"], name="cart_line_one_per_book"),
        ]

    def __str__(self):
        return f"{self.quantity} x book {self.book_id}"


def new_return_number():
    return "RT-" + "".join(secrets.choice(ORDER_NUMBER_ALPHABET) for _ in range(8))


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    RECEIVED = "received"
    REFUNDED = "refunded"


# The return lifecycle; anything else is an invalid_status_transition.
RETURN_TRANSITIONS = {
    ReturnStatus.REQUESTED: {ReturnStatus.APPROVED, ReturnStatus.REJECTED},
    ReturnStatus.APPROVED: {ReturnStatus.RECEIVED},
    ReturnStatus.RECEIVED: {ReturnStatus.REFUNDED},
}
# Returns whose copies count as coming back (a rejected one gives the copies back to nobody).
RETURN_COUNTING_STATUSES = tuple(
    status for status in ReturnStatus if status != ReturnStatus.REJECTED
)


class Return(models.Model):
    """A customer sends copies of a shipped order back; staff approve, receive and refund."""

    number = models.CharField(max_length=16, unique=True, default=new_return_number, editable=False)
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="returns")
    status = models.CharField(
        max_length=10, choices=ReturnStatus, default=ReturnStatus.REQUESTED, editable=False
    )
    reason = models.TextField(max_length=1000)
    staff_note = models.CharField(
        max_length=500, blank=True, help_text="Why it was rejected (sent to the customer)."
    )
    refund_amount = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        editable=False,
        help_text="The returned copies' share of what was paid (shipping with the last copies).",
    )
    restocked = models.BooleanField(
        null=True, editable=False, help_text="Whether the received copies went back on sale."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(refund_amount__gte=0), name="return_refund_amount_not_negative"
            ),
        ]

    def __str__(self):
        return self.number

    def check_transition(self, new_status):
        if new_status not in RETURN_TRANSITIONS.get(self.status, set()):
            raise ApplicationError(
                "invalid_status_transition",
                f"Return {self.number} is {self.status}; it cannot become {new_status}.",
                extra={"current_status": self.status, "requested_status": str(new_status)},
            )

    def set_status(self, new_status):
        """Checks the return lifecycle; the caller holds the row lock and records the event."""
        self.check_transition(new_status)
        self.status = new_status
        self.save(update_fields=["status", "updated_at"])


class ReturnLine(models.Model):
    order_return = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines")
    order_item = models.ForeignKey(OrderItem, on_delete=models.PROTECT, related_name="return_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gte=1) & Q(quantity__lte=MAX_LINE_QUANTITY),
                name="return_line_quantity_range",
            ),
            models.UniqueConstraint(
                fields=["order_return", "order_item"], name="return_line_one_per_item"
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.order_item.title}"
