"""Admin building blocks the apps share."""

from collections.abc import Sequence
from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.contrib.contenttypes.admin import GenericTabularInline
from django.template.response import TemplateResponse

# The hidden field a confirmation page (admin/action_confirmation.html) posts back: without it a
# staff action only asks.
CONFIRMATION_FIELD = "confirmed"


class ReadOnlyAdminMixin:
    """A record nobody edits in the admin (what Stripe told us, what was ordered, what was
    sent): it may be viewed, never added, changed or deleted there."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class ReadOnlyGenericTabularInline(ReadOnlyAdminMixin, GenericTabularInline):
    """The records that point at the page's object through a generic relation."""

    extra = 0
    can_delete = False


def confirmation_page(
    modeladmin: admin.ModelAdmin,
    request: Any,
    template: str,
    *,
    title: str,
    action_name: str,
    selected: Sequence[Any],
    **context: Any,
) -> TemplateResponse:
    """The "Are you sure?" page of an admin action (a template extending
    admin/action_confirmation.html): its form posts `action_name` back for the records in
    `selected`, with CONFIRMATION_FIELD set."""
    request.current_app = modeladmin.admin_site.name
    return TemplateResponse(
        request,
        template,
        {
            **modeladmin.admin_site.each_context(request),
            "title": title,
            "opts": modeladmin.opts,
            "media": modeladmin.media,
            "selected": selected,
            "action_name": action_name,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "confirmation_field": CONFIRMATION_FIELD,
            **context,
        },
    )
