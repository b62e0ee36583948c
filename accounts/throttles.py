import hashlib

from rest_framework.throttling import SimpleRateThrottle

from .models import normalize_email


class PasswordResetEmailThrottle(SimpleRateThrottle):
    """Reset emails per email address, whoever asks for them (the same for unknown addresses).
    The reset view uses it to cap the emails sent, never to refuse the request."""

    scope = "password_reset_email"

    def get_cache_key(self, request, view):
        email = request.data.get("email") if hasattr(request.data, "get") else None
        if not isinstance(email, str) or not email:
            return None
        digest = hashlib.sha256(normalize_email(email).encode()).hexdigest()
        return self.cache_format % {"scope": self.scope, "ident": digest}
