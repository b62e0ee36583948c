"""Failed-login lockout (django-axes), shared by the admin login and the API login.

Both logins go through Django's `authenticate()`, so axes counts their failures in one place:
after LOGIN_FAILURE_LIMIT failures for one account from one address (user + IP), that pair is
locked for LOGIN_LOCKOUT_MINUTES on both doors, and a successful login resets the count.
Switching from the admin to the API (or back) therefore gains an attacker nothing.
"""

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from rest_framework.throttling import BaseThrottle


def client_ip(request):
    """AXES_CLIENT_IP_CALLABLE: the address DRF's throttles use too (X-Forwarded-For trusted only
    as far as NUM_PROXIES), so the login throttle and the lockout see the same client."""
    return BaseThrottle().get_ident(request)


def login_username(request, credentials):
    """AXES_USERNAME_CALLABLE: the admin form sends `username`, the API `email`; one account is
    one name whatever its case."""
    credentials = credentials or {}
    name = credentials.get("email") or credentials.get("username")
    if name is None:
        data = getattr(request, "data", None) or getattr(request, "POST", None)
        if hasattr(data, "get"):  # a JSON body may be a list, a number...
            name = data.get("email") or data.get("username")
    return str(name or "").strip().lower()[:255]


def login_locked_out(request, *, email):
    return AxesProxyHandler.is_locked(request, {"email": email})


def lockout_minutes():
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
