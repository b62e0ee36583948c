"""What orders do when other apps announce events. Connected in apps.py."""

from typing import Any

from accounts.models import User

from . import services


def account_closing(sender: type, user: User, actor: User, **kwargs: Any) -> None:
    services.orders_account_closing(user=user, actor=actor)
