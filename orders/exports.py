"""The orders app's sections of the customer's data export (accounts/exports.py): their orders
with items and history, and their cart. Apps above this one add to each exported order
(`order_export_part_register`: payments adds the order's payments)."""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from rest_framework import serializers

from accounts.exports import ExportSection
from accounts.models import User

from .models import Cart, CartLine, Order, OrderEvent, Return, ReturnLine
from .selectors import order_timeline


@dataclass(frozen=True)
class OrderExportPart:
    key: str
    # What to fetch with the orders (a relation name or a Prefetch), so the part costs one query.
    prefetch: str | Prefetch
    build: Callable[[Order], Any]
    field: Callable[[], serializers.Field]


_order_parts: dict[str, OrderExportPart] = {}


def order_export_part_register(part: OrderExportPart) -> None:
    _order_parts[part.key] = part


def order_export_parts() -> list[OrderExportPart]:
    return list(_order_parts.values())


def _money(value: Decimal) -> str:
    return str(value)


def _event_by(event: OrderEvent, user: User) -> str:
    if event.actor_id == user.pk:
        return "you"
    if event.actor_id is not None:
        return "staff"  # a member of staff: their address is not the customer's data
    return event.actor_label  # "system" or "stripe"


def _order(order: Order, user: User) -> dict[str, Any]:
    return {
        "number": order.number,
        "status": order.status,
        "currency": order.currency,
        "subtotal": _money(order.subtotal),
        "discount_amount": _money(order.discount_amount),
        "discount_code": order.discount_code.code if order.discount_code else None,
        "shipping_amount": _money(order.shipping_amount),
        "tax_amount": _money(order.tax_amount),
        "total": _money(order.total),
        "shipping_method": order.shipping_method_name,
        "shipping_address": order.shipping_address,
        "billing_address": order.billing_address,
        "created_at": order.created_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "items": [
            {
                "book": item.book_id,
                "title": item.title,
                "unit_price": _money(item.unit_price),
                "quantity": item.quantity,
            }
            for item in order.items.all()
        ],
        "events": [
            {
                "from_status": event.from_status,
                "to_status": event.to_status,
                "by": _event_by(event, user),
                "note": event.note,
                "at": event.created_at.isoformat(),
            }
            for event in order.events.all()
        ],
        "returns": [
            {
                "number": order_return.number,
                "status": order_return.status,
                "reason": order_return.reason,
                "staff_note": order_return.staff_note,
                "refund_amount": _money(order_return.refund_amount),
                "created_at": order_return.created_at.isoformat(),
                "lines": [
                    {"book": line.order_item.book_id, "quantity": line.quantity}
                    for line in order_return.lines.all()
                ],
            }
            for order_return in order.returns.all()
        ],
    } | {part.key: part.build(order) for part in _order_parts.values()}


def user_orders_export(user: User) -> list[dict[str, Any]]:
    orders = (
        Order.objects.filter(user=user)
        .select_related("discount_code")
        .prefetch_related(
            "items",
            Prefetch("events", order_timeline(customer=True)),
            Prefetch(
                "returns",
                Return.objects.order_by("created_at", "id").prefetch_related(
                    Prefetch(
                        "lines", ReturnLine.objects.select_related("order_item").order_by("pk")
                    )
                ),
            ),
            *(part.prefetch for part in _order_parts.values()),
        )
        .order_by("created_at", "id")
    )
    return [_order(order, user) for order in orders]


def user_cart_export(user: User) -> dict[str, Any] | None:
    """The customer's cart as it is kept. Its id is left out: it is the key to the cart."""
    lines = CartLine.objects.select_related("book").order_by("added_at", "pk")
    cart = Cart.objects.filter(owner=user).prefetch_related(Prefetch("lines", lines)).first()
    if cart is None:
        return None
    return {
        "discount_code": cart.discount_code,
        "shipping_method": cart.shipping_method,
        "created_at": cart.created_at.isoformat(),
        "updated_at": cart.updated_at.isoformat(),
        "lines": [
            {
                "book": line.book_id,
                "title": line.book.title,
                "quantity": line.quantity,
                "unit_price": _money(line.unit_price),
                "added_at": line.added_at.isoformat(),
            }
            for line in cart.lines.all()
        ],
    }


def sections() -> list[ExportSection]:
    from .serializers import ExportCartSerializer, ExportOrderSerializer

    return [
        ExportSection("orders", user_orders_export, lambda: ExportOrderSerializer(many=True)),
        ExportSection("cart", user_cart_export, lambda: ExportCartSerializer(allow_null=True)),
    ]
