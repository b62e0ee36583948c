from rest_framework import serializers

from .models import MAX_LINE_QUANTITY, Order, OrderEvent, OrderItem
from .services import MAX_ITEMS


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


class OrderItemSerializer(serializers.ModelSerializer):
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2, read_only=True)

    class Meta:
        model = OrderItem
        fields = ["book", "title", "unit_price", "quantity", "line_total"]
        read_only_fields = fields


class OrderEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_label", read_only=True)

    class Meta:
        model = OrderEvent
        fields = ["from_status", "to_status", "actor", "note", "created_at"]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    status = serializers.CharField(source="display_status", read_only=True)
    discount_code = serializers.CharField(
        source="discount_code.code", read_only=True, default=None, allow_null=True
    )
    user = serializers.EmailField(source="user.email", read_only=True)
    items = OrderItemSerializer(many=True, read_only=True)
    events = OrderEventSerializer(many=True, read_only=True)

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
            "total",
            "hold_expires_at",
            "paid_at",
            "items",
            "events",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
