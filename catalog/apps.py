from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self):
        from orders import signals

        from . import receivers

        signals.order_placed.connect(receivers.reserve_stock, dispatch_uid="catalog.reserve_stock")
        signals.order_paid.connect(receivers.commit_stock, dispatch_uid="catalog.commit_stock")
        signals.order_cancelled.connect(
            receivers.release_stock, dispatch_uid="catalog.release_stock"
        )
        signals.order_refunded.connect(
            receivers.restock_refunded, dispatch_uid="catalog.restock_refunded"
        )
