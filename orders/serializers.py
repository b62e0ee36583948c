from django.conf import settings
from django.urls import reverse
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from accounts.models import ADDRESS_FIELDS, single_line
from accounts.serializers import (
    AddressInputSerializer,
    Alpha2CountryField,
    export_address_serializer,
)
from core.errors import problem_body
from core.permissions import staff_may
from core.schema import ProblemSerializer

from .checkout import MAX_ITEMS, tax_rate_label
from .models import (
    MAX_LINE_QUANTITY,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    Return,
    ReturnLine,
    ReturnStatus,
    ShippingMethod,
)

MAX_ID = 2**63 - 1


class AddressOrIdField(serializers.Field):
    """The id of one of your saved addresses, or an address object."""

    default_error_messages = {
        "invalid": "Send the id of one of your addresses or an address object.",
    }

    def to_internal_value(self, data):
        if isinstance(data, int) and not isinstance(data, bool):
            if not 1 <= data <= MAX_ID:
                self.fail("invalid")
            return data
        if isinstance(data, dict):
            address = AddressInputSerializer(data=data)
            address.is_valid(raise_exception=True)
            return dict(address.validated_data)
        self.fail("invalid")

    def to_representation(self, value):
        return value


class AddressOrIdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = AddressOrIdField

    def map_serializer_field(self, auto_schema, direction):
        component = auto_schema.resolve_serializer(AddressInputSerializer, direction)
        return {
            "oneOf": [{"type": "integer", "minimum": 1, "maximum": MAX_ID}, component.ref],
            "description": "The id of one of your addresses, or an address.",
        }


class AddressSnapshotSerializer(serializers.Serializer):
    """The copy of an address an order keeps."""

    full_name = serializers.CharField()
    company = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    region = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()
    phone = serializers.CharField()


class OrderLineInputSerializer(serializers.Serializer):
    book = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class OrderCreateSerializer(serializers.Serializer):
    """Books and quantities only: prices and totals are the server's business."""

    # many=True hands max_length to the ListSerializer, which the stubs do not model.
    items = OrderLineInputSerializer(  # type: ignore[call-arg]
        many=True, allow_empty=False, max_length=MAX_ITEMS
    )
    discount_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True
    )
    shipping_address = AddressOrIdField()
    billing_address = AddressOrIdField(
        required=False, allow_null=True, help_text="Defaults to the shipping address."
    )
    shipping_method = serializers.SlugField(
        max_length=40, help_text="A code from GET /api/shipping-methods/?country=XX."
    )


class OrderQuoteInputSerializer(OrderCreateSerializer):
    """The body of an order; the address and method may be left out to price the cart alone."""

    shipping_address = AddressOrIdField(required=False, allow_null=True)
    shipping_method = serializers.SlugField(max_length=40, required=False, allow_blank=True)


