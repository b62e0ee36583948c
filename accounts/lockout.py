"""Failed-login lockout (django-axes), shared by the admin login and the API login.

Both logins go through Django's `authenticate()`, so axes counts their failures in one place:
after LOGIN_FAILURE_LIMIT failures for one account from one address (user + IP), that pair is
locked for LOGIN_LOCKOUT_MINUTES on both doors, and a successful login resets the count.
Switching from the admin to the API (or back) therefore gains an attacker nothing.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from rest_framework.throttling import BaseThrottle

from core.errors import ApplicationError

from .models import normalize_email


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
    return normalize_email(str(name or ""))[:255]


def login_locked_out(request, *, email):
    return AxesProxyHandler.is_locked(request, {"email": email})


def lockout_minutes():
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def login_locked_error() -> ApplicationError:
    return ApplicationError(
        "login_locked",
        "Too many failed logins for this account from your address; try again in "
        f"{lockout_minutes()} minutes or reset your password.",
        retry_after=settings.AXES_COOLOFF_TIME.total_seconds(),
    )


@contextmanager
def current_password_attempt(request, *, user, password, field: str) -> Iterator[None]:
    """Wraps a service that checks the signed-in user's current password (closing the account,
    changing the email or the password). A guess there is a login attempt: refused before any
    hash is computed while the account is locked from this address, and a wrong password
    (the service's `invalid` error on `field`) is counted by django-axes like a failed login,
    so guesses here and at the logins share one budget. Without a `password` (a profile edit
    that checks none) nothing is refused."""
    if password and login_locked_out(request, email=user.email):
        raise login_locked_error()
    try:
        yield
    except ApplicationError as error:
        if any(e.get("field") == field and e.get("code") == "invalid" for e in error.errors):
            password_failure_record(request, email=user.email)
        raise


def password_failure_record(request, *, email: str) -> None:
    """A wrong current password, counted by django-axes as a failed login of `email`."""
    user_login_failed.send(sender=__name__, credentials={"email": email}, request=request)
