"""What the shop keeps about a customer, gathered for the customer's own export."""

from decimal import Decimal
from typing import Any

from django.db.models import Prefetch
from django.utils import timezone

from core.models import OutboxEmail
from core.outbox import body_as_kept
from orders.models import Order, OrderEvent
from payments.models import Payment, Refund

from .models import ADDRESS_FIELDS, Address, User


def _event_by(event: OrderEvent, user: User) -> str:
    if event.actor_id == user.pk:
        return "you"
    if event.actor_id is not None:
        return "staff"  # a member of staff: their address is not the customer's data
    return event.actor_label  # "system" or "stripe"


def _money(value: Decimal) -> str:
    return str(value)


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
        # Payment secrets (client secrets, the pay-page key) are not the customer's data and
        # would let someone holding the file act on the payment: left out.
        "payments": [
            {
                "status": payment.status,
                "amount": _money(payment.amount),
                "amount_refunded": _money(payment.amount_refunded),
                "currency": payment.currency,
                "stripe_payment_intent": payment.stripe_payment_intent_id,
                "last_error": payment.last_error_message,
                "created_at": payment.created_at.isoformat(),
                "refunds": [
                    {
                        "amount": _money(refund.amount),
                        "status": refund.status,
                        "reason": refund.reason,
                        "created_at": refund.created_at.isoformat(),
                    }
                    for refund in payment.refunds.all()
                ],
            }
            for payment in order.payments.all()
        ],
    }


def user_data_export(*, user: User) -> dict[str, Any]:
    """Everything the shop keeps about `user`: profile, orders with items, history, payments
    and refunds, and the emails sent to them."""
    orders = (
        Order.objects.filter(user=user)
        .select_related("discount_code")
        .prefetch_related(
            "items",
            Prefetch("events", OrderEvent.objects.order_by("created_at", "id")),
            Prefetch(
                "payments",
                Payment.objects.order_by("created_at", "id").prefetch_related(
                    Prefetch("refunds", Refund.objects.order_by("created_at", "id"))
                ),
            ),
        )
        .order_by("created_at", "id")
    )
    # The emails written for this customer (whatever address they went to, and never another
    # person's mail to an address this customer uses now); the shop's notices to its staff are
    # the shop's records. Their links with secrets were never stored (core/outbox.py).
    emails = OutboxEmail.objects.filter(user=user).order_by("created_at", "id")
    return {
        "exported_at": timezone.now().isoformat(),
        "profile": {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "email_verified": user.email_verified,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "addresses": [
            {field: getattr(address, field) for field in ADDRESS_FIELDS}
            | {"country": str(address.country)}
            for address in Address.objects.filter(user=user).order_by("pk")
        ],
        "orders": [_order(order, user) for order in orders],
        "emails": [
            {
                "kind": message.kind,
                "to": message.to,
                "subject": message.subject,
                "status": message.status,
                "created_at": message.created_at.isoformat(),
                "sent_at": message.sent_at.isoformat() if message.sent_at else None,
                "text": body_as_kept(message.text_body),
            }
            for message in emails
        ],
    }
