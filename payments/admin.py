from django.conf import settings
from django.contrib import admin, messages
from django.utils.html import format_html

from bookstore.errors import ApplicationError

from . import services
from .models import Payment, Refund, StripeCustomer


def stripe_dashboard_url(path):
    mode = "" if settings.STRIPE_LIVE_MODE else "test/"
    return f"https://dashboard.stripe.com/{mode}{path}"


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    can_delete = False
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

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "order",
        "status",
        "amount",
        "amount_refunded",
        "currency",
        "stripe_link",
        "created_at",
    ]
    list_filter = ["status", "created_at"]
    search_fields = ["stripe_payment_intent_id", "order__number", "order__user__email"]
    list_select_related = ["order"]
    inlines = [RefundInline]
    readonly_fields = [
        "order",
        "token",
        "status",
        "amount",
        "currency",
        "amount_refunded",
        "stripe_link",
        "stripe_customer_id",
        "payment_intent",
        "last_error_code",
        "last_error_message",
        "created_at",
        "updated_at",
    ]
    exclude = [
        "stripe_payment_intent_id",
        "stripe_client_secret",
        "stripe_setup_intent_id",
        "stripe_setup_client_secret",
    ]
    actions = ["refund_in_full"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Stripe")
    def stripe_link(self, payment):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener">{}</a>',
            stripe_dashboard_url(f"payments/{payment.stripe_payment_intent_id}"),
            payment.stripe_payment_intent_id,
        )

    @admin.action(description="Refund selected payments in full", permissions=["change"])
    def refund_in_full(self, request, queryset):
        for payment in queryset:
            try:
                services.payment_refund(payment=payment, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"Payment {payment.pk}: {exc.detail}", messages.ERROR)
            else:
                self.message_user(request, f"Payment {payment.pk} refunded.", messages.SUCCESS)


@admin.register(Refund)
class RefundAdmin(admin.ModelAdmin):
    list_display = [
        "stripe_refund_id",
        "payment",
        "amount",
        "status",
        "automatic",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "automatic"]
    search_fields = ["stripe_refund_id", "payment__order__number"]
    readonly_fields = [field.name for field in Refund._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StripeCustomer)
class StripeCustomerAdmin(admin.ModelAdmin):
    list_display = ["user", "stripe_id", "created_at"]
    search_fields = ["user__email", "stripe_id"]
    readonly_fields = ["user", "stripe_id", "created_at"]
