"""Whether a customer bought a book: the orders know, and the catalog sits below them. So the
catalog asks through a check that the orders app registers in its AppConfig.ready() (as the
outbox asks the apps for their links): the orders stay the one record of who bought what, and
what counts as bought (paid, not refunded; partly returned orders too) is decided there."""

from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

# (user id, book id) -> whether that customer has a paid, not fully refunded order of the book.
PurchaseCheck = Callable[[int, int], bool]

_registered: list[PurchaseCheck] = []


def purchase_check_register(check: PurchaseCheck) -> None:
    """The orders app's check replaces any earlier one (registering twice changes nothing)."""
    _registered[:] = [check]


def has_bought(*, user_id: int, book_id: int) -> bool:
    if not _registered:
        raise ImproperlyConfigured("No purchase check registered (the orders app registers it).")
    return _registered[0](user_id, book_id)