class OrderItemSerializer(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["book", "title", "unit_price", "quantity", "line_total"]
        read_only_fields = fields


# What a customer sees for a change that a member of staff made: who it was is not theirs to know.
STAFF_ACTOR = "staff"


class OrderEventSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(
        read_only=True,
        help_text='Empty for a change of status; otherwise the step: "return_requested", '
        '"return_approved", "return_rejected", "return_received", "return_refunded", '
        '"dispute_opened", "dispute_updated", "dispute_won", "dispute_lost", "dispute_cleared".',
    )
    actor = serializers.SerializerMethodField(
        help_text='"system", "stripe", the customer\'s email for their own changes, and for staff '
        'changes "staff" (staff who may view orders see the member of staff\'s email).'
    )

    class Meta:
        model = OrderEvent
        fields = ["kind", "from_status", "to_status", "actor", "note", "created_at"]
        read_only_fields = fields

    def get_actor(self, event) -> str:
        if event.actor_id is None or event.actor_id == event.order.user_id:
            return event.actor_label
        viewer = getattr(self.context.get("request"), "user", None)
        if viewer is not None and staff_may(viewer, "orders.view_order"):
            return event.actor_label
        return STAFF_ACTOR


class OrderSerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(
        choices=OrderStatus.choices, source="display_status", read_only=True
    )
    shipping_address = AddressSnapshotSerializer(read_only=True, allow_null=True)
    billing_address = AddressSnapshotSerializer(read_only=True, allow_null=True)
    shipping_method = serializers.CharField(source="shipping_method_code", read_only=True)
    tax_rate = serializers.DecimalField(
        source="tax_rate_percent",
        max_digits=6,
        decimal_places=3,
        read_only=True,
        allow_null=True,
        help_text="The percent applied; null when no rate matched the address (no tax).",
    )
    tracking_url = serializers.CharField(read_only=True)
    hold_expires_at = serializers.DateTimeField(
        source="hold_ends_at",
        read_only=True,
        allow_null=True,
        help_text="Until when the books are held for this pending order; null once the hold is "
        "over (paid, shipped, cancelled, expired).",
    )
    payment_url = serializers.SerializerMethodField(
        help_text="Where to send the customer to pay, while the order is payable."
    )
    discount_code = serializers.CharField(
        source="discount_code.code", read_only=True, default=None, allow_null=True
    )
    user = serializers.EmailField(source="user.email", read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)
    returns = serializers.SerializerMethodField(help_text="The order's returns, newest first.")
    amount_refunded = serializers.DecimalField(
        source="refunded_total",
        max_digits=10,
        decimal_places=2,
        read_only=True,
        help_text="Money sent back so far (staff refunds and refunded returns).",
    )
    disputed = serializers.SerializerMethodField(
        help_text="For staff: the card holder disputed the payment, and an unshipped order is "
        "not shipped until staff clear the hold. null for customers."
    )

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "user",
            "status",
            "currency",
            "subtotal",
            "discount_code",
            "discount_amount",
            "shipping_method",
            "shipping_method_name",
            "shipping_amount",
            "tax_rate",
            "tax_rate_name",
            "tax_amount",
            "prices_include_tax",
            "total",
            "shipping_address",
            "billing_address",
            "carrier",
            "tracking_number",
            "tracking_url",
            "shipped_at",
            "payment_url",
            "hold_expires_at",
            "paid_at",
            "items",
            "events",
            "returns",
            "amount_refunded",
            "disputed",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_disputed(self, order) -> bool | None:
        viewer = getattr(self.context.get("request"), "user", None)
        return order.disputed if staff_may(viewer, "orders.view_order") else None

    def get_returns(self, order) -> list[dict]:
        return [
            {
                "id": order_return.pk,
                "number": order_return.number,
                "status": order_return.status,
                "refund_amount": str(order_return.refund_amount),
            }
            for order_return in order.returns.all()
        ]

    def get_payment_url(self, order) -> str | None:
        if order.display_status != OrderStatus.PENDING:
            return None
        return settings.SITE_URL + reverse("pay-order", args=[order.payment_token])


class OrderShipSerializer(serializers.Serializer):
    carrier = serializers.CharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="Tracking links are made for ups, usps, fedex, dhl, royal-mail and dpd.",
    )
    tracking_number = serializers.RegexField(
        r"^[A-Za-z0-9 -]{1,100}$", max_length=100, required=False, allow_blank=True, default=""
    )


class ShippingMethodSerializer(serializers.ModelSerializer):
    countries = serializers.SerializerMethodField()

    class Meta:
        model = ShippingMethod
        fields = ["code", "name", "price", "free_over", "min_days", "max_days", "countries"]
        read_only_fields = fields

    def get_countries(self, method) -> list[str]:
        """Empty: every country."""
        return [country.code for country in method.countries]


class ShippingMethodQuerySerializer(serializers.Serializer):
    country = Alpha2CountryField(required=False, help_text="ISO 3166-1 alpha-2 code.")


class ShippingOptionSerializer(serializers.Serializer):
    code = serializers.CharField(source="method.code")
    name = serializers.CharField(source="method.name")
    price = serializers.DecimalField(
        max_digits=10, decimal_places=2, help_text="What this order would pay for it."
    )
    min_days = serializers.IntegerField(source="method.min_days")
    max_days = serializers.IntegerField(source="method.max_days")


class QuoteLineSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    title = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=8, decimal_places=2)
    quantity = serializers.IntegerField()
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)


class ProblemDocumentSerializer(ProblemSerializer):
    """A problem that would stop the order, as placing it would answer (with its extra
    members, such as `books` for insufficient_stock)."""

    def to_representation(self, instance):
        return dict(instance)


