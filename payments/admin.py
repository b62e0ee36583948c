"""Payments in the back office: a read-only history (Stripe holds the money; our rows record
what it said), the order page's payments section and its "Refund" action.

Orders never import payments, so the payments side of the order page is contributed through
`orders.staff_actions.order_page_extend`: a payments inline and the refund action, which goes
through the same confirmation page as the other order actions.
"""

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from djstripe import models as djstripe_models
from djstripe.admin.admin import WebhookEventTriggerAdmin

from core.admin_mixins import (
    CONFIRMATION_FIELD,
    ReadOnlyAdminMixin,
    ReadOnlyTabularInline,
    confirmation_page,
)
from core.errors import ApplicationError
from orders.models import OrderStatus, Return, ReturnStatus
from orders.staff_actions import (
    OrderAction,
    order_page_extend,
    refusal_unless_it_may_become,
    return_page_extend,
)

from . import selectors, services
from .models import Dispute, Payment, Refund, StripeCustomer
from .permissions import RETURN_REFUND_PERMISSIONS


def stripe_dashboard_url(path):
    mode = "" if settings.STRIPE_LIVE_MODE else "test/"
    return f"https://dashboard.stripe.com/{mode}{path}"


def stripe_link(path, stripe_id):
    if not stripe_id:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener">{}</a>', stripe_dashboard_url(path), stripe_id
    )


def payment_stripe_link(payment):
    return stripe_link(
        f"payments/{payment.stripe_payment_intent_id}", payment.stripe_payment_intent_id
    )


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """A record of what Stripe told us: viewable, never edited, added or deleted here."""


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = [
        "created_at",
        "amount",
        "status",
        "stripe_refund_id",
        "automatic",
        "reason",
        "created_by",
    ]
    readonly_fields = fields


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "order",
        "customer",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "stripe_link",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["stripe_payment_intent_id", "order__number", "order__user__email"]
    search_help_text = "PaymentIntent id (pi_...), order number or customer email."
    list_select_related = ["order__user"]
    show_full_result_count = False
    inlines = [RefundInline]
    fields = [
        "order",
        "status",
        "amount",
        "currency",
        "amount_refunded",
        "amount_lost",
        "stripe_link",
        "stripe_customer_link",
        "last_error_code",
        "last_error_message",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="customer", ordering="order__user__email")
    def customer(self, payment):
        return payment.order.user.email

    @admin.display(description="Stripe")
    def stripe_link(self, payment):
        return payment_stripe_link(payment)

    @admin.display(description="Stripe customer")
    def stripe_customer_link(self, payment):
        return stripe_link(f"customers/{payment.stripe_customer_id}", payment.stripe_customer_id)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = [
        "stripe_refund_id",
        "payment",
        "order_number",
        "amount",
        "status",
        "automatic",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "automatic"]
    search_fields = ["stripe_refund_id", "payment__order__number"]
    list_select_related = ["payment__order", "created_by"]
    readonly_fields = [field.name for field in Refund._meta.fields]

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, refund):
        return refund.payment.order.number


@admin.register(StripeCustomer)
class StripeCustomerAdmin(ReadOnlyAdmin):
    list_display = ["user", "stripe_link", "created_at"]
    search_fields = ["user__email", "stripe_id"]
    list_select_related = ["user"]
    fields = ["user", "stripe_link", "created_at"]
    readonly_fields = fields

    @admin.display(description="Stripe customer")
    def stripe_link(self, customer):
        return stripe_link(f"customers/{customer.stripe_id}", customer.stripe_id)


@admin.register(Dispute)
class PaymentDisputeAdmin(ReadOnlyAdmin):
    """Card holders' disputes, as Stripe last stated them; answered in Stripe's dashboard."""

    list_display = [
        "stripe_dispute_id",
        "order_number",
        "amount",
        "currency",
        "reason",
        "stripe_status",
        "evidence_due_by",
        "outcome",
    ]
    list_filter = ["outcome", "stripe_status", "reason"]
    search_fields = ["stripe_dispute_id", "payment__order__number", "payment__order__user__email"]
    list_select_related = ["payment__order"]
    fields = [
        "stripe_link",
        "payment",
        "amount",
        "currency",
        "reason",
        "stripe_status",
        "evidence_due_by",
        "outcome",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="order", ordering="payment__order__number")
    def order_number(self, dispute):
        return dispute.payment.order.number

    @admin.display(description="Stripe")
    def stripe_link(self, dispute):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            dispute.dashboard_url,
            dispute.stripe_dispute_id,
        )


