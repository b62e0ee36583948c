"""Which account email goes to whom. Called inside the transaction that caused it; queued
through the outbox, like the order emails."""

import uuid

from django.conf import settings
from django.template.loader import render_to_string

from core.outbox import email_queue

from .tokens import email_verification_tokens, password_reset_tokens, uid_encode


def _link(template: str, *, uid: str, token: str) -> str:
    return template.replace("{uid}", uid).replace("{token}", token)


def _context(user, **extra):
    # No name in the text: a name is whatever its owner typed, and in the shop's own words
    # ("Hello <name>,") it could pass for them.
    return {
        "shop_name": settings.SHOP_NAME,
        "site_url": settings.SITE_URL,
        **extra,
    }


def _queue(kind, *, user, **extra):
    email_queue(
        kind=kind,
        to=user.email,
        # Each of these emails is its own cause (a request), never a repeat of another; the
        # prefix finds a customer's account emails (export, closing) whatever the address was.
        dedupe_key=f"account-{user.pk}-{kind}-{uuid.uuid4().hex}",
        context=_context(user, **extra),
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


def password_reset(*, user):
    _queue(
        "password_reset",
        user=user,
        link=password_reset_link(user),
        timeout_hours=settings.PASSWORD_RESET_TIMEOUT // 3600,
    )


def password_reset_render_only(*, email):
    """The work of a reset email for an address we do not know, sending nothing, so that the
    answer takes about as long as for one we know."""
    stand_in = _context(
        type("StandIn", (), {"first_name": "", "email": email})(),
        link=_link(settings.PASSWORD_RESET_URL, uid="x" * 3, token="x" * 39),
        timeout_hours=settings.PASSWORD_RESET_TIMEOUT // 3600,
    )
    for template in ("subject.txt", "txt", "html"):
        render_to_string(f"emails/password_reset.{template}", stand_in)


def email_verification(*, user):
    _queue("verify_email", user=user, link=email_verification_link(user))


def registration_attempt_on_existing_account(*, user):
    _queue("account_exists", user=user, reset_link=password_reset_link(user))


def email_changed(*, user, old_email):
    email_queue(
        kind="email_changed",
        to=old_email,
        dedupe_key=f"account-{user.pk}-email_changed-{uuid.uuid4().hex}",
        context=_context(user, new_email=user.email),
    )
