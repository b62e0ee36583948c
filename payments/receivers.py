"""Stripe webhook events, as dj-stripe delivers them after checking the signature and storing
the event (a duplicate delivery of one event never reaches these). Connected in apps.py."""

from typing import Any

from djstripe.models import Event

from accounts.models import User

from . import services


def payment_intent_changed(sender: type, event: Event, **kwargs: Any) -> None:
    services.payment_intent_apply(intent=event.data["object"])


def refund_changed(sender: type, event: Event, **kwargs: Any) -> None:
    services.refund_apply(refund=event.data["object"])


def charge_refunded(sender: type, event: Event, **kwargs: Any) -> None:
    for refund in (event.data["object"].get("refunds") or {}).get("data", []):
        services.refund_apply(refund=refund)


def account_closing(sender: type, user: User, actor: User, **kwargs: Any) -> None:
    services.payments_account_closing(user=user)
