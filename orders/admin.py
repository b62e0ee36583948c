from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe

from accounts.addresses import address_lines
from core.admin_mixins import (
    CONFIRMATION_FIELD,
    ReadOnlyGenericTabularInline,
    ReadOnlyTabularInline,
    confirmation_page,
)
from core.errors import ApplicationError
from core.models import OutboxEmail

from . import services
from .models import (
    DiscountCode,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    Return,
    ReturnLine,
    ShippingMethod,
    TaxRate,
)
from .staff_actions import (
    ORDER_PAGE_ACTIONS,
    ORDER_PAGE_INLINES,
    RETURN_PAGE_ACTIONS,
    OrderAction,
    refusal_unless_it_may_become,
)


def address_html(address):
    lines = address_lines(address)
    if not lines:
        return "-"
    # The separator is a constant; every line is escaped by format_html_join.
    line_break = mark_safe("<br>")  # nosec B308
    return format_html_join(line_break, "{}", ((line,) for line in lines))


class OrderItemInline(ReadOnlyTabularInline):
    model = OrderItem
    fields = ["book", "title", "unit_price", "quantity", "line_total"]
    readonly_fields = fields


class OrderEventInline(ReadOnlyTabularInline):
    model = OrderEvent
    # Each row is captioned with the change itself ("Paid → Shipped", the event's str).
    fields = ["created_at", "actor_label", "note"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


class OutboxEmailInline(ReadOnlyGenericTabularInline):
    model = OutboxEmail
    ct_field = "about_type"
    ct_fk_field = "about_id"
    fields = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    readonly_fields = fields
    verbose_name_plural = "emails"


class ShipForm(forms.Form):
    carrier = forms.CharField(
        max_length=50,
        required=False,
        help_text="ups, usps, fedex, dhl, royal-mail or dpd get a tracking link in the email.",
    )
    tracking_number = forms.RegexField(
        regex=r"^[A-Za-z0-9 -]{1,100}$", max_length=100, required=False
    )


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
    form_class=ShipForm,
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


def dispute_clear_refusal(order):
    return "" if order.disputed else "it is not held by a dispute"


CLEAR_DISPUTE = OrderAction(
    name="action_order_clear_dispute",
    label="Clear the dispute hold",
    description="Clear the dispute hold of selected orders",
    question="Clear the dispute hold of these orders?",
    consequence=(
        "The orders may be shipped again. The dispute itself goes on at Stripe: answer it "
        "in Stripe's dashboard."
    ),
    button="Yes, clear the hold",
    done="Dispute hold cleared",
    perform=services.order_dispute_clear,
    refusal=dispute_clear_refusal,
)


class OrderReturnInline(ReadOnlyTabularInline):
    model = Return
    fields = ["number", "status", "refund_amount", "restocked", "created_at"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "returns"


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "status_shown",
        "total",
        "currency_shown",
        "shipping_country",
        "shipping_method_name",
        "paid_at",
        "hold_ends_at",
        "disputed",
        "created_at",
    ]
    list_filter = [
        "status",
        "disputed",
        "shipping_country",
        "shipping_method_code",
        "created_at",
        "paid_at",
    ]
    search_fields = ["number", "user__email", "items__book__isbn13"]
    search_help_text = "Order number, customer email or a book's ISBN-13."
    date_hierarchy = "created_at"
    list_select_related = ["user"]
    show_full_result_count = False
    fieldsets = [
        (None, {"fields": ["number", "user", "status", "created_at", "updated_at"]}),
        (
            "Money",
            {
                "fields": [
                    "currency_shown",
                    "subtotal",
                    "discount_code",
                    "discount_amount",
                    "shipping_amount",
                    "tax_rate_name",
                    "tax_amount",
                    "prices_included_tax",
                    "total",
                ]
            },
        ),
        (
            "Shipping",
            {
                "fields": [
                    "shipping_address_shown",
                    "billing_address_shown",
                    "shipping_method_name",
                    "carrier_shown",
                    "tracking_shown",
                    "shipped_at",
                ]
            },
        ),
        ("Payment", {"fields": ["hold_ends_at", "paid_at", "disputed"]}),
    ]
    readonly_fields = [
        "number",
        "user",
        "status",
        "currency_shown",
        "subtotal",
        "discount_code",
        "discount_amount",
        "shipping_amount",
        "tax_rate_name",
        "tax_amount",
        "prices_included_tax",
        "total",
        "shipping_address_shown",
        "billing_address_shown",
        "shipping_method_name",
        "carrier_shown",
        "tracking_shown",
        "shipped_at",
        "hold_ends_at",
        "paid_at",
        "disputed",
        "created_at",
        "updated_at",
    ]

    # Other apps' panels and steps (payments: its payments and the refund) come through
    # staff_actions.order_page_extend.
    @property
    def inlines(self):
        return [
            OrderItemInline,
            OrderEventInline,
            OrderReturnInline,
            OutboxEmailInline,
            *ORDER_PAGE_INLINES,
        ]

    @property
    def actions(self):
        steps = (SHIP, DELIVER, CANCEL, CLEAR_DISPUTE, *ORDER_PAGE_ACTIONS)
        return [action.admin_action() for action in steps]

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

    @admin.display(description="shipping address")
    def shipping_address_shown(self, order):
        return address_html(order.shipping_address)

    @admin.display(description="billing address")
    def billing_address_shown(self, order):
        return address_html(order.billing_address)

    @admin.display(description="currency", ordering="currency")
    def currency_shown(self, order):
        return order.currency.upper()

    @admin.display(description="prices included tax")
    def prices_included_tax(self, order):
        # Said as a fact about this order ("no": tax was added on top of the prices).
        return "yes" if order.prices_include_tax else "no"

    @admin.display(description="carrier")
    def carrier_shown(self, order):
        return order.carrier_name or "-"

    @admin.display(description="hold expires at", ordering="hold_expires_at")
    def hold_ends_at(self, order):
        # Only while the order is pending: afterwards there is no hold.
        if order.hold_ends_at is None:
            return self.get_empty_value_display()
        return formats.localize(timezone.template_localtime(order.hold_ends_at))

    @admin.display(description="tracking")
    def tracking_shown(self, order):
        if order.tracking_url:
            return format_html(
                '<a href="{}" rel="noopener noreferrer">{}</a>',
                order.tracking_url,
                order.tracking_number,
            )
        return order.tracking_number or "-"

    @admin.display(description="status", ordering="status")
    def status_shown(self, order):
        # A pending order whose hold lapsed is shown as expired, as the API shows it.
        return order.display_status

    # --- Lifecycle actions with a confirmation page ----------------------------------------

    def get_urls(self):
        return [
            path(
                "<path:object_id>/packing-slip/",
                self.admin_site.admin_view(self.packing_slip_view),
                name="orders_order_packing_slip",
            ),
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
        inputs = {}
        if action.form_class:
            form = action.form_class(request.POST)
            if not form.is_valid():
                return self.order_action_confirmation(
                    request, action, orders, form=form, next_url=request.POST.get("next", "")
                )
            inputs = form.cleaned_data
        done = []
        for order in orders:
            try:
                action.perform(order=order, actor=request.user, **inputs)
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

    def order_action_confirmation(
        self, request, action, orders, *, form_url="", next_url="", form=None
    ):
        rows = [{"order": order, "refusal": action.refusal(order)} for order in orders]
        if form is None and action.form_class:
            form = action.form_class()
        return confirmation_page(
            self,
            request,
            "admin/orders/order/action_confirmation.html",
            title=action.question,
            action_name=action.name,
            selected=[row["order"] for row in rows if not row["refusal"]],
            action=action,
            rows=rows,
            form_url=form_url,
            next_url=next_url,
            form=form,
        )

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

    def packing_slip_view(self, request, object_id):
        """A printable page for the parcel: where it goes and what is in it."""
        order = self.get_object(request, unquote(object_id))
        if order is None:
            raise Http404("No such order.")
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        context = {
            "order": order,
            "items": list(order.items.select_related("book")),
            "shop_name": settings.SHOP_NAME,
            "shipping_lines": address_lines(order.shipping_address),
        }
        return TemplateResponse(request, "admin/orders/order/packing_slip.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        order = self.get_object(request, unquote(object_id))
        buttons = []
        if order is not None:
            for action in self.order_actions(request):
                if not action.refusal(order):
                    url = reverse("admin:orders_order_confirm_action", args=[order.pk, action.name])
                    buttons.append({"label": action.label, "url": url})
        if order is not None:
            buttons.append(
                {
                    "label": "Packing slip",
                    "url": reverse("admin:orders_order_packing_slip", args=[order.pk]),
                }
            )
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


@admin.register(ShippingMethod)
class ShippingMethodAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "price",
        "free_over",
        "min_days",
        "max_days",
        "countries_shown",
        "is_active",
        "position",
    ]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]

    @admin.display(description="countries")
    def countries_shown(self, method):
        return ", ".join(country.code for country in method.countries) or "all"


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["country", "region", "name", "percent", "shipping_taxed"]
    list_filter = ["country", "shipping_taxed"]
    search_fields = ["country", "region", "name"]


class ReturnLineInline(ReadOnlyTabularInline):
    model = ReturnLine
    fields = ["book", "title", "unit_price", "quantity"]
    readonly_fields = fields

    def get_queryset(self, request):
        # Each row shows its order line and book: read with the lines, not one query each.
        return super().get_queryset(request).select_related("order_item__book")

    @admin.display(description="book")
    def book(self, line):
        return line.order_item.book

    @admin.display(description="title")
    def title(self, line):
        return line.order_item.title

    @admin.display(description="unit price")
    def unit_price(self, line):
        return line.order_item.unit_price


class ReturnActionForm(helpers.ActionForm):
    note = forms.CharField(
        required=False, max_length=500, help_text="Rejecting: why (emailed to the customer)."
    )


def _return_step(request, queryset, perform, done, **inputs):
    """Run one lifecycle step on each selected return, through the same service as the API;
    a return the step does not apply to is reported, the others go ahead."""
    finished = []
    for order_return in queryset.select_related("order"):
        try:
            perform(order_return=order_return, actor=request.user, **inputs)
        except ApplicationError as exc:
            messages.error(request, f"{order_return.number}: {exc.detail}")
        else:
            finished.append(order_return.number)
    if finished:
        messages.success(request, f"{done}: {', '.join(finished)}.")


@admin.action(description="Approve selected returns", permissions=["change"])
def approve_returns(modeladmin, request, queryset):
    _return_step(request, queryset, services.return_approve, "Approved")


@admin.action(description="Reject selected returns (with the note)", permissions=["change"])
def reject_returns(modeladmin, request, queryset):
    note = request.POST.get("note", "").strip()
    if not note:
        messages.error(request, "Write why in the note: the customer is told.")
        return
    _return_step(request, queryset, services.return_reject, "Rejected", note=note[:500])


@admin.action(description="Receive selected returns: back on sale", permissions=["change"])
def receive_returns_restock(modeladmin, request, queryset):
    _return_step(request, queryset, services.return_receive, "Received, restocked", restock=True)


@admin.action(
    description="Receive selected returns: damaged, not restocked", permissions=["change"]
)
def receive_returns_damaged(modeladmin, request, queryset):
    _return_step(
        request, queryset, services.return_receive, "Received, not restocked", restock=False
    )


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    """Returns and their lines. Each step is an action (the same services as the API); a
    return is otherwise a read-only record."""

    list_display = ["number", "order", "customer", "status", "refund_amount", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["number", "order__number", "order__user__email"]
    search_help_text = "Return number, order number or customer email."
    list_select_related = ["order__user"]
    inlines = [ReturnLineInline]
    action_form = ReturnActionForm
    fields = [
        "number",
        "order",
        "status",
        "reason",
        "staff_note",
        "refund_amount",
        "restocked",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @property
    def actions(self):
        return [
            approve_returns,
            reject_returns,
            receive_returns_restock,
            receive_returns_damaged,
            *RETURN_PAGE_ACTIONS,
        ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="customer", ordering="order__user__email")
    def customer(self, order_return):
        return order_return.order.user.email
