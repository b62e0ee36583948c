"""Which account email goes to whom. Called inside the transaction that caused it; queued
through the outbox, like the order emails."""

import uuid

from django.conf import settings

from core.outbox import SendTimeLink, email_queue

from .models import User, normalize_email
from .tokens import email_verification_tokens, password_reset_tokens, uid_encode


def _link(template: str, *, uid: str, token: str) -> str:
    return template.replace("{uid}", uid).replace("{token}", token)


def _queue(kind, *, user, **extra):
    email_queue(
        kind=kind,
        to=user.email,
        # Each of these emails is its own cause (a request), never a repeat of another.
        dedupe_key=f"account-{user.pk}-{kind}-{uuid.uuid4().hex}",
        user=user,
        # No name in the context: a name is whatever its owner typed, and in the shop's own
        # words ("Hello <name>,") it could pass for them.
        context=extra,
    )


def password_reset_link(user) -> str:
    return _link(
        settings.PASSWORD_RESET_URL,
        uid=uid_encode(user),
        token=password_reset_tokens.make_token(user),
    )


def email_verification_link(user) -> str:
    return _link(
        settings.EMAIL_VERIFICATION_URL,
        uid=uid_encode(user),
        token=email_verification_tokens.make_token(user),
    )


# The links are built when the email is handed to the mail backend (core/outbox.py), for the
# account as it is then; registered in AccountsConfig.ready.


def _addressed_to(user, message) -> bool:
    return user.is_active and normalize_email(user.email) == normalize_email(message.to)


def password_reset_link_at_send(message) -> str | None:
    """A reset email is queued for the address asked about, known or not (the request does the
    same work either way); here it finds its account, or is dropped when there is none."""
    user = message.user
    if user is None:
        user = User.objects.by_email(message.to).filter(is_active=True).first()
    if user is None or not _addressed_to(user, message) or not user.has_usable_password():
        return None
    message.user = user
    return password_reset_link(user)


def email_verification_link_at_send(message) -> str | None:
    """Only for the address being verified, while it still is the account's and unverified."""
    user = message.user
    if user is None or not _addressed_to(user, message) or user.email_verified:
        return None
    return email_verification_link(user)


def password_reset(*, email: str) -> None:
    """The reset email for `email`, whoever has it: the sender builds the link for the active
    account with that address, or drops the email when there is none."""
    email_queue(
        kind="password_reset",
        to=email,
        dedupe_key=f"password-reset-{uuid.uuid4().hex}",
        context={
            "link": SendTimeLink("password_reset"),
            "timeout_hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
        },
    )


def email_verification(*, user):
    _queue("verify_email", user=user, link=SendTimeLink("verify_email"))


def registration_attempt_on_existing_account(*, user):
    _queue("account_exists", user=user, reset_link=SendTimeLink("password_reset"))


def email_changed(*, user, old_email):
    email_queue(
        kind="email_changed",
        to=old_email,
        dedupe_key=f"account-{user.pk}-email_changed-{uuid.uuid4().hex}",
        user=user,
        context={"new_email": user.email},
    )
