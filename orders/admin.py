from django.contrib import admin, messages

from bookstore.errors import ApplicationError

from . import outbox, services
from .models import DiscountCode, Order, OrderEvent, OrderItem, OutboxEmail


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderItemInline(ReadOnlyInline):
    model = OrderItem
    fields = ["book", "title", "unit_price", "quantity", "line_total"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor_label", "note"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


class OutboxEmailInline(ReadOnlyInline):
    model = OutboxEmail
    fields = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    readonly_fields = fields
    verbose_name_plural = "emails"


def _lifecycle_action(service, label):
    """An admin action that runs the same service as the API, one order at a time."""

    def run(modeladmin, request, queryset):
        done = 0
        for order in queryset:
            try:
                service(order=order, actor=request.user)
                done += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, f"{order.number}: {exc.detail}", messages.ERROR)
        if done:
            modeladmin.message_user(request, f"{label}: {done} order(s).", messages.SUCCESS)

    run.short_description = f"{label} selected orders"
    run.__name__ = f"action_{service.__name__}"
    return run


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "user",
        "status",
        "total",
        "currency",
        "paid_at",
        "hold_expires_at",
        "created_at",
    ]
    list_filter = ["status", "created_at", "paid_at"]
    search_fields = ["number", "user__email", "items__book__isbn13"]
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    show_full_result_count = False
    inlines = [OrderItemInline, OrderEventInline, OutboxEmailInline]
    readonly_fields = [
        "number",
        "user",
        "status",
        "currency",
        "subtotal",
        "discount_code",
        "discount_amount",
        "total",
        "hold_expires_at",
        "paid_at",
        "created_at",
        "updated_at",
    ]
    actions = [
        _lifecycle_action(services.order_ship, "Mark shipped"),
        _lifecycle_action(services.order_deliver, "Mark delivered"),
        _lifecycle_action(services.order_cancel, "Cancel"),
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DiscountCode)
class DiscountCodeAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "kind",
        "value",
        "is_active",
        "valid_from",
        "valid_until",
        "times_redeemed",
        "max_redemptions",
    ]
    list_filter = ["is_active", "kind"]
    search_fields = ["code"]
    readonly_fields = ["times_redeemed", "created_at"]


@admin.register(OutboxEmail)
class OutboxEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject", "order__number"]
    readonly_fields = [field.name for field in OutboxEmail._meta.fields]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Send selected emails again", permissions=["view"])
    def resend(self, request, queryset):
        for message in queryset:
            outbox.email_resend(message=message)
        self.message_user(request, f"Queued {queryset.count()} email(s) again.", messages.SUCCESS)
