"""The catalog's side of the order lifecycle: stock moves when orders do."""

from typing import Any

from accounts.models import User

from . import counting, inventory, search, services
from .inventory import Lines


def reserve_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_reserve(lines=lines)


def commit_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_commit(lines=lines)


def release_stock(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    inventory.stock_release(lines=lines)


def restock(sender: type, *, restock_lines: Lines, **kwargs: Any) -> None:
    """Copies back on hand: a refund before shipping, or a return fit to sell again."""
    inventory.stock_restock(lines=restock_lines)


def purchase_refunded(sender: type, *, order: Any, lines: Lines, **kwargs: Any) -> None:
    services.reviews_purchase_recheck(user_id=order.user_id, book_ids=list(lines))


def record_sales(sender: type, *, lines: Lines, **kwargs: Any) -> None:
    services.book_sales_record(lines=lines)


def account_closing(sender: type, *, user: User, **kwargs: Any) -> None:
    services.catalog_account_closing(user=user)


def install_search_extension(sender: Any, *, using: str, **kwargs: Any) -> None:
    search.trigram_extension_install(using=using)


def install_sqlite_search(sender: Any, *, using: str, **kwargs: Any) -> None:
    search.sqlite_fts_install(using=using)


def install_active_book_count(sender: Any, *, using: str, **kwargs: Any) -> None:
    counting.active_book_count_install(using=using)
