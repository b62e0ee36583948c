"""Lifecycle steps staff take on orders from the admin, and what other apps add to the order page.

Orders never import the apps built on them (payments), so those apps contribute their panels and
steps from their own admin modules through `order_page_extend(inlines=..., actions=...)`; the
order admin shows whatever was contributed, and no app re-registers another app's admin.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin

from .models import ALLOWED_TRANSITIONS, Order


@dataclass(frozen=True)
class OrderAction:
    """A lifecycle step staff take on selected orders, after an "Are you sure?" page.

    `perform(order=..., actor=...)` calls the same service as the API; `refusal(order)` says
    why the step does not apply to an order now ("" when it does), so the confirmation page can
    list what will be skipped. The service still decides, under its row lock: an order may
    change between the two pages.
    """

    name: str
    label: str
    description: str
    question: str
    consequence: str
    button: str
    done: str
    perform: Callable[..., object]
    refusal: Callable[[Order], str]
    prefetch: tuple[str, ...] = ()
    # Asked on the confirmation page and passed to `perform` (the ship page's carrier and
    # tracking number).
    form_class: type[forms.Form] | None = None

    def admin_action(self):
        order_action = self

        @admin.action(description=self.description, permissions=["change"])
        def run(modeladmin, request, queryset):
            return modeladmin.order_action_run(order_action, request, queryset)

        run.__name__ = self.name
        run.order_action = self
        return run


def refusal_unless_it_may_become(status):
    """The lifecycle rule (ALLOWED_TRANSITIONS), read to explain; the service enforces it."""

    def refusal(order):
        if status in ALLOWED_TRANSITIONS.get(order.status, set()):
            return ""
        return f"it is {order.status}; a {order.status} order cannot become {status}"

    return refusal


# Filled by other apps' admin modules when the admin is autodiscovered.
ORDER_PAGE_INLINES: list[type] = []
ORDER_PAGE_ACTIONS: list[OrderAction] = []


def order_page_extend(*, inlines=(), actions=()):
    """Add inlines (panels) and lifecycle steps to the order admin page."""
    ORDER_PAGE_INLINES.extend(inline for inline in inlines if inline not in ORDER_PAGE_INLINES)
    ORDER_PAGE_ACTIONS.extend(action for action in actions if action not in ORDER_PAGE_ACTIONS)


# Steps other apps add to the return admin (payments: the refund), as admin action functions.
RETURN_PAGE_ACTIONS: list[Callable[..., object]] = []


def return_page_extend(*, actions=()):
    """Add admin actions to the return admin."""
    RETURN_PAGE_ACTIONS.extend(action for action in actions if action not in RETURN_PAGE_ACTIONS)