class OrderQuoteSerializer(serializers.Serializer):
    currency = serializers.CharField()
    items = QuoteLineSerializer(many=True)
    subtotal = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount_code = serializers.CharField(allow_null=True)
    discount_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping_options = ShippingOptionSerializer(many=True)
    shipping_method = serializers.CharField(allow_null=True)
    shipping_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    tax_rate = serializers.DecimalField(max_digits=6, decimal_places=3, allow_null=True)
    tax_rate_name = serializers.CharField()
    tax_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    prices_include_tax = serializers.BooleanField()
    total = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping_address = AddressSnapshotSerializer(allow_null=True)
    billing_address = AddressSnapshotSerializer(allow_null=True)
    problems = ProblemDocumentSerializer(
        many=True, help_text="What would stop this order being placed now (empty: nothing)."
    )


def quote_representation(quote, *, discount_code) -> dict:
    """A quote (orders.checkout.Checkout) as the quote endpoint answers it."""
    return OrderQuoteSerializer(_quote_data(quote, discount_code=discount_code)).data


def _quote_data(quote, *, discount_code) -> dict:
    totals = quote.totals
    data = {
        "currency": quote.currency,
        "items": [
            {
                "book": book_id,
                "title": quote.books[book_id].title,
                "unit_price": quote.books[book_id].price,
                "quantity": quantity,
                "line_total": quote.books[book_id].price * quantity,
            }
            for book_id, quantity in quote.lines.items()
        ],
        "subtotal": totals.subtotal,
        "discount_code": (discount_code or "").strip() or None,
        "discount_amount": totals.discount_amount,
        "shipping_options": quote.shipping_options,
        "shipping_method": quote.shipping_method.code if quote.shipping_method else None,
        "shipping_amount": totals.shipping_amount,
        "tax_rate": quote.tax_rate.percent if quote.tax_rate else None,
        "tax_rate_name": tax_rate_label(quote.tax_rate),
        "tax_amount": totals.tax_amount,
        "prices_include_tax": quote.prices_include_tax,
        "total": totals.total,
        "shipping_address": quote.shipping_address,
        "billing_address": quote.billing_address,
        "problems": [
            problem_body(
                code=problem.code, detail=problem.detail, errors=problem.errors, extra=problem.extra
            )
            for problem in quote.problems
        ],
    }
    return data


class CartSerializer(OrderQuoteSerializer):
    """A cart: the quote of its contents, with the cart's id (its key) and settings."""

    id = serializers.CharField(help_text="The cart's key: whoever holds it may use the cart.")
    shipping_address_id = serializers.IntegerField(
        allow_null=True, help_text="The address book entry the cart ships to."
    )
    updated_at = serializers.DateTimeField()


def cart_representation(cart, quote) -> dict:
    """A cart (orders.models.Cart) priced by the checkout builder, as the cart endpoints answer."""
    data = _quote_data(quote, discount_code=cart.discount_code)
    # The chosen method stays visible while it cannot apply (the problem says why).
    data["shipping_method"] = data["shipping_method"] or cart.shipping_method or None
    return CartSerializer(
        {
            "id": cart.pk,
            "shipping_address_id": cart.shipping_address_id,
            "updated_at": cart.updated_at,
            **data,
        }
    ).data


class CartLineQuantitySerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY)


class CartUpdateSerializer(serializers.Serializer):
    """Any subset; null or "" clears a setting."""

    discount_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True, allow_null=True
    )
    shipping_address = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        allow_null=True,
        help_text="The id of one of your addresses (a customer's own cart only).",
    )
    shipping_method = serializers.SlugField(
        max_length=40, required=False, allow_blank=True, allow_null=True
    )


class CartCheckoutSerializer(serializers.Serializer):
    """Optional: where to send it, over the cart's own choices (an anonymous cart has none)."""

    shipping_address = AddressOrIdField(required=False, allow_null=True)
    billing_address = AddressOrIdField(
        required=False, allow_null=True, help_text="Defaults to the shipping address."
    )
    shipping_method = serializers.SlugField(max_length=40, required=False, allow_blank=True)


class CartMergeSerializer(serializers.Serializer):
    cart = serializers.CharField(max_length=64, help_text="The id of an anonymous cart.")


