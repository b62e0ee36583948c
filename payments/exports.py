"""The payments app's part of each order in the customer's data export (orders/exports.py)."""

from typing import Any

from django.db.models import Prefetch

from orders.exports import OrderExportPart
from orders.models import Order

from .models import Dispute, Payment, Refund


def order_payments_export(order: Order) -> list[dict[str, Any]]:
    # Payment secrets (client secrets, the pay-page key) are not the customer's data and would
    # let someone holding the file act on the payment: left out.
    return [
        {
            "status": payment.status,
            "amount": str(payment.amount),
            "amount_refunded": str(payment.amount_refunded),
            "amount_lost": str(payment.amount_lost),
            "currency": payment.currency,
            "stripe_payment_intent": payment.stripe_payment_intent_id,
            "last_error": payment.last_error_message,
            "created_at": payment.created_at.isoformat(),
            "refunds": [
                {
                    "amount": str(refund.amount),
                    "status": refund.status,
                    "reason": refund.reason,
                    "created_at": refund.created_at.isoformat(),
                }
                for refund in payment.refunds.all()
            ],
            "disputes": [
                {
                    "status": dispute.stripe_status,
                    "outcome": dispute.outcome,
                    "amount": str(dispute.amount),
                    "reason": dispute.reason,
                    "created_at": dispute.created_at.isoformat(),
                    "closed_at": dispute.closed_at.isoformat() if dispute.closed_at else None,
                }
                for dispute in payment.disputes.all()
            ],
        }
        for payment in order.payments.all()
    ]


def part() -> OrderExportPart:
    from .serializers import ExportPaymentSerializer

    return OrderExportPart(
        key="payments",
        prefetch=Prefetch(
            "payments",
            Payment.objects.order_by("created_at", "id").prefetch_related(
                Prefetch("refunds", Refund.objects.order_by("created_at", "id")),
                Prefetch("disputes", Dispute.objects.order_by("created_at", "id")),
            ),
        ),
        build=order_payments_export,
        field=lambda: ExportPaymentSerializer(many=True),
    )
