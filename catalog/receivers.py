"""The catalog's side of the order lifecycle: stock moves when orders do."""

from . import inventory


def reserve_stock(sender, *, lines, **kwargs):
    inventory.stock_reserve(lines=lines)


def commit_stock(sender, *, lines, **kwargs):
    inventory.stock_commit(lines=lines)


def release_stock(sender, *, lines, **kwargs):
    inventory.stock_release(lines=lines)


def restock_refunded(sender, *, restock_lines, **kwargs):
    inventory.stock_restock(lines=restock_lines)