# --- dj-stripe's records -------------------------------------------------------------------
# dj-stripe registers an admin for each of its ~45 models, most with "Add" links that would
# create objects at Stripe. The back office keeps what staff read (the events Stripe sent, the
# webhook endpoint), read-only; the raw webhook deliveries stay for superusers (no role grants
# them); the rest is Stripe's dashboard's business. Disputes are the shop's own records
# (PaymentDisputeAdmin above).
for _model in apps.get_app_config("djstripe").get_models():
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


@admin.register(djstripe_models.Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "created", "livemode"]
    list_filter = ["type", "created"]
    search_fields = ["id", "type"]
    fields = ["id", "type", "created", "livemode", "request_id", "idempotency_key", "data"]
    readonly_fields = fields


@admin.register(djstripe_models.WebhookEndpoint)
class WebhookEndpointAdmin(ReadOnlyAdmin):
    """Where Stripe sends its events (`manage.py stripe_setup` makes it). The signing secret is
    never shown."""

    list_display = ["id", "url", "status", "livemode", "created"]
    fields = ["id", "url", "status", "enabled_events", "api_version", "livemode", "created"]
    readonly_fields = fields


@admin.register(djstripe_models.WebhookEventTrigger)
class WebhookDeliveryAdmin(WebhookEventTriggerAdmin):
    """Each delivery as received, with the error of one that failed: for superusers."""

    actions = None

    def has_delete_permission(self, request, obj=None):
        return False


# --- The order page: its payments and the refund action ----------------------------------


class OrderPaymentInline(ReadOnlyTabularInline):
    model = Payment
    show_change_link = True
    fields = [
        "created_at",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "stripe_link",
        "refunds_made",
        "last_error_message",
    ]
    readonly_fields = fields
    verbose_name_plural = "payments and refunds"

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("refunds")

    @admin.display(description="Stripe")
    def stripe_link(self, payment):
        return payment_stripe_link(payment)

    @admin.display(description="refunds")
    def refunds_made(self, payment):
        refunds = payment.refunds.all()
        if not refunds:
            return "-"
        return format_html_join(
            ", ",
            '<a href="{}">{} {}</a> ({})',
            (
                (
                    reverse("admin:payments_refund_change", args=[refund.pk]),
                    refund.amount,
                    payment.currency.upper(),
                    refund.status,
                )
                for refund in refunds
            ),
        )


def refund_refusal(order):
    refusal = refusal_unless_it_may_become(OrderStatus.REFUNDED)(order)
    if refusal:
        return refusal
    if selectors.order_refundable_payment(order=order) is None:
        return "it has no captured payment to refund"
    return ""


REFUND = OrderAction(
    name="action_order_refund",
    label="Refund",
    description="Refund selected orders in full",
    question="Refund these orders in full?",
    consequence=(
        "Each order's payment is refunded in full through Stripe and the customer is emailed. "
        "Copies of orders not yet shipped go back on hand."
    ),
    button="Yes, refund them",
    done="Refunded",
    perform=services.order_refund_in_full,
    refusal=refund_refusal,
    prefetch=("payments",),
)

order_page_extend(inlines=[OrderPaymentInline], actions=[REFUND])


def _return_refund_refusal(order_return: Return) -> str:
    """Why a return is not refunded now ("" when it is), read to explain; the service decides."""
    if order_return.status == ReturnStatus.REFUNDED:
        return "it is refunded already"
    if order_return.status != ReturnStatus.RECEIVED:
        return f"it is {order_return.status}; only a received return is refunded"
    return ""


@admin.action(description="Refund selected returns at Stripe", permissions=["change"])
def refund_returns(modeladmin, request, queryset):
    """The return's refund_amount, once (a refunded return is left as it is), after a page
    that lists what will be refunded: money leaves, and a click in the action bar is easy."""
    if not request.user.has_perms(RETURN_REFUND_PERMISSIONS):
        messages.error(request, "Refunding a return needs the permission to refund orders.")
        return None
    order_returns = list(queryset.select_related("order__user"))
    if request.POST.get(CONFIRMATION_FIELD) != "yes":
        rows = [
            {"order_return": order_return, "refusal": _return_refund_refusal(order_return)}
            for order_return in order_returns
        ]
        return confirmation_page(
            modeladmin,
            request,
            "admin/orders/return/refund_confirmation.html",
            title="Refund these returns?",
            action_name="refund_returns",
            selected=[row["order_return"] for row in rows if not row["refusal"]],
            rows=rows,
        )
    refunded = []
    for order_return in order_returns:
        try:
            services.return_refund(order_return=order_return, actor=request.user)
        except ApplicationError as exc:
            messages.error(request, f"{order_return.number}: {exc.detail}")
        else:
            refunded.append(order_return.number)
    if refunded:
        messages.success(request, f"Refunded: {', '.join(refunded)}.")
    return None


return_page_extend(actions=[refund_returns])
