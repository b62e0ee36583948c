from django.conf import settings
from django.urls import reverse
from rest_framework import serializers

from .models import Dispute, Payment, Refund


class PaymentStartSerializer(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class PaymentConfirmSerializer(serializers.Serializer):
    payment_method = serializers.RegexField(
        r"^pm_[A-Za-z0-9_]{1,250}$", help_text="A PaymentMethod id from Stripe.js or a Stripe SDK."
    )


class RefundRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text="Leave out for a full refund of what is left.",
    )


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = [
            "id",
            "amount",
            "status",
            "stripe_refund_id",
            "automatic",
            "reason",
            "order_return",
            "created_at",
        ]
        read_only_fields = fields


class DisputeSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="stripe_dispute_id", read_only=True)
    status = serializers.CharField(
        source="stripe_status", read_only=True, help_text="Stripe's status of the dispute."
    )

    class Meta:
        model = Dispute
        fields = [
            "id",
            "amount",
            "currency",
            "reason",
            "status",
            "evidence_due_by",
            "outcome",
            "closed_at",
            "created_at",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    client_secret = serializers.CharField(source="stripe_client_secret", read_only=True)
    setup_intent_client_secret = serializers.CharField(
        source="stripe_setup_client_secret", read_only=True
    )
    publishable_key = serializers.SerializerMethodField()
    payment_url = serializers.SerializerMethodField()
    refunds = RefundSerializer(many=True, read_only=True)
    disputes = DisputeSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "order",
            "status",
            "amount",
            "currency",
            "amount_refunded",
            "amount_lost",
            "client_secret",
            "setup_intent_client_secret",
            "publishable_key",
            "payment_url",
            "stripe_payment_intent_id",
            "last_error_code",
            "last_error_message",
            "refunds",
            "disputes",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_publishable_key(self, payment) -> str:
        return settings.STRIPE_PUBLISHABLE_KEY

    def get_payment_url(self, payment) -> str:
        return settings.SITE_URL + reverse("pay-page", args=[payment.token])


class PaymentConfirmResultSerializer(PaymentSerializer):
    next_step = serializers.ChoiceField(
        choices=["succeeded", "requires_action", "processing"],
        read_only=True,
        help_text='"succeeded" (`status` is then "succeeded" and the order is already paid), '
        '"requires_action" (run stripe.confirmCardPayment(client_secret)) or "processing" '
        "(settled by Stripe's webhook, or by reconciliation within about a minute).",
    )

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "next_step"]
        read_only_fields = fields


# --- The data export's documented shape: this app's part of each order (payments/exports.py) --


class ExportRefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["amount", "status", "reason", "created_at"]


class ExportDisputeSerializer(serializers.ModelSerializer):
    status = serializers.CharField(
        source="stripe_status", help_text="Stripe's status of the dispute."
    )
    outcome = serializers.CharField(allow_blank=True, help_text='"won", "lost" or empty.')

    class Meta:
        model = Dispute
        fields = ["status", "outcome", "amount", "reason", "created_at", "closed_at"]


class ExportPaymentSerializer(serializers.ModelSerializer):
    """A payment as the customer's export shows it. Payment secrets (client secrets, the pay
    page's key) are not the customer's data and would let someone holding the file act on the
    payment: left out."""

    stripe_payment_intent = serializers.CharField(source="stripe_payment_intent_id")
    last_error = serializers.CharField(source="last_error_message")
    refunds = ExportRefundSerializer(many=True)
    disputes = ExportDisputeSerializer(many=True)

    class Meta:
        model = Payment
        fields = [
            "status",
            "amount",
            "amount_refunded",
            "amount_lost",
            "currency",
            "stripe_payment_intent",
            "last_error",
            "created_at",
            "refunds",
            "disputes",
        ]
