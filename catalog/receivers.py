"""The catalog's side of the order lifecycle: stock moves when orders do."""

from . import inventory, search, services


def reserve_stock(sender, *, lines, **kwargs):
    inventory.stock_reserve(lines=lines)


def commit_stock(sender, *, lines, **kwargs):
    inventory.stock_commit(lines=lines)


def release_stock(sender, *, lines, **kwargs):
    inventory.stock_release(lines=lines)


def restock_refunded(sender, *, restock_lines, **kwargs):
    inventory.stock_restock(lines=restock_lines)


def record_sales(sender, *, lines, **kwargs):
    services.book_sales_record(lines=lines)


def install_search_extension(sender, *, using, **kwargs):
    search.trigram_extension_install(using=using)


def install_sqlite_search(sender, *, using, **kwargs):
    search.sqlite_fts_install(using=using)
