import hashlib

from rest_framework.throttling import SimpleRateThrottle, UserRateThrottle

from .models import normalize_email


def _request_field(request, name):
    # DRF's parsed body, or a form's (the admin's own pages are plain Django views).
    data = getattr(request, "data", None) or getattr(request, "POST", None)
    value = data.get(name) if hasattr(data, "get") else None
    return value if isinstance(value, str) and value else None


class EmailAddressThrottle(SimpleRateThrottle):
    """Requests per email address named in the body, whoever sends them and whether or not the
    address has an account, counted by its normalised spelling (one budget per inbox)."""

    def get_cache_key(self, request, view):
        email = _request_field(request, "email")
        if email is None:
            return None
        digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}


class PasswordResetEmailThrottle(EmailAddressThrottle):
    """Reset emails per email address, whoever asks for them (the same for unknown addresses).
    The reset view uses it to cap the emails sent, never to refuse the request."""

    scope = "password_reset_email"


class RegisterEmailThrottle(EmailAddressThrottle):
    """Registration emails per address (a verification or an "account exists" email), whoever
    asks for them, so an inbox cannot be flooded from many client addresses. The register view
    uses it to cap the emails sent, never to refuse the request."""

    scope = "register_email"


class CurrentPasswordThrottle(UserRateThrottle):
    """Requests carrying the signed-in user's current password (closing the account, changing
    the email or the password, the admin's "change password" form), per user from any address.
    DRF checks throttles before the view runs, so a throttled guess costs no password hash."""

    scope = "current_password"
    password_fields = ("password", "current_password", "old_password")

    def allow_request(self, request, view):
        if not any(_request_field(request, name) for name in self.password_fields):
            return True
        return super().allow_request(request, view)


class DataExportThrottle(UserRateThrottle):
    """Data exports per customer: each reads everything the shop keeps about them (every
    app's section, a query or more each, over rows without bound)."""

    scope = "data_export"


class EmailChangeThrottle(UserRateThrottle):
    """Email changes per user: each one mails the new address (verification) and the old one
    (notice), so toggling the address cannot make the shop mail any inbox on demand."""

    scope = "email_change"

    def allow_request(self, request, view):
        if _request_field(request, "email") is None:
            return True
        return super().allow_request(request, view)


class AccountLinkThrottle(SimpleRateThrottle):
    """Reset and verification links tried per client address, through the API and through the
    pages the emailed links open (accounts/pages.py): one budget for both doors."""

    scope = "account_link"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