class ReturnCreateSerializer(serializers.Serializer):
    items = OrderLineInputSerializer(  # type: ignore[call-arg]
        many=True, allow_empty=False, max_length=MAX_ITEMS
    )
    reason = serializers.CharField(max_length=1000)

    def validate_reason(self, reason: str) -> str:
        # The customer's words go into the staff's email: on one line, without control or
        # format characters, they cannot start a paragraph that reads as the shop's own.
        return single_line(reason)


class ReturnQuoteInputSerializer(ReturnCreateSerializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class ReturnLineSerializer(serializers.ModelSerializer):
    book = serializers.IntegerField(source="order_item.book_id", read_only=True)
    title = serializers.CharField(source="order_item.title", read_only=True)
    unit_price = serializers.DecimalField(
        source="order_item.unit_price", max_digits=8, decimal_places=2, read_only=True
    )

    class Meta:
        model = ReturnLine
        fields = ["book", "title", "unit_price", "quantity"]
        read_only_fields = fields


class ReturnSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)
    currency = serializers.CharField(source="order.currency", read_only=True)
    items = ReturnLineSerializer(source="lines", many=True, read_only=True)
    note = serializers.CharField(
        source="staff_note", read_only=True, help_text="Why it was rejected."
    )

    class Meta:
        model = Return
        fields = [
            "id",
            "number",
            "order",
            "order_number",
            "status",
            "items",
            "reason",
            "note",
            "refund_amount",
            "currency",
            "restocked",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ReturnQuoteSerializer(serializers.Serializer):
    order = serializers.IntegerField(source="order.pk")
    currency = serializers.CharField(source="order.currency")
    items = serializers.SerializerMethodField()
    refund_amount = serializers.DecimalField(max_digits=10, decimal_places=2)

    def get_items(self, quote) -> list[dict]:
        return [
            {
                "book": item.book_id,
                "title": item.title,
                "unit_price": str(item.unit_price),
                "quantity": quantity,
            }
            for item, quantity in quote.lines
        ]


class ReturnRejectSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="Why: sent to the customer.")


class ReturnReceiveSerializer(serializers.Serializer):
    restock = serializers.BooleanField(
        help_text="true: the copies are fit to sell and go back on hand; false: damaged."
    )


class DisputeClearSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


# --- The data export's documented shape: this app's sections (orders/exports.py) ------------


class ExportItemSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    title = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=8, decimal_places=2)
    quantity = serializers.IntegerField()


class ExportEventSerializer(serializers.Serializer):
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    by = serializers.CharField(help_text='"you", "staff", "system" or "stripe".')
    note = serializers.CharField()
    at = serializers.DateTimeField()


ExportOrderAddressSerializer = export_address_serializer(
    "ExportOrderAddressSerializer",
    tuple(field for field in ADDRESS_FIELDS if field != "is_default_shipping"),
    "The copy of an address an order keeps.",
)


class ExportReturnLineSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    quantity = serializers.IntegerField()


class ExportReturnSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=ReturnStatus.choices)
    reason = serializers.CharField(allow_blank=True)
    staff_note = serializers.CharField(allow_blank=True)
    refund_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    created_at = serializers.DateTimeField()
    lines = ExportReturnLineSerializer(many=True)


class ExportOrderSerializer(serializers.Serializer):
    number = serializers.CharField()
    status = serializers.ChoiceField(choices=OrderStatus.choices)
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    discount_code = serializers.CharField(allow_null=True)
    shipping_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    tax_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    total = serializers.DecimalField(max_digits=10, decimal_places=2)
    shipping_method = serializers.CharField()
    shipping_address = ExportOrderAddressSerializer(allow_null=True)
    billing_address = ExportOrderAddressSerializer(allow_null=True)
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    items = ExportItemSerializer(many=True)
    events = ExportEventSerializer(many=True)
    returns = ExportReturnSerializer(many=True)

    def get_fields(self):
        from .exports import order_export_parts

        return super().get_fields() | {part.key: part.field() for part in order_export_parts()}


class ExportCartLineSerializer(serializers.Serializer):
    book = serializers.IntegerField()
    title = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(
        max_digits=8, decimal_places=2, help_text="The price when the line was added."
    )
    added_at = serializers.DateTimeField()


class ExportCartSerializer(serializers.Serializer):
    """The customer's cart (its id is the key to it, so it is not exported)."""

    discount_code = serializers.CharField(allow_blank=True)
    shipping_method = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    lines = ExportCartLineSerializer(many=True)
