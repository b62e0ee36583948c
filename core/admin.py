from django.contrib import admin, messages

from .admin_mixins import ReadOnlyAdminMixin
from .models import OutboxEmail
from .outbox import email_resend


@admin.register(OutboxEmail)
class OutboxEmailAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "kind", "to", "subject", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to", "subject"]  # an order's emails are listed on the order's page
    readonly_fields = [field.name for field in OutboxEmail._meta.fields]
    actions = ["resend"]

    def has_resend_permission(self, request):
        # Sending mail is a change, not a look: the change permission (the records themselves
        # stay read-only; ReadOnlyAdminMixin only hides the edit form).
        return request.user.has_perm("core.change_outboxemail")

    @admin.action(description="Send selected emails again", permissions=["resend"])
    def resend(self, request, queryset):
        for message in queryset:
            email_resend(message=message)
        self.message_user(request, f"Queued {queryset.count()} email(s) again.", messages.SUCCESS)
