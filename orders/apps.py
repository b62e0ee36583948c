from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self):
        from accounts.exports import export_section_register
        from accounts.signals import account_closing
        from core.outbox import link_builder_register

        from . import exports, notifications, receivers

        account_closing.connect(receivers.account_closing, dispatch_uid="orders.account_closing")
        link_builder_register("pay_order", notifications.pay_link_at_send)
        for section in exports.sections():
            export_section_register(section)
