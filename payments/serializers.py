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


class ExportRefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    status = serializers.CharField()
    reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class ExportDisputeSerializer(serializers.Serializer):
    status = serializers.CharField(help_text="Stripe's status of the dispute.")
    outcome = serializers.CharField(allow_blank=True, help_text='"won", "lost" or empty.')
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    reason = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)


class ExportPaymentSerializer(serializers.Serializer):
    status = serializers.CharField()
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount_refunded = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount_lost = serializers.DecimalField(max_digits=10, decimal_places=2)
    currency = serializers.CharField()
    stripe_payment_intent = serializers.CharField()
    last_error = serializers.CharField()
    created_at = serializers.DateTimeField()
    refunds = ExportRefundSerializer(many=True)
    disputes = ExportDisputeSerializer(many=True)
