import logging

from django.apps import AppConfig
from django.db.models.signals import post_migrate, pre_migrate

logger = logging.getLogger(__name__)


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self):
        from accounts.exports import export_section_register
        from accounts.signals import account_closing
        from orders import signals

        from . import checks, exports, receivers, search  # noqa: F401  (checks registers itself)

        signals.order_placed.connect(receivers.reserve_stock, dispatch_uid="catalog.reserve_stock")
        signals.order_paid.connect(receivers.commit_stock, dispatch_uid="catalog.commit_stock")
        signals.order_paid.connect(receivers.record_sales, dispatch_uid="catalog.record_sales")
        signals.order_cancelled.connect(
            receivers.release_stock, dispatch_uid="catalog.release_stock"
        )
        signals.order_refunded.connect(receivers.restock, dispatch_uid="catalog.restock_refunded")
        signals.order_refunded.connect(
            receivers.purchase_refunded, dispatch_uid="catalog.purchase_refunded"
        )
        signals.return_received.connect(receivers.restock, dispatch_uid="catalog.restock_returned")
        account_closing.connect(receivers.account_closing, dispatch_uid="catalog.account_closing")
        for section in exports.sections():
            export_section_register(section)
        pre_migrate.connect(
            receivers.install_search_extension, sender=self, dispatch_uid="catalog.search_ext"
        )
        post_migrate.connect(
            receivers.install_sqlite_search, sender=self, dispatch_uid="catalog.sqlite_fts"
        )
        post_migrate.connect(
            receivers.install_active_book_count, sender=self, dispatch_uid="catalog.book_count"
        )
        if not search.fts5_available():
            logger.warning(
                "SQLite here has no FTS5: on SQLite, search falls back to substring matching "
                "(slower, same ranking)."
            )
