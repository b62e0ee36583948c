from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from bookstore.errors import ApplicationError
from core.admin_mixins import ReadOnlyTabularInline
from core.models import OutboxEmail

from . import services
from .models import DiscountCode, Order, OrderEvent, OrderItem, OrderStatus
from .staff_actions import (
    ORDER_PAGE_ACTIONS,
    ORDER_PAGE_INLINES,
    OrderAction,
    refusal_unless_it_may_become,
)

# The hidden field the confirmation page posts back: without it an order action only asks.
CONFIRMATION_FIELD = "confirmed"


class OrderItemInline(ReadOnlyTabularInline):
    model = OrderItem
    fields = ["book", "title", "unit_price", "quantity", "line_total"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    fields = ["created_at", "from_status", "to_status", "actor_label", "note"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


class OutboxEmailInline(ReadOnlyTabularInline):
    model = OutboxEmail
    fields = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    readonly_fields = fields
    verbose_name_plural = "emails"


SHIP = OrderAction(
    name="action_order_ship",
    label="Mark shipped",
    description="Mark selected orders shipped",
    question="Mark these orders shipped?",
    consequence="Each customer is emailed that the order is on its way.",
    button="Yes, mark them shipped",
    done="Marked shipped",
    perform=services.order_ship,
    refusal=refusal_unless_it_may_become(OrderStatus.SHIPPED),
)
DELIVER = OrderAction(
    name="action_order_deliver",
    label="Mark delivered",
    description="Mark selected orders delivered",
    question="Mark these orders delivered?",
    consequence="The orders are recorded as delivered (a refund remains possible).",
    button="Yes, mark them delivered",
    done="Marked delivered",
    perform=services.order_deliver,
    refusal=refusal_unless_it_may_become(OrderStatus.DELIVERED),
)
CANCEL = OrderAction(
    name="action_order_cancel",
    label="Cancel",
    description="Cancel selected orders",
    question="Cancel these orders?",
    consequence=(
        "The copies they hold go back on sale, discount codes are given back, and each "
        "customer is emailed. Paid orders are refunded instead."
    ),
    button="Yes, cancel them",
    done="Cancelled",
    perform=services.order_cancel,
    refusal=refusal_unless_it_may_become(OrderStatus.CANCELLED),
)


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "status_shown",
        "total",
        "currency",
        "paid_at",
        "hold_expires_at",
        "created_at",
    ]
    list_filter = ["status", "created_at", "paid_at"]
    search_fields = ["number", "user__email", "items__book__isbn13"]
    search_help_text = "Order number, customer email or a book's ISBN-13."
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["number", "user", "status", "created_at", "updated_at"]}),
        (
            "Money",
            {"fields": ["currency", "subtotal", "discount_code", "discount_amount", "total"]},
        ),
        ("Payment", {"fields": ["hold_expires_at", "paid_at"]}),
    ]
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

    # Other apps' panels and steps (payments: its payments and the refund) come through
    # staff_actions.order_page_extend.
    @property
    def inlines(self):
        return [OrderItemInline, OrderEventInline, OutboxEmailInline, *ORDER_PAGE_INLINES]

    @property
    def actions(self):
        return [action.admin_action() for action in (SHIP, DELIVER, CANCEL, *ORDER_PAGE_ACTIONS)]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # An order changes only through its lifecycle actions (which need the change
        # permission); its own page is a read-only record with buttons for those actions.
        if obj is not None:
            return False
        return super().has_change_permission(request)

    @admin.display(description="customer", ordering="user__email")
    def customer(self, order):
        return order.user.email

    @admin.display(description="status", ordering="status")
    def status_shown(self, order):
        # A pending order whose hold lapsed is shown as expired, as the API shows it.
        return order.display_status

    # --- Lifecycle actions with a confirmation page ----------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/confirm/<str:action_name>/",
                self.admin_site.admin_view(self.order_action_view),
                name="orders_order_confirm_action",
            ),
            *super().get_urls(),
        ]

    def order_actions(self, request):
        """The lifecycle actions this user may run, in menu order."""
        return [
            func.order_action
            for func, _name, _description in self.get_actions(request).values()
            if hasattr(func, "order_action")
        ]

    def order_action_run(self, action, request, queryset):
        orders = list(queryset.select_related("user").prefetch_related(*action.prefetch))
        if request.POST.get(CONFIRMATION_FIELD) != "yes":
            return self.order_action_confirmation(request, action, orders)
        done = []
        for order in orders:
            try:
                action.perform(order=order, actor=request.user)
            except ApplicationError as exc:
                self.message_user(request, f"{order.number}: {exc.detail}", messages.ERROR)
            else:
                done.append(order.number)
        if done:
            self.message_user(request, f"{action.done}: {', '.join(done)}.", messages.SUCCESS)
        next_url = request.POST.get("next", "")
        if next_url and url_has_allowed_host_and_scheme(
            next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return HttpResponseRedirect(next_url)
        return None  # back to the change list, with its filters

    def order_action_confirmation(self, request, action, orders, *, form_url="", next_url=""):
        rows = [{"order": order, "refusal": action.refusal(order)} for order in orders]
        context = {
            **self.admin_site.each_context(request),
            "title": action.question,
            "opts": self.opts,
            "media": self.media,
            "action": action,
            "rows": rows,
            "ready": [row["order"] for row in rows if not row["refusal"]],
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirmation_field": CONFIRMATION_FIELD,
            "form_url": form_url,
            "next_url": next_url,
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/orders/order/action_confirmation.html", context)

    def order_action_view(self, request, object_id, action_name):
        """The confirmation page for one order, reached from the buttons on its page."""
        actions = {action.name: action for action in self.order_actions(request)}
        if action_name not in actions:
            raise PermissionDenied
        action = actions[action_name]
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        return self.order_action_confirmation(
            request,
            action,
            [order],
            form_url=reverse("admin:orders_order_changelist"),
            next_url=reverse("admin:orders_order_change", args=[order.pk]),
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, unquote(object_id))
        buttons = []
        if order is not None:
            for action in self.order_actions(request):
                if not action.refusal(order):
                    url = reverse("admin:orders_order_confirm_action", args=[order.pk, action.name])
                    buttons.append({"label": action.label, "url": url})
        extra_context = {**(extra_context or {}), "order_action_buttons": buttons}
        return super().change_view(request, object_id, form_url, extra_context)


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
