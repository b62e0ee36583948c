"""Stripe webhook events, as dj-stripe delivers them after checking the signature and storing
the event (a duplicate delivery of one event never reaches these). Connected in apps.py.

An event only says *which* object changed: what is applied is that object as Stripe's API
returns it, never the event's body (a signed body is still not a statement of Stripe's state
when the signing secret leaked or an old event is replayed)."""

from typing import Any

from djstripe.models import Event, WebhookEventTrigger

from accounts.models import User
from orders.models import Order

from . import services


def payment_intent_changed(sender: type, event: Event, **kwargs: Any) -> None:
    services.payment_intent_refresh(intent_id=event.data["object"]["id"])


def refund_changed(sender: type, event: Event, **kwargs: Any) -> None:
    services.refunds_refresh(refund_ids=[event.data["object"]["id"]])


def charge_refunded(sender: type, event: Event, **kwargs: Any) -> None:
    services.refunds_refresh(refund_ids=services.refund_ids_of_charge(event.data["object"]))


def dispute_changed(sender: type, event: Event, **kwargs: Any) -> None:
    services.dispute_refresh(dispute_id=event.data["object"]["id"])


def customer_deleted(sender: type, event: Event, **kwargs: Any) -> None:
    services.stripe_customer_deleted(customer_id=event.data["object"]["id"])


def order_cancelling(sender: type, order: Order, **kwargs: Any) -> None:
    services.payments_check_none_in_flight(order=order)


def webhook_stored(sender: type, instance: WebhookEventTrigger, **kwargs: Any) -> None:
    services.closed_account_webhook_scrub(trigger=instance)


def account_closing(sender: type, user: User, actor: User, **kwargs: Any) -> None:
    services.payments_account_closing(user=user)
