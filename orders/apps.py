from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from accounts.exports import export_section_register
        from accounts.signals import account_closing
        from catalog.purchases import purchase_check_register
        from core.outbox import link_builder_register

        from . import exports, notifications, receivers, selectors

        account_closing.connect(receivers.account_closing, dispatch_uid="orders.account_closing")
        link_builder_register("pay_order", notifications.pay_link_at_send)
        purchase_check_register(selectors.customer_has_bought)
        for section in exports.sections():
            export_section_register(section)
