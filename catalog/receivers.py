"""The catalog's side of the order lifecycle: stock moves when orders do."""

from typing import Any

from . import inventory
from .inventory import Lines


def reserve_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_reserve(lines=lines)


def commit_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_commit(lines=lines)


def release_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_release(lines=lines)


def restock_refunded(sender: type, *, restock_lines: Lines, **kwargs: Any) -> None:
    inventory.stock_restock(lines=restock_lines)
