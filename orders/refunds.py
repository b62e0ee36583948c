"""What went back to a customer outside returns: staff refunds, and what a lost dispute took
back. The payments app owns that money and registers how to read it (its AppConfig.ready());
orders, below payments, only asks, so that a return never quotes money already given back."""

from collections.abc import Callable
from decimal import Decimal

RefundedReader = Callable[[int], Decimal]

_readers: dict[str, RefundedReader] = {}


def refunded_outside_returns_register(key: str, reader: RefundedReader) -> None:
    _readers[key] = reader


def refunded_outside_returns(*, order_id: int) -> Decimal:
    return sum((reader(order_id) for reader in _readers.values()), Decimal("0"))
