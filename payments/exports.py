"""The payments app's part of each order in the customer's data export (orders/exports.py)."""

from typing import Any

from django.db.models import Prefetch

from orders.exports import OrderExportPart
from orders.models import Order

from .models import Dispute, Payment, Refund


def order_payments_export(order: Order) -> Any:
    from .serializers import ExportPaymentSerializer

    return ExportPaymentSerializer(order.payments.all(), many=True).data


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
