"""Stripe webhook events, as dj-stripe delivers them after checking the signature and storing
the event (a duplicate delivery of one event never reaches these). Connected in apps.py."""

from . import services


def payment_intent_changed(sender, event, **kwargs):
    services.payment_intent_apply(intent=event.data["object"])


def refund_changed(sender, event, **kwargs):
    services.refund_apply(refund=event.data["object"])


def charge_refunded(sender, event, **kwargs):
    for refund in (event.data["object"].get("refunds") or {}).get("data", []):
        services.refund_apply(refund=refund)


def account_closing(sender, user, actor, **kwargs):
    services.payments_account_closing(user=user)
