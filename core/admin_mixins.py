"""Admin building blocks the apps share."""

from django.contrib import admin
from django.contrib.contenttypes.admin import GenericTabularInline

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
