import functools

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.http import HttpResponse
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from core.admin_mixins import CONFIRMATION_FIELD, confirmation_page
from core.errors import retry_after_header

from . import lockout, services
from .forms import UserChangeForm, UserCreationForm
from .models import ADDRESS_FIELDS, Address, User
from .throttles import CurrentPasswordThrottle

# Sign-in tokens are revoked through the services (logout, password change, closing the
# account); their rows are nothing to browse or edit by hand.
for _model in (OutstandingToken, BlacklistedToken):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = ADDRESS_FIELDS
    readonly_fields = fields
    can_delete = False

    # The customer's own book: changed through the API, where its rules are checked.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    inlines = [AddressInline]
    ordering = ["-date_joined"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "date_joined", "closed_at"]
    actions = ["close_accounts"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["first_name", "last_name", "email_verified"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined", "closed_at"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]

    @admin.action(
        description="Close selected accounts (anonymise; orders kept)", permissions=["change"]
    )
    def close_accounts(self, request, queryset):
        """The same closing as a customer's DELETE /api/users/me/, after a confirmation page."""
        users = list(queryset.filter(closed_at__isnull=True).exclude(pk=request.user.pk))
        if request.POST.get(CONFIRMATION_FIELD) != "yes":
            return confirmation_page(
                self,
                request,
                "admin/accounts/user/close_confirmation.html",
                title="Close these accounts?",
                action_name="close_accounts",
                selected=users,
            )
        for user in users:
            services.user_close(user=user, actor=request.user)
        self.message_user(request, f"Closed {len(users)} account(s).", messages.SUCCESS)
        return None


def _too_many_password_attempts(wait_seconds: float) -> HttpResponse:
    response = HttpResponse(
        "Too many password attempts; please try again later.", status=429, content_type="text/plain"
    )
    response["Retry-After"] = retry_after_header(wait_seconds)
    return response


def _password_change_guarded(view):
    """The admin's own "change password" form checks the current password, like the API's
    doors: throttled per user (the same budget) and refused while the account is locked, both
    before any hash; a wrong current password counts toward the login lockout."""

    @functools.wraps(view)
    def guarded(request, extra_context=None):
        if request.method != "POST":
            return view(request, extra_context)
        throttle = CurrentPasswordThrottle()
        if not throttle.allow_request(request, None):
            return _too_many_password_attempts(throttle.wait() or 1)
        if lockout.login_locked_out(request, email=request.user.email):
            return _too_many_password_attempts(settings.AXES_COOLOFF_TIME.total_seconds())
        response = view(request, extra_context)
        form = (getattr(response, "context_data", None) or {}).get("form")
        if form is not None and form.has_error("old_password", "password_incorrect"):
            lockout.password_failure_record(request, email=request.user.email)
        return response

    return guarded


admin.site.password_change = _password_change_guarded(admin.site.password_change)
