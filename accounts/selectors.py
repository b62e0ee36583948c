"""What the accounts app keeps about a customer, for their own export (accounts/exports.py)."""

from typing import Any

from core.models import OutboxEmail
from core.outbox import body_as_kept

from .models import ADDRESS_FIELDS, Address, User


def user_profile_export(user: User) -> dict[str, Any]:
    return {
        "id": user.pk,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email_verified": user.email_verified,
        "date_joined": user.date_joined.isoformat(),
        "last_login": user.last_login.isoformat() if user.last_login else None,
    }


def user_addresses_export(user: User) -> list[dict[str, Any]]:
    return [
        {field: getattr(address, field) for field in ADDRESS_FIELDS}
        | {"country": str(address.country)}
        for address in Address.objects.filter(user=user).order_by("pk")
    ]


def user_emails_export(user: User) -> list[dict[str, Any]]:
    """The emails written for this customer (whatever address they went to, and never another
    person's mail to an address this customer uses now); the shop's notices to its staff are
    the shop's records. Their links with secrets were never stored (core/outbox.py)."""
    return [
        {
            "kind": message.kind,
            "to": message.to,
            "subject": message.subject,
            "status": message.status,
            "created_at": message.created_at.isoformat(),
            "sent_at": message.sent_at.isoformat() if message.sent_at else None,
            "text": body_as_kept(message.text_body),
        }
        for message in OutboxEmail.objects.filter(user=user).order_by("created_at", "id")
    ]
