"""What orders do when other apps announce events. Connected in apps.py."""

from . import services


def account_closing(sender, user, actor, **kwargs):
    services.orders_account_closing(user=user, actor=actor)
