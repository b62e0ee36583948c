from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    PAYMENT_INTENT_EVENTS = [
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.canceled",
        "payment_intent.processing",
    ]
    REFUND_EVENTS = ["refund.created", "refund.updated", "refund.failed"]
    DISPUTE_EVENTS = ["charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"]

    def ready(self):
        from djstripe.event_handlers import handle_charge_dispute_event, handle_customer_event
        from djstripe.models import Event
        from djstripe.signals import (
            WEBHOOK_SIGNALS,
            webhook_post_process,
            webhook_processing_error,
        )

        from accounts.signals import account_closing
        from orders.exports import order_export_part_register
        from orders.refunds import refunded_outside_returns_register
        from orders.signals import order_cancelling

        from . import exports, gateway, receivers, selectors

        gateway.configure()
        for name in self.PAYMENT_INTENT_EVENTS:
            WEBHOOK_SIGNALS[name].connect(
                receivers.payment_intent_changed, sender=Event, dispatch_uid=f"payments.{name}"
            )
        for name in self.REFUND_EVENTS:
            WEBHOOK_SIGNALS[name].connect(
                receivers.refund_changed, sender=Event, dispatch_uid=f"payments.{name}"
            )
        WEBHOOK_SIGNALS["charge.refunded"].connect(
            receivers.charge_refunded, sender=Event, dispatch_uid="payments.charge.refunded"
        )
        # Disputes are ours (payments.Dispute), applied from Stripe's copy: dj-stripe's own
        # handler would sync its models from the dispute's charge, customer and balance
        # transactions too, which the shop never reads.
        for name in self.DISPUTE_EVENTS:
            WEBHOOK_SIGNALS[name].disconnect(handle_charge_dispute_event, sender=Event)
            WEBHOOK_SIGNALS[name].connect(
                receivers.dispute_changed, sender=Event, dispatch_uid=f"payments.{name}"
            )
        # dj-stripe's handler fetches the customer from Stripe first, which fails for a deleted
        # one: ours applies the event without asking.
        WEBHOOK_SIGNALS["customer.deleted"].disconnect(handle_customer_event, sender=Event)
        WEBHOOK_SIGNALS["customer.deleted"].connect(
            receivers.customer_deleted, sender=Event, dispatch_uid="payments.customer.deleted"
        )
        account_closing.connect(receivers.account_closing, dispatch_uid="payments.account_closing")
        # dj-stripe saves the webhook's request after either signal, whether it was applied or
        # not: a closed account's must lose the person both ways.
        webhook_post_process.connect(
            receivers.webhook_stored, dispatch_uid="payments.webhook_processed"
        )
        webhook_processing_error.connect(
            receivers.webhook_stored, dispatch_uid="payments.webhook_processing_error"
        )
        order_cancelling.connect(
            receivers.order_cancelling, dispatch_uid="payments.order_cancelling"
        )
        order_export_part_register(exports.part())
        refunded_outside_returns_register("payments", selectors.order_refunded_outside_returns)
